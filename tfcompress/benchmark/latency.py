"""Latency and throughput of a TFLite model with the LiteRT interpreter on the CPU.

Only ``invoke()`` is timed: the input tensor is set once before the loop (it persists across
invokes), so Python-side copies do not blur sub-millisecond models.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from tfcompress.litert import LiteModel

if TYPE_CHECKING:
    from tfcompress.recipe import BenchmarkSpec

MAX_RUNS = 200_000  # a bound for microsecond models with a large min_seconds


@dataclass(frozen=True)
class Latency:
    """Per-invoke wall time, in milliseconds, over ``runs`` timed invokes at ``batch``."""

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

    @property
    def images_per_s(self) -> float:
        return self.batch / (self.mean_ms / 1e3) if self.mean_ms > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "images_per_s": self.images_per_s}


def summarize(times_ns: np.ndarray, threads: int, batch: int) -> Latency:
    ms = np.asarray(times_ns, dtype=np.float64) / 1e6
    p50, p90, p95, p99 = np.percentile(ms, [50, 90, 95, 99])
    return Latency(threads=threads, batch=batch, runs=int(ms.size), mean_ms=float(ms.mean()),
                   std_ms=float(ms.std(ddof=1)) if ms.size > 1 else 0.0,
                   min_ms=float(ms.min()), p50_ms=float(p50), p90_ms=float(p90),
                   p95_ms=float(p95), p99_ms=float(p99))


def measure(content: bytes, x: np.ndarray, spec: BenchmarkSpec, threads: int,
            batch: int = 1) -> Latency:
    """Times ``content`` on the first ``batch`` rows of ``x`` with ``threads`` CPU threads.

    Warm-up runs first (XNNPACK packs weights on the first invoke), then at least
    ``spec.min_runs`` timed invokes and at least ``spec.min_seconds`` of them.
    """
    if len(x) < batch:
        x = np.resize(x, (batch, *x.shape[1:]))
    model = LiteModel(content, num_threads=threads)
    xq = model.quantize_input(x[:batch])
    model.resize(batch)
    interp = model.interpreter
    interp.set_tensor(model.input["index"], xq)
    for _ in range(spec.warmup_runs):
        interp.invoke()
    times = []
    clock = time.perf_counter_ns
    deadline = clock() + int(spec.min_seconds * 1e9)
    while len(times) < spec.min_runs or (clock() < deadline and len(times) < MAX_RUNS):
        t0 = clock()
        interp.invoke()
        times.append(clock() - t0)
    return replace(summarize(np.array(times), threads, batch), xnnpack=model.xnnpack)
