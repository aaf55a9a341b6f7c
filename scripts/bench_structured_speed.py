#!/usr/bin/env python3
"""What structured pruning buys in CPU time: ResNet50, MobileNetV2 and EfficientNetB0
(``keras.applications``, random weights, 224x224, 1,000 classes) with 0%, 30% and 50% of every
prunable channel group removed (L1 filter norms, ``tfcompress.structured``), each converted to
float32 and int8 TFLite and timed by the LiteRT interpreter on 1 thread, all files of a model
in the same interleaved rounds. Prints MACs, parameters, p50 and the speed-up against the
unpruned file of the same format, and the spread of the round medians.

    python scripts/bench_structured_speed.py
    python scripts/bench_structured_speed.py --model=MobileNetV2 --size=160 --runs=50

Random weights change nothing in the time of a dense kernel; accuracy is not measured here.
"""

from __future__ import annotations

import argparse
import sys

MODELS = ("ResNet50", "MobileNetV2", "EfficientNetB0")
RATIOS = (0.0, 0.3, 0.5)


def pruned(model, ratio: float):
    from tfcompress.structured import criteria, flatten, graph, rebuild

    flat = flatten.flatten(model)
    a = graph.analyse(flat)
    if not ratio:
        return flat
    chosen = list(a.prunable())
    keep = criteria.select(criteria.scores(flat, a, "l1", chosen), ratio,
                           split={g: a.groups[g].split for g in chosen})
    return rebuild.rebuild(flat, a, keep)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", choices=MODELS, default=None)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--runs", type=int, default=30, help="timed invokes per file (at least)")
    ap.add_argument("--seconds", type=float, default=3.0, help="timed seconds per file")
    args = ap.parse_args()

    import numpy as np

    from tfcompress._keras import keras
    from tfcompress.benchmark import latency, macs
    from tfcompress.quantize import tflite
    from tfcompress.recipe import BenchmarkSpec, ExportSpec

    spec = BenchmarkSpec(threads=(1,), warmup_runs=3, min_runs=args.runs,
                         min_seconds=args.seconds)
    x = np.random.default_rng(0).uniform(0, 1, (16, args.size, args.size, 3)).astype("float32")
    print(f"LiteRT interpreter, 1 thread, batch 1, {args.size}x{args.size}; p50 over at least "
          f"{args.runs} runs in {spec.rounds} interleaved rounds; speed-up vs 0% of the same "
          f"format")
    print("| model | channels removed | MACs | params | float32 p50 ms | speed-up | "
          "int8 p50 ms | speed-up | round spread (max/min of round p50s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.model or MODELS:
        keras.utils.set_random_seed(0)
        base = getattr(keras.applications, name)(weights=None,
                                                 input_shape=(args.size, args.size, 3))
        files, facts = {}, {}
        for ratio in RATIOS:
            model = pruned(base, ratio)
            facts[ratio] = (macs.count(model)["macs"], model.count_params())
            files[(ratio, "float32")] = tflite.convert(model, ExportSpec("float32"))
            files[(ratio, "int8")] = tflite.convert(
                model, ExportSpec("int8", calibration_samples=16, io="float32"), x)
        times = latency.measure_all(files, x, spec, threads=1)
        for ratio in RATIOS:
            row = [name, f"{ratio:.0%}", f"{facts[ratio][0] / 1e6:,.0f} M",
                   f"{facts[ratio][1] / 1e6:.2f} M"]
            spread = []
            for fmt in ("float32", "int8"):
                t = times[(ratio, fmt)]
                ref = times[(0.0, fmt)]
                row += [f"{t.p50_ms:.1f}", f"{ref.p50_ms / t.p50_ms:.2f}x"]
                spread.append(max(t.round_p50_ms) / min(t.round_p50_ms))
            row.append(" / ".join(f"{s:.2f}" for s in spread))
            print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
