"""Pruning masks on a model's kernels, for the methods tfmot does not have: global magnitude,
one-shot and iterative pruning, lottery tickets, SNIP, single-layer sensitivity. They work on
tf_keras and Keras 3 models alike (``candidates`` and ``hold_masks`` follow the model's Keras).

How weights are ranked and chosen (``select``, per layer or global) is numpy-only:
``criteria.py``, shared with ``tfcompress.sparsity``. ``hold_masks`` keeps pruned weights at zero
during training. Which layers are prunable is a policy: every Conv2D/Dense kernel except the
names in ``skip`` (``"first"`` and ``"last"`` stand for the first and last prunable layer).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from tfcompress import flavor
from tfcompress._keras import keras, tf
from tfcompress.errors import InputError, unknown_name
from tfcompress.prune.magnitude import PRUNABLE_TYPES
from tfcompress.prune.criteria import SCOPES, Masks, overall, report, select  # noqa: F401

log = logging.getLogger("tfcompress")

#: tokens of ``skip`` that name layers by position
POSITIONS = ("first", "last")
#: the layers already said to be left dense (one warning each per process)
_SAID: set[tuple[str, str]] = set()


def _walk(model: keras.Model) -> Iterable[keras.layers.Layer]:
    for layer in model.layers:
        if getattr(layer, "layers", None) is not None:  # a nested model, of either Keras
            yield from _walk(layer)
        else:
            yield layer


def candidates(model: keras.Model) -> list[keras.layers.Layer]:
    """Every layer with a prunable kernel (Conv2D, Dense; not depthwise), in model order; of
    a Keras 3 model, those ``tfcompress.sparsity`` can wrap that prune one weight (these
    methods keep one mask per layer: recurrent and attention layers, which prune several, are
    pruned by the ``gradual`` method only)."""
    if flavor.which(model) == flavor.KERAS3:
        from tfcompress.sparsity.wrapper import is_prunable, slots

        found = [(l, len(slots(l))) for l in _walk(model) if is_prunable(l)]
        for l, n in found:
            if n > 1 and (model.name, l.name) not in _SAID:
                _SAID.add((model.name, l.name))
                log.warning("layer %r (%s) is left dense: this method keeps one mask per layer "
                            "and the layer prunes %d weights (method gradual prunes each)",
                            l.name, type(l).__name__, n)
        return [l for l, n in found if n == 1]

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
    """The weight a layer's mask applies to: its kernel; of a Keras 3 layer, the one weight
    ``tfcompress.sparsity`` prunes (a separable convolution's pointwise kernel, an
    embedding's table)."""
    if flavor.which(layer) == flavor.KERAS3:
        from tfcompress.sparsity.wrapper import prunable_weights

        return prunable_weights(layer)[0]
    return layer.kernel


def magnitude_scores(layers: Sequence[keras.layers.Layer]) -> dict[str, np.ndarray]:
    return {l.name: np.abs(kernel(l).numpy()) for l in layers}


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


class _Hold:
    """Keeps masked weights at zero while training: re-applies the masks after every batch
    (gradient steps, momentum and weight decay would otherwise revive them)."""

    def __init__(self, masks: Masks):
        super().__init__()
        self.masks = masks
        self._pairs: list[tuple[Any, Any]] = []

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


class HoldMasks(_Hold, keras.callbacks.Callback):
    """``_Hold`` for a tf_keras model."""


def hold_masks(masks: Masks, model: Any) -> Any:
    """The callback holding ``masks`` for ``model``, of its Keras (tf_keras or Keras 3)."""
    if flavor.which(model) != flavor.KERAS3:
        return HoldMasks(masks)
    from tfcompress._keras3 import keras as keras3

    class HoldMasks3(_Hold, keras3.callbacks.Callback):
        """``_Hold`` for a Keras 3 model (TensorFlow backend: the pipeline's)."""

    return HoldMasks3(masks)
