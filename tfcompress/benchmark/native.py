"""Cross-check of our latency harness against ``litert-benchmark`` (ships with ai-edge-litert).

``litert-benchmark`` runs the model through LiteRT's CompiledModel API rather than the
Interpreter, with random inputs, and reports milliseconds rounded to 0.01: a second, independent
measurement of the same file. Usage::

    python -m tfcompress.benchmark.native saved_models/mnist_prune_quant/quick/tflite/*.tflite
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tfcompress.errors import InputError
from tfcompress.recipe import BenchmarkSpec

TOOL = "litert-benchmark"


def tool_path() -> str:
    """The ``litert-benchmark`` executable next to this interpreter, or on PATH."""
    beside = Path(sys.executable).with_name(TOOL)
    found = str(beside) if beside.exists() else shutil.which(TOOL)
    if not found:
        raise InputError(f"{TOOL} not found next to {sys.executable} or on PATH; "
                         f"install ai-edge-litert")
    return found


def run(path: str | Path, threads: int = 1, runs: int = 200, warmup: int = 20) -> dict[str, Any]:
    """Runs ``litert-benchmark`` on one file; returns its ``latency`` section (ms)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        subprocess.run([tool_path(), f"--model={path}", f"--num_threads={threads}",
                        f"--num_runs={runs}", f"--warmup_runs={warmup}",
                        f"--result_json={out}"],
                       check=True, capture_output=True, text=True)
        return json.loads(out.read_text())["latency"]


def crosscheck(paths: list[Path], threads: int = 1, runs: int = 200) -> list[dict[str, Any]]:
    """Our harness and the native tool on the same files, one row per file."""
    import numpy as np

    from tfcompress.benchmark.latency import measure
    from tfcompress.litert import LiteModel

    spec = BenchmarkSpec(threads=(threads,), warmup_runs=20, min_runs=runs, min_seconds=0.0)
    rows = []
    for path in paths:
        content = Path(path).read_bytes()
        shape = [1, *LiteModel(content).input["shape"][1:]]
        x = np.random.default_rng(0).uniform(0, 1, shape).astype(np.float32)
        ours = measure(content, x, spec, threads)
        theirs = run(path, threads, runs)
        rows.append({"file": str(path), "threads": threads,
                     "ours_p50_ms": ours.p50_ms, "ours_mean_ms": ours.mean_ms,
                     "native_median_ms": theirs["median_ms"], "native_avg_ms": theirs["avg_ms"],
                     "ratio_p50": ours.p50_ms / theirs["median_ms"]
                     if theirs["median_ms"] else float("nan")})
    return rows


def main(argv: list[str]) -> int:
    paths = [Path(p) for p in argv[1:]]
    if not paths or any(not p.is_file() for p in paths):
        print(f"usage: python -m tfcompress.benchmark.native FILE.tflite [...] "
              f"(received {argv[1:]})", file=sys.stderr)
        return 2
    print(f"{'file':28s} {'threads':>7s} {'ours p50 ms':>11s} {'native median ms':>16s} "
          f"{'ratio':>6s}")
    for threads in (1, 2):
        for row in crosscheck(paths, threads=threads):
            print(f"{Path(row['file']).name:28s} {threads:7d} {row['ours_p50_ms']:11.3f} "
                  f"{row['native_median_ms']:16.2f} {row['ratio_p50']:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
