"""Batch norm statistics measured again after channels were removed.

Removing a layer's input channels changes what the layers after it see, while their batch
norms still hold the moving mean and variance of the full model: the smaller model starts far
from where it could (EagleEye, Li et al. 2020, call the remedy "adaptive batch norm"). When the
batch norms cannot relearn them during fine-tuning (a transfer model keeps its backbone's batch
norms in inference mode), a pruned backbone stays broken.

``recalibrate`` sets each batch norm's moving mean and variance to the mean and variance of its
input over a sample of training inputs, in graph order, so each one sees the batch norms before
it already recalibrated: the population statistics of the smaller model, exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfcompress.structured.graph import kind, operations


def recalibrate(model: Any, x: np.ndarray) -> int:
    """Re-estimates the moving statistics of every channel-axis batch norm of ``model`` (a flat
    functional or Sequential model, either Keras) on the inputs ``x``. Returns how many.

    One forward pass in eager mode over all of ``x`` at once: each batch norm, when the pass
    reaches it, first takes its input's mean and variance as its statistics, then normalises
    with them, so the layers after it see it recalibrated. That is the graph order of one probe
    model per batch norm (what this did before, at a cost quadratic in depth and one traced
    function per batch norm: a MobileNet took minutes, now seconds), in a single pass; the
    statistics agree with it to float32 rounding."""
    patched = []
    done: list[str] = []
    for bn, nodes in operations(model):
        if kind(bn) != "BatchNormalization" or len(nodes) != 1:
            continue
        bn.call = _measuring(bn, bn.call, done)  # an instance attribute: this layer only
        patched.append(bn)
    try:
        model(x, training=False)
    finally:
        for bn in patched:
            del bn.call
    return len(done)


def _measuring(bn: Any, call: Any, done: list[str]) -> Any:
    """``bn``'s call, first setting its moving mean and variance to its input's (channel-last
    batch norms; others are left as they are)."""
    axis = bn.axis[0] if isinstance(bn.axis, (list, tuple)) else bn.axis

    def measured(inputs: Any, *args: Any, **kwargs: Any) -> Any:
        h = np.asarray(inputs, dtype="float64")
        if axis in (-1, h.ndim - 1):
            flat = h.reshape(-1, h.shape[-1])
            weights = bn.get_weights()
            at = int(bn.scale) + int(bn.center)  # [gamma], [beta], moving mean, variance
            weights[at] = flat.mean(axis=0).astype(weights[at].dtype)
            weights[at + 1] = flat.var(axis=0).astype(weights[at + 1].dtype)
            bn.set_weights(weights)
            done.append(bn.name)
        return call(inputs, *args, **kwargs)

    return measured
