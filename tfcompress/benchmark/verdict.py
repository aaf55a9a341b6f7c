"""Whether one file runs faster than another, judged against the noise of the measurement.

The files of a run are timed interleaved (``latency.measure_all``): round ``i`` of every file
was measured at nearly the same moment, so the per-round ratio of two files' medians cancels
slow drifts of the machine's load, and the spread of those ratios over the rounds is the noise
left. A difference is claimed only when every round shows it, by more than ``MIN_EFFECT`` and in
the same direction, and its median is larger than half the spread of the rounds; otherwise the
files run at the same speed within noise. (A burst of load on one file in one round is thus
never read as a difference: the other rounds disagree.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: The smallest difference in p50 latency ever claimed (5%), however quiet the machine.
MIN_EFFECT = 0.05
#: A file whose round medians differ by more than this factor was timed on a busy machine.
DISTURBED = 1.25

FASTER, SLOWER, SAME = "faster", "slower", "same"


@dataclass(frozen=True)
class Speed:
    """One file's p50 latency against a reference's, round by round.

    Attributes:
      ratio: median over rounds of (this file's round median / the reference's): < 1 is faster.
      low, high: the smallest and largest per-round ratio.
      rounds: how many rounds were compared.
      verdict: ``faster``, ``slower`` or ``same`` (within noise).
    """

    ratio: float
    low: float
    high: float
    rounds: int
    verdict: str

    @property
    def speedup(self) -> float:
        return 1.0 / self.ratio

    def label(self) -> str:
        """``1.85x faster``, ``1.20x slower`` or ``same speed within noise (0.96-1.05x)``."""
        if self.verdict == FASTER:
            return f"{self.speedup:.2f}x faster"
        if self.verdict == SLOWER:
            return f"{self.ratio:.2f}x slower"
        return f"same speed within noise (p50 {self.low:.2f}-{self.high:.2f}x over " \
               f"{self.rounds} round{'s' if self.rounds != 1 else ''})"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "speedup": self.speedup}


def compare(rounds: Sequence[float], reference: Sequence[float]) -> Speed:
    """Judges per-round medians ``rounds`` against the reference's, measured in the same rounds.

    Raises:
      ValueError: the two were not measured in the same number of rounds.
    """
    a, b = np.asarray(rounds, np.float64), np.asarray(reference, np.float64)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"compare needs the same rounds of both files; received {a.size} "
                         f"and {b.size}")
    ratios = a / b
    ratio, low, high = float(np.median(ratios)), float(ratios.min()), float(ratios.max())
    spread = (high - low) / 2
    if high < 1.0 - MIN_EFFECT and 1.0 - ratio > spread:
        verdict = FASTER
    elif low > 1.0 + MIN_EFFECT and ratio - 1.0 > spread:
        verdict = SLOWER
    else:
        verdict = SAME
    return Speed(ratio=ratio, low=low, high=high, rounds=int(a.size), verdict=verdict)


def spread(rounds: Sequence[float]) -> float:
    """Largest over smallest round median of one file: 1.0 on a perfectly quiet machine."""
    r = np.asarray(rounds, np.float64)
    return float(r.max() / r.min()) if r.size and r.min() > 0 else 1.0


def disturbed(latencies: dict[str, dict[str, Any]]) -> list[str]:
    """The files (``name (N threads)``) whose round medians varied more than ``DISTURBED``."""
    out = []
    for name, lat in latencies.items():
        s = spread(lat.get("round_p50_ms") or ())
        if s > DISTURBED:
            out.append(f"{name} ({lat['threads']}t: {s:.2f}x)")
    return out
