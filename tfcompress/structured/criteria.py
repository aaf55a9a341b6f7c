"""Which channels to remove: per-channel importance of each prunable group, and the choice.

- ``l1``: the L1 norm of each output filter (Li et al. 2017), summed over the group's
  producers (a residual stream is scored by all the convolutions that write into it).
- ``bn_gamma``: |gamma| of the group's batch norms (network slimming, Liu et al. 2017; train
  with ``slimming_penalty`` so that unimportant channels' gammas shrink towards zero).

``select`` keeps, per group, the highest-scored channels: the same ratio in every group
(``scope="layer"``), or the lowest ``ratio`` of all channels by score normalised by their
group's mean (``scope="global"``). Either way exactly that many channels go, ties broken by
position (never "every channel at the threshold"). At least ``min_keep`` channels of every
group survive, and a grouped convolution's group keeps as many channels in each of its
``split`` parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tfcompress.errors import InputError
from tfcompress.structured import layers as L
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
                layer = model.get_layer(name)
                if kind(layer) in L.SEPARABLE:  # the pointwise kernel makes the outputs
                    kernel = layer.get_weights()[1]
                else:
                    kernel = np.moveaxis(layer.get_weights()[0],
                                         L.kernel_axes(kind(layer))[1], -1)
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
           min_keep: int = 1, split: dict[int, int] | None = None) -> dict[int, np.ndarray]:
    """Channels to keep per group (sorted indices).

    Args:
      split: group -> parts that must keep equally many channels (a grouped convolution's
        groups); 1 when not listed.
    """
    split = split or {}
    if scope == "layer":
        counts = {g: s.size - int(np.floor(ratio * s.size)) for g, s in scored.items()}
    else:
        # (no epsilon: 1/(1+e) and 2/(2+e) would split ties between groups)
        norm = {g: s / s.mean() if s.mean() > 0 else s for g, s in scored.items()}
        # ties (an untrained batch norm's gammas all 1) are shared out in proportion to the
        # groups' sizes, never taken group after group
        order = [(v, i / s.size, g, i) for g, s in norm.items() for i, v in enumerate(s)]
        drop = sorted(order)[:int(np.floor(ratio * len(order)))]
        counts = {g: s.size for g, s in scored.items()}
        for *_, g, _ in drop:
            counts[g] -= 1
    keep = {}
    for g, s in scored.items():
        parts = split.get(g, 1)
        per = -(-max(min_keep, counts[g]) // parts)  # rounded up to whole parts
        blocks = np.split(np.arange(s.size), parts)
        keep[g] = np.sort(np.concatenate(
            [b[np.argsort(-s[b], kind="stable")[:per]] for b in blocks]))
    return keep
