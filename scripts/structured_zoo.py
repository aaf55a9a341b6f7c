#!/usr/bin/env python3
"""Structured pruning on every ``keras.applications`` family (``tfcompress.structured.zoo``):
random weights, a small input, 40% of every prunable channel group removed by the ``filters``
selection; prints one row per family (prunable channels, MACs before/after, whether the
function is preserved, the layers that froze channels; the MACs are also counted by
TensorFlow's profiler) and exits 1 when a family that prunes changes its function.

    python scripts/structured_zoo.py                 # tf_keras
    python scripts/structured_zoo.py --keras=3       # Keras 3's keras.applications
    python scripts/structured_zoo.py --family=ConvNeXt --family=RegNet --json=zoo.json
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keras", choices=("2", "3"), default="2")
    ap.add_argument("--family", action="append", default=None)
    ap.add_argument("--ratio", type=float, default=0.4)
    ap.add_argument("--json", default=None, help="also write the rows to this file")
    args = ap.parse_args()

    from tfcompress.structured import zoo

    if args.keras == "3":
        from tfcompress._keras3 import keras
    else:
        from tfcompress._keras import keras
    families = args.family or list(zoo.FAMILIES)
    unknown = sorted(set(families) - set(zoo.FAMILIES))
    if unknown:
        print(f"--family: unknown {unknown}; allowed: {', '.join(zoo.FAMILIES)}",
              file=sys.stderr)
        return 2
    rows, bad = [], 0
    print(f"| family ({'Keras 3' if args.keras == '3' else 'tf_keras'}) | prunable channels "
          f"| MACs before | TF profiler | MACs after | params after | max rel. diff | preserved | "
          f"stopped by |")
    print("|---|---|---|---|---|---|---|---|---|")
    for family in families:
        if family not in zoo.available(keras):
            rows.append({"family": family, "missing": True})
            print(f"| {zoo.FAMILIES[family][0]} | not in this Keras | | | | | | | |")
            continue
        try:
            model = zoo.build(keras, family)
            zoo.randomize(model)
            r = zoo.check(model, ratio=args.ratio)
        except Exception as e:  # noqa: BLE001 (a crash is a row of the table, not the end)
            traceback.print_exc(file=sys.stderr)
            rows.append({"family": family, "error": f"{type(e).__name__}: {e}"})
            print(f"| {family} | crash: {type(e).__name__}: {str(e)[:80]} | | | | | | no | |")
            bad += 1
            continue
        ok = zoo.preserved(r)
        bad += r["removed"] > 0 and not ok
        rows.append({"family": family, "model": zoo.FAMILIES[family][0], **r,
                     "preserved": ok})
        stopped = "; ".join(r["stopped_by"][:3]) + (" ..." if len(r["stopped_by"]) > 3 else "")
        print(f"| {zoo.FAMILIES[family][0]} | {r['prunable']:,} of {r['channels']:,} | "
              f"{r['macs_before'] / 1e6:.2f} M | "
              f"{'same' if r['macs_tensorflow'] == r['macs_before'] else r['macs_tensorflow']} | "
              f"{r['macs_after'] / 1e6:.2f} M "
              f"({100 * (r['macs_after'] / r['macs_before'] - 1):+.0f}%) | "
              f"{r['params_after'] / r['params_before']:.2f}x | {r['max_rel_diff']:.1e} | "
              f"{'yes' if ok else 'no'} | {stopped} |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
