"""Which channels to remove: per-channel importance of each prunable group, and the choice.

- ``l1``: the L1 norm of each output filter (Li et al. 2017), summed over the group's
  producers (a residual stream is scored by all the convolutions that write into it).
- ``bn_gamma``: |gamma| of the group's batch norms (network slimming, Liu et al. 2017; train
  with ``slimming_penalty`` so that unimportant channels' gammas shrink towards zero).

``select`` keeps, per group, the highest-scored channels: the same ratio in every group
(``scope="layer"``), or one threshold over scores normalised by their group's mean
(``scope="global"``). At least ``min_keep`` channels of every group survive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tfcompress.errors import InputError
from tfcompress.structured.graph import Analysis, kind

CRITERIA = ("l1", "bn_gamma")


def scores(model: Any, a: Analysis, criterion: str,
           groups: Sequence[int]) -> dict[int, np.ndarray]:
    out = {}
    for g in groups:
        grp = a.groups[g]
        total = np.zeros(grp.size)
        if criterion == "l1":
            for name in grp.producers:
                kernel = model.get_layer(name).get_weights()[0]
                total += np.abs(kernel).reshape(-1, kernel.shape[-1]).sum(axis=0)
        elif criterion == "bn_gamma":
            bns = [n for n in grp.channelwise
                   if kind(model.get_layer(n)) == "BatchNormalization"]
            if not bns:
                raise InputError(f"criterion bn_gamma: the channels of {grp.producers} pass "
                                 f"no batch norm; use l1")
            for name in bns:
                lay = a.inputs[name][0]
                offset = 0
                for s in lay.segments:
                    if a.root(s.group) == g:
                        total += np.abs(model.get_layer(name).get_weights()[0]
                                        [offset:offset + s.size])
                    offset += s.size
        else:
            from tfcompress.errors import unknown_name

            raise unknown_name("structured criterion", criterion, CRITERIA)
        out[g] = total
    return out


def select(scored: dict[int, np.ndarray], ratio: float, scope: str = "layer",
           min_keep: int = 1) -> dict[int, np.ndarray]:
    """Channels to keep per group (sorted indices)."""
    keep = {}
    if scope == "layer":
        for g, s in scored.items():
            n = max(min_keep, s.size - int(np.floor(ratio * s.size)))
            keep[g] = np.sort(np.argsort(-s, kind="stable")[:n])
        return keep
    norm = {g: s / (s.mean() + 1e-12) for g, s in scored.items()}
    flat = np.concatenate(list(norm.values()))
    k = int(np.floor(ratio * flat.size))
    threshold = np.sort(flat)[k - 1] if k else -np.inf
    for g, s in norm.items():
        kept = np.flatnonzero(s > threshold)
        if kept.size < min_keep:
            kept = np.argsort(-s, kind="stable")[:min_keep]
        keep[g] = np.sort(kept)
    return keep
