#!/usr/bin/env python3
"""The Keras 3 native path against the tfmot path: one registered experiment run twice, the
second with ``model.keras=3`` (baseline trained by Keras 3, gradual pruning by
``tfcompress.sparsity``), everything else equal. Prints, per variant, the largest per-layer
sparsity difference, the TFLite accuracies and the gzip sizes, and exits 1 when a variant is
outside the bounds (0.5 point of per-layer sparsity, 0.3 point of TFLite accuracy, 3% gzip).

    python scripts/keras3_parity.py                       # mnist_prune_quant, quick
    python scripts/keras3_parity.py --profile=tiny --experiment=digits_prune_quant

Both runs use the same data, seeds and cache folder (``--output_dir``).
"""

from __future__ import annotations

import argparse
import json
import sys

BOUNDS = {"sparsity_pts": 0.5, "accuracy_pts": 0.3, "gzip_pct": 3.0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", default="mnist_prune_quant")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--output_dir", default="saved_models/keras3_parity")
    ap.add_argument("--data_dir", default=None)
    args = ap.parse_args()

    import tfcompress

    runs = {}
    for keras in ("2", "3"):
        runs[keras] = tfcompress.run(args.experiment, profile=args.profile,
                                     output_dir=f"{args.output_dir}/keras{keras}",
                                     data_dir=args.data_dir,
                                     overrides={"model.keras": keras})
    failed = False
    print(f"{args.experiment} ({args.profile}): tfmot path (tf_keras) vs Keras 3 native path")
    print(f"{'variant':22} {'max layer sparsity diff':>24} {'TFLite acc K2':>14} "
          f"{'TFLite acc K3':>14} {'gzip KiB K2':>12} {'gzip KiB K3':>12} {'gzip diff':>10}")
    layers = {k: {v["variant"]: v["source"].get("layer_sparsity") or {} for v in json.loads(
        (r.run_dir / "results.json").read_text())["variants"]} for k, r in runs.items()}
    for row2 in runs["2"].rows:
        row3 = runs["3"].row(row2.variant)
        layers2, layers3 = layers["2"][row2.variant], layers["3"][row2.variant]
        diff = max((abs(layers2[n]["sparsity"] - layers3[n]["sparsity"]) * 100
                    for n in layers2 if n in layers3), default=0.0)
        acc = abs(row2.tflite_accuracy - row3.tflite_accuracy) * 100
        gz = abs(row3.tflite_gzip_bytes / row2.tflite_gzip_bytes - 1) * 100
        bad = (diff > BOUNDS["sparsity_pts"] or acc > BOUNDS["accuracy_pts"]
               or gz > BOUNDS["gzip_pct"] or set(layers2) != set(layers3))
        failed |= bad
        print(f"{row2.variant:22} {diff:21.2f} pt {row2.tflite_accuracy:14.4f} "
              f"{row3.tflite_accuracy:14.4f} {row2.tflite_gzip_bytes / 1024:12.1f} "
              f"{row3.tflite_gzip_bytes / 1024:12.1f} {gz:9.2f}%"
              + ("  OUTSIDE BOUNDS" if bad else ""))
    print(f"bounds: {BOUNDS}; reports: {runs['2'].report} {runs['3'].report}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
