"""``UpdatePruningStep``: the callback that moves the masks along their schedules.

At the start of every training batch it asks each wrapper's schedule whether this step is an
update step; only then does it read the kernels, rank the weights (``tfcompress.prune.criteria``,
shared with the tfmot path) and assign new masks. Other steps cost a few Python comparisons. The
step is the wrappers' ``pruning_step`` (model state, advanced by each training step and saved
with the weights), so a second ``fit`` or a restored checkpoint continues the schedule where it
stopped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfcompress._keras3 import keras
from tfcompress.errors import InputError
from tfcompress.prune import criteria
from tfcompress.sparsity.wrapper import PruneLowMagnitude, pruning_step, sync_state, wrappers


def update_masks(items: list[PruneLowMagnitude], step: int) -> bool:
    """New masks for the wrappers whose schedule updates at ``step``; True if any changed.

    Each pruned weight is ranked alone (a recurrent layer's kernel and recurrent kernel each
    at the schedule's sparsity, as tfmot ranks them), except that ``global``-scoped wrappers'
    weights are ranked together (at the sparsity of the first one's schedule). Weights
    already masked score 0 and go first, so a rising schedule never revives a pruned weight.
    """
    due = [(w, w.pruning_schedule(step)) for w in items]
    due = [(w, sparsity) for w, (should, sparsity) in due if should]
    if not due:
        return False
    # one unit per pruned weight: (wrapper, index of the weight and its mask)
    units = [(w, i, sparsity) for w, sparsity in due for i in range(len(w.masks))]
    scores = {(id(w), i): np.abs(np.asarray(w.pruned_weights[i].numpy())
                                 * np.asarray(w.masks[i].numpy())) for w, i, _ in units}
    new: dict[tuple[int, int], np.ndarray] = {}
    pooled = [(w, i, s) for w, i, s in units if w.scope == "global" and w.sparsity_m_by_n is None]
    if pooled:
        new.update(criteria.select({(id(w), i): scores[id(w), i] for w, i, _ in pooled},
                                   pooled[0][2], "global"))
    for w, i, sparsity in units:
        key = (id(w), i)
        if w.sparsity_m_by_n is not None:
            new[key] = criteria.m_by_n(scores[key], *w.sparsity_m_by_n)
        elif tuple(w.block_size) != (1, 1):
            new[key] = block_mask(scores[key], sparsity, w.block_size, w.block_pooling_type)
        elif key not in new:
            new[key] = criteria.select({0: scores[key]}, sparsity, count="tfmot")[0]
    for w, i, _ in units:
        w.masks[i].assign(new[id(w), i].astype(w.masks[i].dtype))
    return True


def block_mask(scores: np.ndarray, sparsity: float, block: tuple[int, int],
               pooling: str) -> np.ndarray:
    """tfmot's block mask (``pruning_impl._maybe_update_block_mask``): the squeezed 2-D
    ``scores`` pooled over ``block`` windows as ``tf.nn.pool`` pools them with ``SAME``
    padding (an edge window pools what it holds; ``AVG`` or ``MAX``), the weakest blocks
    zeroed as single weights are, the block mask tiled back from the top left."""
    flat = np.squeeze(scores).astype(np.float64)
    pooled = _pool(_pool(flat, block[0], pooling).T, block[1], pooling).T
    keep = criteria.select({0: pooled}, sparsity, count="tfmot")[0]
    tiled = np.repeat(np.repeat(keep, block[0], axis=0), block[1], axis=1)
    return tiled[:flat.shape[0], :flat.shape[1]].reshape(scores.shape)


def _pool(x: np.ndarray, window: int, pooling: str) -> np.ndarray:
    """``x`` pooled along its first axis in windows of ``window`` with stride ``window``,
    ``SAME`` padding as TensorFlow places it (half before, the rest after)."""
    out = -(-x.shape[0] // window)
    pad = out * window - x.shape[0]
    padded = np.full((out * window, x.shape[1]), np.nan)
    padded[pad // 2:pad // 2 + x.shape[0]] = x
    blocks = padded.reshape(out, window, x.shape[1])
    return np.nanmean(blocks, axis=1) if pooling == "AVG" else np.nanmax(blocks, axis=1)


class UpdatePruningStep(keras.callbacks.Callback):
    """Add to ``model.fit(..., callbacks=[...])`` of a model wrapped by
    ``prune_low_magnitude``: without it the masks never move, and training refuses to start.

    The step is model state, as in tfmot: each wrapper's ``pruning_step`` is advanced by the
    training step itself (so ``steps_per_execution`` and ``jit_compile`` count every step) and
    saved with the weights (a weights-only checkpoint resumes the schedule). The first
    training step is step 1. Before each batch the masks the schedule updates at that step
    are computed; with ``steps_per_execution`` > 1, an update due inside an execution is made
    before the next one (and at the end of the epoch), so ``final_sparsity`` is reached.

    A custom training loop calls ``on_train_begin()`` once, ``on_train_batch_begin()`` before
    each step and ``on_epoch_end()`` after each epoch, as tfmot's guide writes it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.step = 0  # training steps run (the wrappers' pruning_step)
        self._items: list[PruneLowMagnitude] = []
        self._checked = 0  # the schedules were consulted up to this step
        self._epoch_start: int | None = None  # the step an epoch of ``fit`` started from
        self._verified = False  # the wrappers counted the first epoch's steps

    def on_train_begin(self, logs: Any = None) -> None:
        self._items = wrappers(self.model)
        if not self._items:
            raise InputError(f"model {self.model.name!r} has no pruning wrapper; wrap it with "
                             "tfcompress.sparsity.prune_low_magnitude before fit")
        for w in self._items:
            w._stepped = True
        if (pruning_step(self.model) or 0) < 0:  # new: step 0; restored: as saved
            for w in self._items:
                if w.built:
                    w.pruning_step.assign(0)
        self.step = self._checked = pruning_step(self.model) or 0
        self._epoch_start = None

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._epoch_start = self.step  # fit numbers its batches from 0 in every epoch

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        if self._epoch_start is not None and isinstance(batch, int) and batch >= 0:
            self.step = self._epoch_start + batch  # steps run before this batch
        else:  # a custom loop: the wrappers' own count
            self.step = self._read_step()
        self._update_through(self.step + 1)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        if self._epoch_start is not None and isinstance(batch, int) and batch >= 0:
            self.step = self._epoch_start + batch + 1

    def on_epoch_end(self, epoch: Any = None, logs: Any = None, batch: Any = None) -> None:
        if self._epoch_start is None:  # a custom loop
            self.step = self._read_step()
        elif not self._verified and self.step > self._epoch_start:
            self._verified = True
            if self._read_step() == self._epoch_start:
                raise InputError(
                    f"model {self.model.name!r} trained {self.step - self._epoch_start} steps "
                    "but its pruning wrappers counted none: they were not called with "
                    "training=True (a subclassed model's call must take a training argument "
                    "and pass it to its layers, as Keras 3 needs for Dropout and "
                    "BatchNormalization too)")
        self._update_through(self.step)

    def _read_step(self) -> int:
        step = pruning_step(self.model)
        return self.step if step is None else step

    def _update_through(self, last: int) -> None:
        """The updates the schedules make at steps after the last one consulted, up to
        ``last``, in order (one step but with ``steps_per_execution`` > 1)."""
        built = [w for w in self._items if w.built]
        if len(built) < len(self._items):  # built by the first step: caught up after it
            return
        due = [s for s in range(self._checked + 1, last + 1)
               if any(w.pruning_schedule(s)[0] for w in built)]
        self._checked = max(self._checked, last)
        if due:
            sync_state(self.model)
            for s in due:
                update_masks(built, s)

