#!/usr/bin/env python3
"""Do speed claims survive a busy machine? Two copies of the same .tflite, and ResNet-56 dense vs
filter-pruned, timed while other processes load the CPU in bursts.

Each trial times the four files twice: one after another (how tfcompress timed them before:
a burst of load that falls on one file reads as a difference between models) and interleaved
in rounds (``tfcompress.benchmark.latency.measure_all``), judged by
``tfcompress.benchmark.verdict``. Prints one line per trial and method, then a summary.

    python scripts/bench_noise.py                  # 2 loaders, 5 trials, 1 thread
    python scripts/bench_noise.py --load=0         # the same on an idle machine

Models have random weights (latency does not depend on them); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np

# Bursts of work and rest of random length, so the load changes while files are timed; each
# loader stops by itself after --seconds at the latest.
LOADER = """
import random, sys, time
end = time.time() + float(sys.argv[1])
rng = random.Random(int(sys.argv[2]))
while time.time() < end:
    busy = time.time() + rng.uniform(0.05, 0.8)
    while time.time() < busy:
        sum(i * i for i in range(2000))
    time.sleep(rng.uniform(0.0, 0.6))
"""


def models() -> dict[str, bytes]:
    """ResNet-56 (CIFAR, random weights) as float32 TFLite, dense and with half of every
    prunable channel group removed (L1 filter pruning), plus a byte-identical copy of dense."""
    from tfcompress import models as zoo
    from tfcompress._keras import keras
    from tfcompress.quantize import tflite
    from tfcompress.recipe import ExportSpec
    from tfcompress.structured import criteria, graph, rebuild

    keras.utils.set_random_seed(0)
    dense = zoo.build("resnet56", (32, 32, 3), 10, {})
    a = graph.analyse(dense)
    groups = list(a.prunable())
    keep = criteria.select(criteria.scores(dense, a, "l1", groups), 0.5)
    pruned = rebuild.rebuild(dense, a, keep)
    spec = ExportSpec("float32")
    dense_file = tflite.convert(dense, spec)
    return {"dense_copy_a": dense_file, "dense_copy_b": bytes(dense_file),
            "resnet56_dense": dense_file, "resnet56_filters50": tflite.convert(pruned, spec)}


def sequential(files, x, spec, threads):
    """The old way: each file timed in one block, one after another."""
    from tfcompress.benchmark.latency import measure

    one = replace(spec, rounds=1)
    return {name: measure(content, x, one, threads) for name, content in files.items()}


def old_verdict(a: float, b: float) -> str:
    """The old rule: p50 below 0.95x of the reference is faster, above 1/0.95x slower."""
    r = a / b
    return "faster" if r < 0.95 else "slower" if r > 1 / 0.95 else "same"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=int, default=2, help="CPU-loading processes (0: none)")
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per file")
    args = parser.parse_args()
    if min(args.trials, args.threads, args.rounds) < 1 or args.load < 0 or args.seconds <= 0:
        print("bench_noise: error: --trials, --threads, --rounds must be >= 1, --load >= 0, "
              "--seconds > 0", file=sys.stderr)
        return 2

    from tfcompress.benchmark import verdict
    from tfcompress.benchmark.latency import measure_all
    from tfcompress.pipeline import machine
    from tfcompress.recipe import BenchmarkSpec

    files = models()
    x = np.random.default_rng(0).uniform(0, 1, (1, 32, 32, 3)).astype(np.float32)
    spec = BenchmarkSpec(threads=(args.threads,), warmup_runs=20, min_runs=50,
                         min_seconds=args.seconds, rounds=args.rounds)
    pairs = [("dense_copy_a", "dense_copy_b"), ("resnet56_filters50", "resnet56_dense")]
    budget = args.trials * (2 * len(files) * args.seconds + 30) + 60
    loaders = [subprocess.Popen([sys.executable, "-c", LOADER, str(budget), str(i)])
               for i in range(args.load)]
    print(f"# {machine()['cpu']}, {machine()['cores']} cores; {args.load} loader(s), "
          f"{args.threads} thread(s), {args.rounds} rounds, {args.seconds:g} s per file")
    print("| trial | method | pair | p50 ratio | per-round ratios | verdict |")
    print("|---|---|---|---|---|---|")
    tally: dict[tuple[str, str], list[str]] = {}
    try:
        for trial in range(1, args.trials + 1):
            seq = sequential(files, x, spec, args.threads)
            inter = measure_all(files, x, spec, args.threads)
            for a, b in pairs:
                r = seq[a].p50_ms / seq[b].p50_ms
                said = old_verdict(seq[a].p50_ms, seq[b].p50_ms)
                tally.setdefault(("one after another", a), []).append(said)
                print(f"| {trial} | one after another | {a} vs {b} | {r:.3f} | - | {said} |")
                s = verdict.compare(inter[a].round_p50_ms, inter[b].round_p50_ms)
                tally.setdefault(("interleaved", a), []).append(s.verdict)
                rounds = " ".join(f"{p / q:.2f}" for p, q in
                                  zip(inter[a].round_p50_ms, inter[b].round_p50_ms))
                print(f"| {trial} | interleaved | {a} vs {b} | {s.ratio:.3f} | {rounds} | "
                      f"{s.label()} |")
            busy = verdict.disturbed({n: lat.to_dict() for n, lat in inter.items()})
            if busy:
                print(f"|  | | disturbed: {', '.join(busy)} | | | |")
    finally:
        for p in loaders:
            p.kill()
        for p in loaders:
            p.wait()
        time.sleep(0.1)
    print("\nSummary (verdicts over trials):")
    for (method, a), said in tally.items():
        counts = {v: said.count(v) for v in ("faster", "same", "slower") if said.count(v)}
        print(f"- {method}, {a}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
