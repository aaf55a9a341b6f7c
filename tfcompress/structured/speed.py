"""A speed target (``prune.target_speedup``): how much to remove for the exported file to run
at least that much faster than the dense file of the same format, found by measuring.

The removal is one scalar ``level`` (the share of channels removed: every group's ratio with
``uniform``; with ``sensitivity`` their channel-weighted mean before each is capped, so it can
exceed 1 at the top of the search; ``allocate``). Latency depends
on the widths, not on the weights' values, so no training happens during the search: each
probe rebuilds the model at a level, converts it to the variant's TFLite format and times it
against the dense file, interleaved (``benchmark.latency.measure_all``, the report's own
benchmark), and a bisection keeps the smallest level whose median speedup over the rounds
reaches the target with a margin of ``MARGIN`` (the benchmark's 5% noise floor): the report
times the shipped file again among the run's other files, and that second measurement of the
same file has come out about that much lower (MobileNet int8 at 168x168: 1.66x in the search,
1.57x in the report). Before any of that, ``bound`` refuses a target beyond what removing every
removable channel could give in multiply-adds (latency never falls faster than MACs here).

``measure`` is the one place that times files: tests replace it with a function of the two
files (so no test depends on the machine's speed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tfcompress.benchmark.verdict import MIN_EFFECT
from tfcompress.errors import InputError

log = logging.getLogger("tfcompress")

#: bisection steps after the first probe at the cap (``prune.search_steps``' default): the
#: level is found to cap / 2**STEPS
STEPS = 6
#: how far above the target a probe must measure to be kept: the smallest difference the
#: report's benchmark claims (``verdict.MIN_EFFECT``)
MARGIN = MIN_EFFECT


@dataclass(frozen=True)
class Probe:
    level: float
    speedup: float  #: median over the rounds of dense p50 / candidate p50
    low: float  #: the smallest per-round speedup
    high: float  #: the largest per-round speedup
    macs: int

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "speedup": self.speedup, "low": self.low,
                "high": self.high, "macs": self.macs}


@dataclass
class Search:
    """What the search found: the level kept, every probe, and its cost in wall time."""

    target: float
    format: str
    level: float = 0.0
    aimed: float = 0.0  #: what a kept probe had to measure: target * (1 + MARGIN)
    probes: list[Probe] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def reached(self) -> Probe:
        return next(p for p in self.probes if p.level == self.level)

    def to_dict(self) -> dict[str, Any]:
        r = self.reached
        return {"target": self.target, "aimed": self.aimed, "format": self.format,
                "level": self.level, "reached": r.speedup, "reached_low": r.low,
                "reached_high": r.high,
                "probes": [p.to_dict() for p in self.probes], "seconds": self.seconds,
                "measured_on": "this machine's CPU, 1 thread (a phone's speedup may differ)"}


def measure(dense: bytes, candidate: bytes, x: np.ndarray, bench: Any) -> tuple[float, ...]:
    """(median, lowest, highest) per-round speedup of ``candidate`` over ``dense``: both timed
    interleaved on one thread, as the report times its files."""
    from tfcompress.benchmark import latency, verdict

    times = latency.measure_all({"dense": dense, "candidate": candidate}, x, bench, threads=1)
    s = verdict.compare(times["candidate"].round_p50_ms, times["dense"].round_p50_ms)
    return s.speedup, 1.0 / s.high, 1.0 / s.low


def bound(dense_macs: int, smallest_macs: int, target: float, cap: float) -> None:
    """Refuses (one line) a target no removal allowed by ``cap`` can reach: latency here
    never falls faster than multiply-adds, and at most ``dense / smallest`` of those go."""
    best = dense_macs / max(1, smallest_macs)
    if target > best:
        raise InputError(f"prune.target_speedup={target:g} cannot be reached: removing "
                         f"{cap:.0%} of every prunable channel group leaves {smallest_macs:,} "
                         f"of {dense_macs:,} MACs, at most {best:.2f}x fewer; ask for at "
                         f"most {best:.2f}, raise prune.target_sparsity (the most any group "
                         f"may lose) or prune fewer layers in prune.skip")


def search(target: float, cap: float, fmt: str, build: Callable[[float], Any],
           export: Callable[[Any], bytes], dense: bytes, x: np.ndarray, bench: Any,
           count_macs: Callable[[Any], int], steps: int = STEPS) -> Search:
    """The smallest level in (0, cap] whose exported file is at least ``target`` times faster
    than ``dense`` with the ``MARGIN`` (median over the benchmark's rounds; ``cap`` itself
    when only the target without the margin is reached there); ``cap``: the level at which
    every group loses the most it may.

    Args:
      build: level -> the rebuilt model (untrained widths are enough to time it).
      export: model -> its TFLite file in the variant's format.
      steps: bisection steps after the first probe (``prune.search_steps``).
    """
    start = time.monotonic()
    found = Search(target=target, format=fmt, aimed=target * (1 + MARGIN))

    def probe(level: float) -> Probe:
        model = build(level)
        speedup, low, high = measure(dense, export(model), x, bench)
        p = Probe(level, float(speedup), float(low), float(high), int(count_macs(model)))
        found.probes.append(p)
        log.info("[prune] speed target %.2fx (%s): removal level %.2f -> %.2fx "
                 "(rounds %.2f-%.2fx), %.1f M MACs", target, fmt, level, p.speedup,
                 p.low, p.high, p.macs / 1e6)
        return p

    top = probe(cap)
    if top.speedup < target:
        raise InputError(f"prune.target_speedup={target:g} was not reached: with every "
                         f"prunable channel group losing the most it may (prune."
                         f"target_sparsity), the {fmt} file runs {top.speedup:.2f}x faster, "
                         f"measured on this machine; ask for at most {top.speedup:.2f} or "
                         f"raise prune.target_sparsity")
    lo, hi = 0.0, cap
    for _ in range(steps):
        mid = round((lo + hi) / 2, 4)
        if probe(mid).speedup >= found.aimed:
            hi = mid
        else:
            lo = mid
    found.level = hi
    found.seconds = time.monotonic() - start
    return found
