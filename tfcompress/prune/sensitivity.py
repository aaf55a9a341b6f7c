"""Layer sensitivity analysis: how much accuracy each layer costs when pruned alone.

Every prunable layer is pruned by magnitude at each ratio while the rest of the trained model
stays as it is (no retraining), and the validation accuracy is measured - the test set stays
for the final numbers. The proposed target of a layer is the highest ratio whose accuracy drop
stays within the tolerance: a starting point for per-layer targets (Han et al. 2015, fig. 5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tfcompress.prune import masks as masks_lib
from tfcompress.progress import progress
from tfcompress.train.loop import accuracy

if TYPE_CHECKING:
    from tfcompress.recipe import SensitivitySpec


def analyse(model: Any, x: np.ndarray, y: np.ndarray, spec: SensitivitySpec
            ) -> dict[str, Any]:
    """Returns the dense accuracy (a tf_keras or Keras 3 model), per layer the accuracy at
    each ratio, and proposals."""
    dense = accuracy(model, x, y)
    layers = masks_lib.prunable(model, spec.skip)
    curves: dict[str, dict[str, Any]] = {}
    jobs = [(layer, r) for layer in layers for r in spec.ratios]
    originals = {l.name: np.array(masks_lib.kernel(l)) for l in layers}
    for layer, ratio in progress(jobs, desc="sensitivity", unit="eval"):
        kernel = masks_lib.kernel(layer)
        mask = masks_lib.select({layer.name: np.abs(originals[layer.name])}, ratio)[layer.name]
        kernel.assign(originals[layer.name] * mask)
        entry = curves.setdefault(layer.name, {
            "type": type(layer).__name__, "params": int(mask.size), "accuracy": []})
        entry["accuracy"].append(accuracy(model, x, y))
        kernel.assign(originals[layer.name])
    tol = spec.tolerance / 100.0
    for entry in curves.values():
        ok = [r for r, a in zip(spec.ratios, entry["accuracy"]) if dense - a <= tol]
        entry["proposed"] = max(ok) if ok else 0.0
    return {"dense_accuracy": dense, "ratios": list(spec.ratios), "layers": curves,
            "tolerance_pts": spec.tolerance}


def by_kind(result: dict[str, Any]) -> dict[str, list[float]]:
    """Mean accuracy drop (points) at each ratio over conv layers and over dense layers."""
    out: dict[str, list[float]] = {}
    for kind, types in (("conv", ("Conv2D",)), ("dense", ("Dense",))):
        rows = [e["accuracy"] for e in result["layers"].values() if e["type"] in types]
        if rows:
            out[kind] = [100 * (result["dense_accuracy"] - float(np.mean(col)))
                         for col in zip(*rows)]
    return out
