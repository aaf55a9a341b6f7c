"""The run's benchmark: every exported file timed in the same run, interleaved; cached by the
files' content."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tfcompress.benchmark import latency, verdict
from tfcompress.benchmark.memory import peak_rss
import tfcompress.pipeline.provenance as provenance
from tfcompress.progress import progress
from tfcompress.quantize.serving import prepare_for

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.pipeline.context import RunContext
    from tfcompress.pipeline.runner import Artifact

log = logging.getLogger("tfcompress")


@dataclass(frozen=True)
class Measured:
    """What the benchmark measured: per variant ``latency`` and ``throughput`` per thread
    count (and ``batches``, ``memory`` when asked), and the load averages around it."""

    of: dict[str, dict[str, Any]]
    load_average: dict[str, list[float] | None]
    timed_at: str = ""  # when the files were timed (an earlier run's, when reused)
    reused: bool = False


def measure(ctx: RunContext, data: Dataset, exports: dict[str, Artifact]) -> Measured:
    """Latency (batch 1) and throughput (batch ``throughput_batch``) per variant and threads,
    every file timed interleaved with the others (``latency.measure_all``); then throughput
    at each of ``batches`` and each file's peak memory, if the recipe asks.

    A cached step: the same files (by content), benchmark settings and test images on the same
    machine read the timing made before (``benchmark.reuse=false`` times them again); the
    warnings it raised are raised again."""
    spec = ctx.recipe.benchmark
    contents = {name: (a.path / "model.tflite").read_bytes() for name, a in exports.items()}
    x = data.x_test[:max(1, spec.throughput_batch, *spec.batches)]
    # one run's files all take pixels, or none do
    metas = [getattr(a, "meta", {}) for a in exports.values()]
    if len({prepare_for(m, data) is None for m in metas}) > 1:
        raise RuntimeError("the exported files of one run take different inputs")
    prepare = next((prepare_for(m, data) for m in metas), None)
    x = prepare(x) if prepare is not None else x
    config = {"files": {n: hashlib.sha256(c).hexdigest() for n, c in contents.items()},
              "spec": dataclasses.replace(spec, reuse=True), "machine": provenance.machine(),
              "x": hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest(),
              "x_shape": list(x.shape)}
    fresh: list[bool] = []  # timed in this run (else read from the cache)

    def produce(work: Any) -> dict[str, Any]:
        fresh.append(True)
        return _time(spec, contents, x, exports)

    timed = ctx.runner.run("benchmark", "all variants", config, produce, again=not spec.reuse)
    if not fresh:
        log.info("[benchmark] the same files were timed on this machine at %s: reusing that "
                 "timing (--benchmark=again times them again)", timed.meta["finished"])
    out = timed.meta["of"]
    for name in exports:
        for threads in spec.threads:
            lat, thr = (out[name][k][str(threads)] for k in ("latency", "throughput"))
            log.info("[benchmark] %s, %d thread(s): p50 %.3f ms, p95 %.3f ms, %.0f images/s",
                     name, threads, lat["p50_ms"], lat["p95_ms"], thr["images_per_s"])
    busy = [line for t in spec.threads  # each thread count on its own: names repeat across them
            for line in verdict.disturbed({name: out[name]["latency"][str(t)]
                                           for name in exports})]
    if busy:
        ctx.warn(f"the benchmark was disturbed: the round medians of {', '.join(busy)} "
                  f"varied by more than {verdict.DISTURBED}x (another process was using "
                  f"the CPU); differences within that noise are reported as the same "
                  f"speed. Rerun on an idle machine for finer comparisons"
                  f"{'' if fresh else ' (--benchmark=again)'}.")
    return Measured(out, timed.meta["load_average"], timed.meta["finished"], not fresh)


def _time(spec, contents: dict[str, bytes], x, exports: dict[str, Artifact]) -> dict[str, Any]:
    """The timing itself: what ``measure`` caches."""
    out: dict[str, dict[str, Any]] = {n: {"latency": {}, "throughput": {}} for n in contents}
    jobs = [(t, kind) for t in spec.threads for kind in ("latency", "throughput")]
    load_average = {"before_benchmark": provenance.load_average()}
    for threads, kind in progress(jobs, desc="benchmarking", unit="pass"):
        batch = 1 if kind == "latency" else spec.throughput_batch
        measured = latency.measure_all(contents, x, spec, threads, batch=batch)
        for name, lat in measured.items():
            out[name][kind][str(threads)] = lat.to_dict()
    for batch in progress(spec.batches, desc="throughput by batch", unit="batch size"):
        # min_runs counts batch-1 invokes: a large batch needs fewer (still >= 1 per round)
        sweep = dataclasses.replace(spec, min_runs=max(spec.rounds, -(-spec.min_runs // batch)))
        measured = latency.measure_all(contents, x, sweep, spec.threads[0], batch=batch)
        for name, lat in measured.items():
            out[name].setdefault("batches", {})[str(batch)] = lat.to_dict()
    if spec.memory:
        for name, a in progress(list(exports.items()), desc="peak memory", unit="file"):
            out[name]["memory"] = peak_rss(a.path / "model.tflite")
    load_average["after_benchmark"] = provenance.load_average()
    return {"of": out, "load_average": load_average}
