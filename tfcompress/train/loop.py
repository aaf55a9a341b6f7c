"""The fit loop shared by baseline training and fine-tuning.

Every run logs to TensorBoard and backs up after each epoch (Keras ``BackupAndRestore``), so
an interrupted training step continues from its last finished epoch when the run is repeated.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tfcompress._keras import keras
from tfcompress.data.augment import training_data
from tfcompress.train import OPTIMIZERS

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.recipe import TrainSpec

LOSS = "sparse_categorical_crossentropy"


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
    return math.ceil(num_examples / batch_size)


def compile_model(model: keras.Model, spec: TrainSpec, steps: int = 1) -> keras.Model:
    """Compiles with the spec's optimizer; ``steps`` per epoch drive learning-rate schedules."""
    model.compile(optimizer=OPTIMIZERS.get(spec.optimizer)(spec, steps), loss=LOSS,
                  metrics=["accuracy"])
    return model


def fit(model: keras.Model, data: Dataset, spec: TrainSpec, *, work_dir: Path,
        phase: str | None = None, callbacks: Sequence[keras.callbacks.Callback] = (),
        tensorboard: keras.callbacks.TensorBoard | None = None) -> dict[str, list[float]]:
    """Compiles and trains ``model`` on ``data.train``, validating on ``data.val``.

    Args:
      work_dir: TensorBoard logs go to ``work_dir/logs``; the epoch backup to
        ``work_dir/backup`` (removed by Keras when training completes).
      phase: one of several trainings in the same step (e.g. ``head`` then ``finetune``):
        logs and backup go to a sub-folder of that name.
      callbacks: extra callbacks (e.g. tfmot's ``UpdatePruningStep``), run after the backup
        has been restored.
      tensorboard: a TensorBoard callback to use instead of the default one (e.g. tfmot's
        ``PruningSummaries``, which also logs sparsity).

    Returns:
      The Keras history (loss, accuracy, val_loss, val_accuracy per epoch).
    """
    steps = steps_per_epoch(len(data.y_train), spec.batch_size)
    compile_model(model, spec, steps)
    sub = phase or ""
    all_callbacks = [
        keras.callbacks.BackupAndRestore(str(work_dir / "backup" / sub)),
        tensorboard or keras.callbacks.TensorBoard(str(work_dir / "logs" / sub),
                                                   profile_batch=0, write_graph=False),
        *callbacks,
    ]
    if data.augment == "none":
        inputs = {"x": data.x_train, "y": data.y_train, "batch_size": spec.batch_size,
                  "shuffle": True}
    else:
        inputs = {"x": training_data(data, spec.batch_size)}
    history = model.fit(
        **inputs,
        validation_data=(data.x_val, data.y_val), validation_batch_size=256,
        epochs=spec.epochs, callbacks=all_callbacks,
        verbose=1 if sys.stdout.isatty() else 2,
    )
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> float:
    """Top-1 accuracy of a Keras model (its outputs are class scores)."""
    preds = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(preds, axis=-1) == y))
