"""Which channels to remove: per-channel importance of each prunable group, and the choice.

- ``l1``: the L1 norm of each output filter (Li et al. 2017), summed over the group's
  producers (a residual stream is scored by all the convolutions that write into it).
- ``bn_gamma``: |gamma| of the group's batch norms (network slimming, Liu et al. 2017; train
  with ``slimming_penalty`` so that unimportant channels' gammas shrink towards zero).
- ``taylor``: first-order Taylor expansion of the loss (Molchanov et al. 2019, "Importance
  Estimation for Neural Network Pruning"): a channel's importance is (sum over its filter's
  weights and bias of g * w)^2, the squared change of the loss if that filter were zeroed,
  accumulated over ``TAYLOR_BATCHES`` mini-batches of training data and summed over the
  group's producers.
- ``random``: uniform random scores (seeded): the baseline every criterion must beat (Liu et
  al. 2019, "Rethinking the Value of Network Pruning", find it often close).

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

from tfcompress import flavor
from tfcompress.errors import InputError
from tfcompress.prune import STRUCTURED_CRITERIA
from tfcompress.structured import layers as L
from tfcompress.structured.graph import Analysis, kind

#: mini-batches (of 64) the Taylor importance is accumulated over
TAYLOR_BATCHES = 8


def _kernel(layer: Any) -> Any:
    """The variable whose filters make the layer's output channels (a separable
    convolution's pointwise kernel)."""
    return layer.pointwise_kernel if kind(layer) in L.SEPARABLE else layer.kernel


def _per_filter(layer: Any, values: np.ndarray) -> np.ndarray:
    """``values`` shaped like ``_kernel(layer)`` as (weights per filter, output channels)."""
    if kind(layer) not in L.SEPARABLE:  # a pointwise kernel's outputs are already last
        values = np.moveaxis(values, L.kernel_axes(kind(layer))[1], -1)
    return values.reshape(-1, values.shape[-1])


def taylor(model: Any, a: Analysis, groups: Sequence[int], x: np.ndarray, y: np.ndarray,
           seed: int = 0, batches: int = TAYLOR_BATCHES, batch_size: int = 64
           ) -> dict[int, np.ndarray]:
    """Molchanov et al. 2019's importance of each channel of ``groups``: per mini-batch,
    (sum of g * w over the output filter and its bias)^2, summed over batches and over the
    group's producers."""
    import tensorflow as tf

    from tfcompress.train.loop import loss_for

    producers = sorted({p for g in groups for p in a.groups[g].producers})
    layers = {n: model.get_layer(n) for n in producers}
    variables = {n: (_kernel(layers[n]), getattr(layers[n], "bias", None)) for n in producers}
    flat = [v for pair in variables.values() for v in pair if v is not None]

    loss_fn = flavor.module(model).losses.get(loss_for(model))  # a name or a loss object
    rng = np.random.default_rng(seed)
    per_layer = {n: 0.0 for n in producers}
    for _ in range(batches):
        idx = np.sort(rng.choice(len(x), size=min(batch_size, len(x)), replace=False))
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(loss_fn(y[idx], model(x[idx], training=False)))
        grads = dict(zip(map(id, flat), tape.gradient(loss, flat)))
        for n, (kernel, bias) in variables.items():
            gw = np.asarray(grads[id(kernel)]) * np.asarray(kernel)
            contrib = _per_filter(layers[n], gw).sum(axis=0)
            if bias is not None:
                contrib = contrib + np.asarray(grads[id(bias)]) * np.asarray(bias)
            per_layer[n] = per_layer[n] + contrib.astype(np.float64) ** 2
    return {g: np.sum([per_layer[p] for p in a.groups[g].producers], axis=0)
            for g in groups}


class Importance:
    """A structured criterion: per-channel scores of channel groups (Torch-Pruning's
    ``Importance``). Register your own with ``tfcompress.register_criterion(name, obj)``;
    ``prune.criterion`` then names it.

    Attributes:
      needs_data: it reads training batches (``data`` is then (inputs, labels)).
    """

    needs_data = False

    def __call__(self, model: Any, a: Analysis, groups: Sequence[int],
                 data: tuple[np.ndarray, np.ndarray] | None, seed: int
                 ) -> dict[int, np.ndarray]:
        """Group -> one score per channel (higher: more important) for each of ``groups``."""
        raise NotImplementedError


class L1(Importance):
    """The L1 norm of each output filter, summed over the group's producers (Li et al. 2017)."""

    def __call__(self, model, a, groups, data, seed):
        out = {}
        for g in groups:
            total = np.zeros(a.groups[g].size)
            for name in a.groups[g].producers:
                layer = model.get_layer(name)
                total += np.abs(_per_filter(layer, np.asarray(_kernel(layer)))).sum(axis=0)
            out[g] = total
        return out


class BnGamma(Importance):
    """|gamma| of the batch norms the channels pass (network slimming's ranking)."""

    def __call__(self, model, a, groups, data, seed):
        out = {}
        for g in groups:
            grp = a.groups[g]
            total = np.zeros(grp.size)
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
            out[g] = total
        return out


class Taylor(Importance):
    """First-order Taylor importance on training batches (Molchanov et al. 2019)."""

    needs_data = True

    def __call__(self, model, a, groups, data, seed):
        if data is None:
            raise ValueError("criterion taylor needs training data")
        return taylor(model, a, groups, *data, seed=seed)


class Random(Importance):
    """Seeded random scores: the control."""

    def __call__(self, model, a, groups, data, seed):
        rng = np.random.default_rng(seed)
        return {g: rng.random(a.groups[g].size) for g in groups}


L1_NORM, BN_GAMMA, TAYLOR, RANDOM = L1(), BnGamma(), Taylor(), Random()


def scores(model: Any, a: Analysis, criterion: str, groups: Sequence[int],
           data: tuple[np.ndarray, np.ndarray] | None = None,
           seed: int = 0) -> dict[int, np.ndarray]:
    """Per-channel importance of each group by the registered ``criterion``
    (``prune.STRUCTURED_CRITERIA``; ``data``: training inputs and labels, for the criteria
    that need them; ``seed``: for ``random`` and ``taylor``'s batches)."""
    return STRUCTURED_CRITERIA.get(criterion)(model, a, groups, data, seed)


def needs_data(criterion: str) -> bool:
    """Whether ``criterion`` reads training batches."""
    return STRUCTURED_CRITERIA.get(criterion).needs_data


def select(scored: dict[int, np.ndarray], ratio: float | dict[int, float],
           scope: str = "layer", min_keep: int = 1,
           split: dict[int, int] | None = None, round_to: int = 1) -> dict[int, np.ndarray]:
    """Channels to keep per group (sorted indices).

    Args:
      ratio: the share of channels removed: of every group (``scope="layer"``), of all
        channels (``"global"``), or per group (a dict; ``"layer"`` only, 0 when not listed).
      split: group -> parts that must keep equally many channels (a grouped convolution's
        groups); 1 when not listed.
      round_to: each group keeps a multiple of this many channels (rounded up, at most all
        of them): the widths the CPU's vector kernels run fastest (8 floats per AVX register).
    """
    split = split or {}
    if isinstance(ratio, dict):
        if scope != "layer":
            raise ValueError("per-group ratios are for scope 'layer'")
        counts = {g: s.size - int(np.floor(ratio.get(g, 0.0) * s.size))
                  for g, s in scored.items()}
    elif scope == "layer":
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
        kept = min(s.size, -(-max(min_keep, counts[g]) // round_to) * round_to)
        per = -(-kept // parts)  # rounded up to whole parts
        blocks = np.split(np.arange(s.size), parts)
        keep[g] = np.sort(np.concatenate(
            [b[np.argsort(-s[b], kind="stable")[:per]] for b in blocks]))
    return keep
