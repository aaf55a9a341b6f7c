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

from tfcompress import flavor
from tfcompress.structured.graph import kind, operations


def recalibrate(model: Any, x: np.ndarray, batch_size: int = 64) -> int:
    """Re-estimates the moving statistics of every channel-axis batch norm of ``model`` (a flat
    functional or Sequential model, either Keras) on the inputs ``x``. Returns how many."""
    k = flavor.module(model)
    done = 0
    for bn, nodes in operations(model):
        if kind(bn) != "BatchNormalization" or len(nodes) != 1:
            continue
        axis = bn.axis[0] if isinstance(bn.axis, (list, tuple)) else bn.axis
        probe = k.Model(model.inputs, bn.input)
        h = np.asarray(probe.predict(x, batch_size=batch_size, verbose=0), dtype="float64")
        if axis not in (-1, h.ndim - 1):
            continue
        flat = h.reshape(-1, h.shape[-1])
        weights = bn.get_weights()
        at = int(bn.scale) + int(bn.center)  # [gamma], [beta], moving mean, moving variance
        weights[at] = flat.mean(axis=0).astype(weights[at].dtype)
        weights[at + 1] = flat.var(axis=0).astype(weights[at + 1].dtype)
        bn.set_weights(weights)
        done += 1
    return done
