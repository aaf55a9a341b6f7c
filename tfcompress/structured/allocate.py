"""How much each channel group loses: one ratio for all (``uniform``), or a ratio per group
from what removing its channels costs and buys (``sensitivity``).

The ``sensitivity`` allocation measures, for each group alone, what removing ``PROBE`` of its
channels costs (the rise of the validation loss of the rebuilt model, its batch norms measured
again; no fine-tuning) and buys (the multiply-adds it removes). A group's share of the removal
grows with what it buys and shrinks with what it costs:

    efficiency_g = (macs_g / mean macs) / (cost_g / mean cost + SMOOTHING)
    ratio_g(level) = min(cap, level * efficiency_g / mean efficiency)

(the mean efficiency weighted by the groups' channels, so ``level`` is about the share of all
channels removed, as with ``uniform``). AMC and NetAdapt choose widths per layer the same way in
spirit (cheap, insensitive layers lose more); this is their one-shot, measured form, not their
search. It is deterministic: the same model and validation data give the same ratios.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tfcompress.benchmark import macs

log = logging.getLogger("tfcompress")

#: the share of a group's channels removed to measure its sensitivity
PROBE = 0.5
#: the most one group loses under ``sensitivity`` without a speed target (``target_sparsity``
#: is then the channel-weighted mean removed)
CAP = 0.9
#: keeps a group whose probe cost nothing from taking the whole removal
SMOOTHING = 0.25
#: validation examples the probes are evaluated on, and training inputs their batch norms are
#: measured on
PROBE_EXAMPLES, PROBE_RECALIBRATION = 512, 128


@dataclass(frozen=True)
class Sensitivity:
    """Per group (by its producers' names, ``a/b``): the validation loss and accuracy with
    ``PROBE`` of its channels removed, and the multiply-adds that removes."""

    dense_loss: float
    dense_accuracy: float
    loss: dict[str, float]
    accuracy: dict[str, float]
    macs_saved: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"probe": PROBE, "dense_loss": self.dense_loss,
                "dense_accuracy": self.dense_accuracy, "loss": self.loss,
                "accuracy": self.accuracy, "macs_saved": self.macs_saved}


def uniform(level: float, groups: Sequence[str], cap: float) -> dict[str, float]:
    """The same ratio for every group (today's ``scope: layer``)."""
    return {g: min(cap, level) for g in groups}


def weighted(level: float, sens: Sensitivity, sizes: Mapping[str, int],
             cap: float) -> dict[str, float]:
    """Per-group ratios at ``level`` from measured sensitivity (the module's formula)."""
    efficiency, mean = _efficiency(sens, sizes)
    return {g: float(min(cap, level * e / mean)) if mean > 0 else float(min(cap, level))
            for g, e in efficiency.items()}


def saturating(sens: Sensitivity, sizes: Mapping[str, int], cap: float) -> float:
    """The level at which ``weighted`` gives every group ``cap``."""
    efficiency, mean = _efficiency(sens, sizes)
    least = min(efficiency.values())
    return float(cap * mean / least) if least > 0 else float(cap)


def _efficiency(sens: Sensitivity, sizes: Mapping[str, int]
                ) -> tuple[dict[str, float], float]:
    """Each group's efficiency, and their mean weighted by the groups' channels."""
    cost = {g: max(0.0, sens.loss[g] - sens.dense_loss) for g in sens.loss}
    mean_cost = float(np.mean(list(cost.values()))) or 1.0
    mean_macs = float(np.mean(list(sens.macs_saved.values()))) or 1.0
    efficiency = {g: (sens.macs_saved[g] / mean_macs) / (cost[g] / mean_cost + SMOOTHING)
                  for g in cost}
    mean = sum(efficiency[g] * sizes[g] for g in efficiency) / sum(sizes[g] for g in efficiency)
    return efficiency, mean


def measure(model: Any, names: Mapping[int, str], build: Any, data: Any,
            seed: int) -> Sensitivity:
    """Each group of ``names`` (analysis group -> name) alone loses ``PROBE`` of its channels:
    ``build({group: ratio})`` makes the rebuilt model (batch norms measured again); its loss
    and accuracy on (up to ``PROBE_EXAMPLES``) validation examples are measured."""
    x, y = data.x_val[:PROBE_EXAMPLES], data.y_val[:PROBE_EXAMPLES]
    dense_loss, dense_acc = _evaluate(model, x, y)
    dense_macs = macs.count(model)["macs"]
    loss, acc, saved = {}, {}, {}
    for g, name in names.items():
        small = build({g: PROBE})
        loss[name], acc[name] = _evaluate(small, x, y)
        saved[name] = int(dense_macs - macs.count(small)["macs"])
        log.info("[prune] sensitivity of %s: %d%% of its channels removed -> validation "
                 "accuracy %.2f%% (dense %.2f%%), %.1f M fewer MACs", name, PROBE * 100,
                 100 * acc[name], 100 * dense_acc, saved[name] / 1e6)
    return Sensitivity(dense_loss, dense_acc, loss, acc, saved)


def _evaluate(model: Any, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean cross-entropy and top-1 accuracy (the model outputs probabilities or logits, as
    the training loop tells them apart)."""
    from tfcompress.train.loop import ends_in_softmax

    out = np.asarray(model.predict(x, batch_size=128, verbose=0), np.float64)
    if not ends_in_softmax(model):  # logits
        out = np.exp(out - out.max(-1, keepdims=True))
        out /= out.sum(-1, keepdims=True)
    loss = float(-np.mean(np.log(np.clip(out[np.arange(len(y)), y], 1e-12, 1.0))))
    return loss, float(np.mean(out.argmax(-1) == y))
