"""Pruning masks computed by us, for the methods tfmot does not have: global magnitude,
one-shot and iterative pruning, lottery tickets, SNIP, single-layer sensitivity.

A mask is a boolean array per layer kernel (True = keep). ``select`` turns per-weight scores
(|w| for magnitude, |g * w| for SNIP) into masks that zero exactly ``floor(sparsity * n)``
weights, either per layer (every layer at the same ratio) or globally (one threshold over all
prunable weights, so the per-layer ratios differ). ``HoldMasks`` keeps pruned weights at zero
during training. Which layers are prunable is a policy: every Conv2D/Dense kernel except the
names in ``skip`` (``"first"`` and ``"last"`` stand for the first and last prunable layer).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from tfcompress._keras import keras, tf
from tfcompress.errors import InputError

Masks = dict[str, np.ndarray]
SCOPES = ("layer", "global")
#: tokens of ``skip`` that name layers by position
POSITIONS = ("first", "last")


def _walk(model: keras.Model) -> Iterable[keras.layers.Layer]:
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _walk(layer)
        else:
            yield layer


def candidates(model: keras.Model) -> list[keras.layers.Layer]:
    """Every layer with a prunable kernel (Conv2D, Dense; not depthwise), in model order."""
    from tfcompress.prune.magnitude import PRUNABLE_TYPES

    return [l for l in _walk(model) if isinstance(l, PRUNABLE_TYPES)
            and not isinstance(l, keras.layers.DepthwiseConv2D)]


def prunable(model: keras.Model, skip: Sequence[str] = ()) -> list[keras.layers.Layer]:
    """The layers a policy prunes: the candidates minus ``skip`` (names, ``first``, ``last``).

    Raises:
      InputError: a name in ``skip`` is not a prunable layer of the model.
    """
    layers = candidates(model)
    names = [l.name for l in layers]
    for name in skip:
        if name not in names and name not in POSITIONS:
            from tfcompress.errors import unknown_name

            raise unknown_name("layer in prune.skip", name, [*POSITIONS, *names])
    dropped = {n for n in skip if n not in POSITIONS}
    if "first" in skip and layers:
        dropped.add(names[0])
    if "last" in skip and layers:
        dropped.add(names[-1])
    kept = [l for l in layers if l.name not in dropped]
    if not kept:
        raise InputError(f"prune.skip={list(skip)} leaves no layer to prune")
    return kept


def kernel(layer: keras.layers.Layer) -> tf.Variable:
    return layer.kernel


def magnitude_scores(layers: Sequence[keras.layers.Layer]) -> dict[str, np.ndarray]:
    return {l.name: np.abs(kernel(l).numpy()) for l in layers}


def select(scores: Mapping[str, np.ndarray], sparsity: float, scope: str = "layer",
           keep: Masks | None = None) -> Masks:
    """Masks zeroing the lowest-scored weights.

    Args:
      scope: ``layer`` (each layer at ``sparsity``) or ``global`` (one ranking of all).
      keep: earlier masks (iterative pruning): weights already pruned stay pruned and
        count towards ``sparsity``.
    """
    if scope not in SCOPES:
        from tfcompress.errors import unknown_name

        raise unknown_name("prune.scope", scope, SCOPES)
    # Already-pruned weights score -inf: they are the first to go and never come back.
    ranked = {n: np.where(keep[n], s, -np.inf) if keep else s.astype(np.float64)
              for n, s in scores.items()}
    if scope == "layer":
        return {n: _lowest_off(s.ravel(), sparsity).reshape(s.shape) for n, s in ranked.items()}
    flat = np.concatenate([s.ravel() for s in ranked.values()])
    keep_flat = _lowest_off(flat, sparsity)
    out, start = {}, 0
    for n, s in ranked.items():
        out[n] = keep_flat[start:start + s.size].reshape(s.shape)
        start += s.size
    return out


def _lowest_off(scores: np.ndarray, sparsity: float) -> np.ndarray:
    k = int(np.floor(sparsity * scores.size))
    keep = np.ones(scores.size, dtype=bool)
    if k:
        keep[np.argsort(scores, kind="stable")[:k]] = False
    return keep


def magnitude(model: keras.Model, sparsity: float, scope: str = "layer",
              skip: Sequence[str] = (), keep: Masks | None = None) -> Masks:
    """Magnitude masks (Han et al. 2015) of the policy's layers."""
    return select(magnitude_scores(prunable(model, skip)), sparsity, scope, keep)


def apply(model: keras.Model, masks: Masks) -> None:
    """Zeroes the masked weights in place."""
    layers = {l.name: l for l in _walk(model)}
    for name, mask in masks.items():
        k = kernel(layers[name])
        k.assign(k.numpy() * mask)


class HoldMasks(keras.callbacks.Callback):
    """Keeps masked weights at zero while training: re-applies the masks after every batch
    (gradient steps, momentum and weight decay would otherwise revive them)."""

    def __init__(self, masks: Masks):
        super().__init__()
        self.masks = masks
        self._pairs: list[tuple[tf.Variable, tf.Tensor]] = []

    def on_train_begin(self, logs: Any = None) -> None:
        layers = {l.name: l for l in _walk(self.model)}
        self._pairs = [(kernel(layers[n]), tf.constant(m, dtype=kernel(layers[n]).dtype))
                       for n, m in self.masks.items()]
        self._hold()

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self._hold()

    def _hold(self) -> None:
        for var, mask in self._pairs:
            var.assign(var * mask)


def report(masks: Masks) -> dict[str, dict[str, Any]]:
    """Per layer: kernel size, zeros and sparsity (the ratios global pruning chose)."""
    return {n: {"params": int(m.size), "zeros": int(m.size - m.sum()),
                "sparsity": float(1 - m.mean())} for n, m in masks.items()}


def overall(masks: Masks) -> float:
    total = sum(m.size for m in masks.values())
    return float(sum(m.size - m.sum() for m in masks.values()) / total)
