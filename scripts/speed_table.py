#!/usr/bin/env python3
"""Prints the speed-target table of a run (issue 28's ablation): each variant's accuracy
against the dense file of its format, the speedup its search measured and the one its shipped
file reached after recovery (lowest-highest round), MACs, p50, and the wall time of its step
(``cached`` when this run took it from the step cache).

    python scripts/speed_table.py saved_models/user_model_fast/quick

Standard library only; reads ``results.json`` and ``run.json`` of the run folder.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def table(run: Path) -> list[str]:
    saved = json.loads((run / "results.json").read_text())
    rows = {r["variant"]: r for r in saved["rows"]}
    steps = {s["name"]: s for s in json.loads((run / "run.json").read_text())["steps"]}
    out = ["| variant | compression | TFLite acc | Δ pts vs dense | MACs | p50 ms 1t | "
           "speedup (rounds) | search: removed (or image side), measured | step wall time |",
           "|---|---|---|---|---|---|---|---|---|"]
    for v in saved["variants"]:
        r = rows[v["variant"]]
        ref = rows[r["reference"]]
        found = (v.get("source") or {}).get("speed_target")
        step = steps.get((v.get("source") or {}).get("name") or "", {})
        side = (v.get("source") or {}).get("input_side")
        removed = f"image {side[1]}x{side[1]}" if side else \
            f"{found['removed']:.0%}" if found else ""
        search = (f"{removed}, {found['reached']:.2f}x "
                  f"({len(found['probes'])} probes, {found['seconds']:.0f} s)"
                  if found else "-")
        speed = (f"{r['speedup_vs_reference']:.2f}x ({r['speedup_vs_reference_low']:.2f}-"
                 f"{r['speedup_vs_reference_high']:.2f})" if r is not ref else "1.00x")
        wall = ("-" if not v.get("prune") or not step else
                "cached" if step.get("cached") else f"{step['seconds'] / 60:.1f} min")
        out.append(
            f"| `{r['variant']}` | {r['compression']} | {100 * r['tflite_accuracy']:.2f}% | "
            f"{100 * (r['tflite_accuracy'] - ref['tflite_accuracy']):+.2f} "
            f"(`{ref['variant']}`) | {r['macs'] / 1e6:.1f} M | {r['p50_ms_1t']:.3f} | {speed} | "
            f"{search} | {wall} |")
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not (Path(argv[0]) / "results.json").is_file():
        print("usage: speed_table.py RUN_FOLDER (the folder with results.json and run.json)",
              file=sys.stderr)
        return 2
    print("\n".join(table(Path(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
