"""Scoring a trial from what was measured, and the Pareto fronts of a finished sweep.

keras-tuner maximises one number, ``score``:

* ``constrained``: a trial within every budget scores its validation accuracy (0..1); one
  over budget scores minus how far over it is (sum of the relative excesses), so any trial
  within budget beats every trial over it, and among those over it the nearest wins.
* ``weighted``: accuracy - size_weight x gzip MiB - latency_weight x p95 ms (absolute units,
  so scores do not drift when the reference is measured again).

The selection uses the validation split; the test accuracy is only reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tfcompress.recipe import SweepSpec


def excess(metrics: dict[str, float], spec: SweepSpec) -> dict[str, float]:
    """Each budget the trial exceeds, as a fraction over it (``{}``: within budget)."""
    out = {}
    for metric, budget in (("gzip_kib", spec.max_gzip_kib), ("p95_ms", spec.max_p95_ms)):
        if budget is not None and metrics[metric] > budget:
            out[metric] = metrics[metric] / budget - 1
    return out


def meets_budget(metrics: dict[str, float], spec: SweepSpec) -> bool:
    return not excess(metrics, spec)


def score(metrics: dict[str, float], spec: SweepSpec) -> float:
    """The number the tuner maximises (see the module docstring)."""
    if spec.objective == "constrained":
        over = excess(metrics, spec)
        return metrics["val_accuracy"] if not over else -sum(over.values())
    return (metrics["val_accuracy"] - spec.size_weight * metrics["gzip_kib"] / 1024
            - spec.latency_weight * metrics["p95_ms"])


def pareto(points: Sequence[dict[str, Any]], cost: str, gain: str = "accuracy") -> list[int]:
    """Indices of the points no other point beats: none has a lower-or-equal ``cost`` and a
    higher-or-equal ``gain`` with one of them strictly better. Sorted by cost."""
    front = []
    for i, p in enumerate(points):
        dominated = any(q[cost] <= p[cost] and q[gain] >= p[gain]
                        and (q[cost] < p[cost] or q[gain] > p[gain])
                        for j, q in enumerate(points) if j != i)
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (points[i][cost], -points[i][gain]))
