"""``PruningSummaries``: Keras' TensorBoard callback plus each pruned layer's sparsity, as
tfmot's callback of the same name writes it (under ``<log_dir>/metrics``, one scalar per
wrapped layer, ``<layer>/sparsity``, at the pruning step, once per epoch)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from tfcompress._keras3 import keras
from tfcompress.errors import InputError
from tfcompress.sparsity.wrapper import pruning_step, wrappers


class PruningSummaries(keras.callbacks.TensorBoard):
    """Add beside ``UpdatePruningStep``: ``callbacks=[UpdatePruningStep(),
    PruningSummaries(log_dir=...)]``; then ``tensorboard --logdir <log_dir>``."""

    def __init__(self, log_dir: str | Path, update_freq: str | int = "epoch", **kwargs: Any):
        if not isinstance(log_dir, (str, Path)) or not str(log_dir):
            raise InputError(f"PruningSummaries(log_dir={log_dir!r}): log_dir must be a "
                             "non-empty path")
        super().__init__(log_dir=str(log_dir), update_freq=update_freq, **kwargs)
        self._pruning_writer = None

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        super().on_epoch_begin(epoch, logs)

        if self._pruning_writer is None:
            self._pruning_writer = tf.summary.create_file_writer(
                str(Path(self.log_dir) / "metrics"))
        step = pruning_step(self.model)  # the live state, JAX's too
        if step is None:
            return
        items = [w for w in wrappers(self.model) if w.built]
        step = max(0, step)
        with self._pruning_writer.as_default():
            for w in items:  # a layer's pruned weights together (tfmot: one scalar each)
                masks = [np.asarray(keras.ops.convert_to_numpy(m)) for m in w.masks]
                zeros = sum(float(np.sum(m == 0)) for m in masks)
                tf.summary.scalar(f"{w.layer.name}/sparsity",
                                  zeros / sum(m.size for m in masks), step=step)
        self._pruning_writer.flush()
