"""``UpdatePruningStep``: the callback that moves the masks along their schedules.

At the start of every training batch it asks each wrapper's schedule whether this step is an
update step; only then does it read the kernels, rank the weights (``tfcompress.prune.criteria``,
shared with the tfmot path) and assign new masks. Other steps cost a few Python comparisons. The
step count starts from the optimizer's iteration count, so a second ``fit`` continues the
schedule where the first stopped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfcompress._keras3 import keras
from tfcompress.prune import criteria
from tfcompress.sparsity.wrapper import PruneLowMagnitude, wrappers


def update_masks(items: list[PruneLowMagnitude], step: int) -> bool:
    """New masks for the wrappers whose schedule updates at ``step``; True if any changed.

    ``layer``-scoped wrappers are ranked alone, ``global``-scoped ones together (at the
    sparsity of the first one's schedule). Weights already masked score 0 and go first, so a
    rising schedule never revives a pruned weight.
    """
    due = [(w, w.pruning_schedule(step)) for w in items]
    due = [(w, sparsity) for w, (should, sparsity) in due if should]
    if not due:
        return False
    scores = {id(w): np.abs(np.asarray(w.kernel.numpy()) * np.asarray(w.mask.numpy()))
              for w, _ in due}
    new: dict[int, np.ndarray] = {}
    pooled = [(w, s) for w, s in due if w.scope == "global" and w.sparsity_m_by_n is None]
    if pooled:
        new.update(criteria.select({id(w): scores[id(w)] for w, _ in pooled}, pooled[0][1],
                                   "global"))
    for w, sparsity in due:
        if w.sparsity_m_by_n is not None:
            new[id(w)] = criteria.m_by_n(scores[id(w)], *w.sparsity_m_by_n)
        elif id(w) not in new:
            new[id(w)] = criteria.select({0: scores[id(w)]}, sparsity)[0]
    for w, _ in due:
        w.mask.assign(new[id(w)].astype(w.mask.dtype))
    return True


class UpdatePruningStep(keras.callbacks.Callback):
    """Add to ``model.fit(..., callbacks=[...])`` of a model wrapped by
    ``prune_low_magnitude``: without it the masks never change."""

    def __init__(self) -> None:
        super().__init__()
        self.step = 0
        self._items: list[PruneLowMagnitude] = []

    def on_train_begin(self, logs: Any = None) -> None:
        self._items = wrappers(self.model)
        if not self._items:
            from tfcompress.errors import InputError

            raise InputError(f"model {self.model.name!r} has no pruning wrapper; wrap it with "
                             "tfcompress.sparsity.prune_low_magnitude before fit")
        self.step = int(np.asarray(keras.ops.convert_to_numpy(self.model.optimizer.iterations)))

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        if any(w.pruning_schedule(self.step)[0] for w in self._items):
            sync = getattr(self.model, "jax_state_sync", None)
            if sync is not None:  # JAX keeps the live weights outside the variables mid-epoch
                sync()
            update_masks(self._items, self.step)
        self.step += 1
