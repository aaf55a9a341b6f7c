"""SNIP (Lee et al. 2019): single-shot pruning at initialisation by connection sensitivity.

The saliency of a weight is |dL/dw * w| on one (or a few) mini-batches of the *untrained*
network; the top-k weights over all prunable layers are kept and the sparse network is then
trained from that same initialisation with the mask held fixed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tfcompress._keras import keras, tf
from tfcompress.prune import masks as masks_lib


def scores(model: keras.Model, x: np.ndarray, y: np.ndarray, *, batches: int = 1,
           batch_size: int = 128, skip: Sequence[str] = (), seed: int = 0
           ) -> dict[str, np.ndarray]:
    """|g * w| summed over ``batches`` random mini-batches, per prunable kernel."""
    layers = masks_lib.prunable(model, skip)
    kernels = [masks_lib.kernel(l) for l in layers]
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    rng = np.random.default_rng(seed)
    total = [np.zeros(k.shape, np.float64) for k in kernels]
    for _ in range(batches):
        idx = rng.choice(len(x), size=min(batch_size, len(x)), replace=False)
        with tf.GradientTape() as tape:
            loss = loss_fn(y[idx], model(x[idx], training=False))
        grads = tape.gradient(loss, kernels)
        for t, g, k in zip(total, grads, kernels):
            t += np.abs(g.numpy() * k.numpy())
    return {l.name: t for l, t in zip(layers, total)}


def masks(model: keras.Model, x: np.ndarray, y: np.ndarray, sparsity: float, *,
          scope: str = "global", batches: int = 1, batch_size: int = 128,
          skip: Sequence[str] = (), seed: int = 0) -> masks_lib.Masks:
    """SNIP masks: the paper ranks all weights together (``scope="global"``)."""
    s = scores(model, x, y, batches=batches, batch_size=batch_size, skip=skip, seed=seed)
    return masks_lib.select(s, sparsity, scope)
