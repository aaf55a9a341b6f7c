#!/usr/bin/env python3
"""Every registered experiment at the tiny profile, reduced to what must not change when the code
is reshaped: per variant its accuracies, sizes, parameters, non-zeros and MACs (no timings).

    python scripts/tiny_snapshot.py OUT.json [--only NAME ...]     # run and write
    python scripts/tiny_snapshot.py --compare BEFORE.json AFTER.json  # differences, exit 1 if any

Run it on the commit before a refactoring (``git worktree add``) and after; ``--compare``
lists every field that differs. Reads the datasets from ``$TFCOMPRESS_DATA_DIR``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile

FIELDS = ("keras_accuracy", "tflite_accuracy", "params", "nonzero_params", "sparsity",
          "tflite_bytes", "tflite_gzip_bytes", "macs", "effective_macs")


def snapshot(names: list[str]) -> dict[str, dict[str, dict[str, object]]]:
    import tfcompress

    out = {}
    names = names or tfcompress.experiment_names()
    for i, name in enumerate(names, 1):
        print(f"[{i}/{len(names)}] {name}", file=sys.stderr, flush=True)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                result = tfcompress.run(name, profile="tiny", output_dir=tmp,
                                        overrides={"benchmark.threads": [1]})
                out[name] = {r.variant: {k: r.columns().get(k) for k in FIELDS}
                             for r in result.rows}
        except Exception as e:  # noqa: BLE001 (a failing experiment is a finding, not a stop)
            out[name] = {"error": f"{type(e).__name__}: {e}"}
    return out


def compare(before: dict, after: dict) -> list[str]:
    diffs = []
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name), after.get(name)
        if a != b:
            if a is None or b is None or set(a) != set(b):
                diffs.append(f"{name}: variants {sorted(a or [])} -> {sorted(b or [])}")
                continue
            if "error" in a:  # the experiment failed both times, with other words
                diffs.append(f"{name}: error {a['error']!r} -> {b['error']!r}")
                continue
            for variant in a:
                for field in set(a[variant]) | set(b[variant]):
                    if a[variant].get(field) != b[variant].get(field):
                        diffs.append(f"{name}/{variant}.{field}: {a[variant].get(field)} -> "
                                     f"{b[variant].get(field)}")
    return diffs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?")
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        try:
            before, after = (json.loads(open(p).read()) for p in args.compare)
        except (OSError, ValueError) as e:
            print(f"tiny_snapshot: error: {e}", file=sys.stderr)
            return 2
        diffs = compare(before, after)
        print("\n".join(diffs) or f"identical: {len(before)} experiments")
        return 1 if diffs else 0
    if not args.out:
        parser.error("give OUT.json, or --compare BEFORE AFTER")
    taken = snapshot(args.only)  # the file is written only once every experiment ran
    with open(args.out, "w") as f:
        json.dump(taken, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
