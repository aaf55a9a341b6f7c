"""Latency and throughput of TFLite models with the LiteRT interpreter on the CPU.

Only ``invoke()`` is timed: the input tensor is set once before the loop (it persists across
invokes), so Python-side copies do not blur sub-millisecond models.

Files compared with each other are timed *interleaved*: in rounds, each round timing a block of
invokes of every file in turn (alternating the order), so a change in the machine's load lands
on all of them alike instead of reading as a difference between models. Each round's median is
kept, and ``tfcompress.benchmark.verdict`` judges a difference against their spread.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from tfcompress.litert import LiteModel

if TYPE_CHECKING:
    from tfcompress.recipe import BenchmarkSpec

MAX_RUNS = 200_000  # a bound for microsecond models with a large min_seconds


@dataclass(frozen=True)
class Latency:
    """Per-invoke wall time, in milliseconds, over ``runs`` timed invokes at ``batch``;
    ``round_p50_ms`` holds the median of each round (one round: one value)."""

    threads: int
    batch: int
    runs: int
    mean_ms: float
    std_ms: float
    min_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    xnnpack: bool = True
    round_p50_ms: tuple[float, ...] = ()

    @property
    def images_per_s(self) -> float:
        return self.batch / (self.mean_ms / 1e3) if self.mean_ms > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "round_p50_ms": list(self.round_p50_ms),
                "images_per_s": self.images_per_s}

    @classmethod
    def of(cls, d: Mapping[str, Any]) -> Latency:
        """The ``Latency`` a ``to_dict`` wrote (a cached timing, ``results.json``)."""
        return cls(**{k: d[k] for k in _REQUIRED},
                   **{k: d[k] for k in _OPTIONAL if k in d and k != "round_p50_ms"},
                   round_p50_ms=tuple(d.get("round_p50_ms") or ()))


_REQUIRED = ("threads", "batch", "runs", "mean_ms", "std_ms", "min_ms", "p50_ms", "p90_ms",
             "p95_ms", "p99_ms")
_OPTIONAL = ("xnnpack", "round_p50_ms")


def summarize(times_ns: np.ndarray, threads: int, batch: int) -> Latency:
    ms = np.asarray(times_ns, dtype=np.float64) / 1e6
    p50, p90, p95, p99 = np.percentile(ms, [50, 90, 95, 99])
    return Latency(threads=threads, batch=batch, runs=int(ms.size), mean_ms=float(ms.mean()),
                   std_ms=float(ms.std(ddof=1)) if ms.size > 1 else 0.0,
                   min_ms=float(ms.min()), p50_ms=float(p50), p90_ms=float(p90),
                   p95_ms=float(p95), p99_ms=float(p99))


def measure(content: bytes, x: np.ndarray, spec: BenchmarkSpec, threads: int,
            batch: int = 1) -> Latency:
    """Times one file: ``measure_all`` with nothing to interleave it with."""
    return measure_all({"model": content}, x, spec, threads, batch)["model"]


def measure_all(contents: Mapping[str, bytes], x: np.ndarray, spec: BenchmarkSpec,
                threads: int, batch: int = 1) -> dict[str, Latency]:
    """Times every file in ``contents`` on the first ``batch`` rows of ``x`` with ``threads``
    CPU threads, interleaved over ``spec.rounds`` rounds.

    Warm-up runs first (XNNPACK packs weights on the first invoke); then each file gets at
    least ``spec.min_runs`` timed invokes and ``spec.min_seconds`` in all, split evenly over
    the rounds.
    """
    if len(x) < batch:
        x = np.resize(x, (batch, *x.shape[1:]))
    models = {}
    for name, content in contents.items():
        model = LiteModel(content, num_threads=threads)
        xq = model.quantize_input(x[:batch])
        model.resize(batch)
        model.interpreter.set_tensor(model.input["index"], xq)
        for _ in range(spec.warmup_runs):
            model.interpreter.invoke()
        models[name] = model
    rounds = min(spec.rounds, spec.min_runs)  # every round times at least one invoke
    runs = [spec.min_runs // rounds + (r < spec.min_runs % rounds) for r in range(rounds)]
    seconds = spec.min_seconds / rounds
    times: dict[str, list[np.ndarray]] = {name: [] for name in models}
    order = list(models)
    for r in range(rounds):
        for name in (order if r % 2 == 0 else order[::-1]):
            times[name].append(_block(models[name].interpreter, runs[r], seconds,
                                      MAX_RUNS // rounds))
    out = {}
    for name, blocks in times.items():
        lat = summarize(np.concatenate(blocks), threads, batch)
        out[name] = replace(lat, xnnpack=models[name].xnnpack,
                            round_p50_ms=tuple(float(np.median(b)) / 1e6 for b in blocks))
    return out


def _block(interp: Any, runs: int, seconds: float, max_runs: int) -> np.ndarray:
    """At least ``runs`` timed invokes and ``seconds`` of them (at most ``max_runs``)."""
    times = []
    clock = time.perf_counter_ns
    deadline = clock() + int(seconds * 1e9)
    while len(times) < runs or (clock() < deadline and len(times) < max_runs):
        t0 = clock()
        interp.invoke()
        times.append(clock() - t0)
    return np.array(times)
