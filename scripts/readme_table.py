#!/usr/bin/env python3
"""Prints a run's results.csv as the condensed Markdown table quoted in the README.

    python scripts/readme_table.py saved_models/mnist_prune_quant/quick/results.csv
    python scripts/readme_table.py --macs saved_models/resnet56_prune_quant/quick/results.csv

Standard library only. ``--macs`` shows MACs, effective MACs and speedup instead of the accuracy
delta and throughput columns; ``--seeds`` prints the mean ± std over seeds of each group;
``--stages`` shows each row's compression (distil > prune > cluster > QAT), its parameters and
what the .tflite holds (zero weights, distinct values per channel). ``--sweep`` prints a
sweep's ``sweep_trials.csv`` (one row per keras-tuner trial).
"""

from __future__ import annotations

import csv
import statistics
import sys


def cells(r: dict[str, str], macs: bool) -> list[str]:
    f = {k: float(v) for k, v in r.items() if _is_number(v)}
    out = [f"`{r['variant']}`", f"{100 * f['tflite_accuracy']:.2f}%"]
    if not macs:
        out.append(f"{f['accuracy_delta_pts']:+.2f}")
    out.append(f"{100 * (1 - f['sparsity']):.0f}%")
    if macs:
        out += [f"{f['macs'] / 1e6:.1f} M", f"{f['effective_macs'] / 1e6:.1f} M"]
    ms = (lambda k: f"{f[k]:.3f}" if k in f else "-")  # noqa: E731  (2t: if measured)
    out += [f"{f['tflite_gzip_bytes'] / 1024:,.0f} KiB", f"{f['gzip_x_smaller']:.2f}x",
            ms("p50_ms_1t"), ms("p95_ms_1t"), ms("p50_ms_2t")]
    out.append(f"{f['speedup_p50']:.2f}x" if macs else
               f"{f.get('images_per_s_2t', f.get('images_per_s_1t', 0)):,.0f}")
    out.append(r["notes"].split(":")[0])
    return out


def _is_number(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def seeds_table(rows: list[dict[str, str]]) -> list[str]:
    """Variants repeated over seeds (same ``group``): mean ± std of accuracy and errors."""
    groups: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    out = ["| configuration | compression | seeds | TFLite acc (mean ± std) | test errors |",
           "|---|---|---|---|---|"]
    for name, rs in groups.items():
        if len(rs) < 2:
            continue
        acc = [100 * float(r["tflite_accuracy"]) for r in rs]
        err = [float(r["test_errors"]) for r in rs]
        out.append(f"| `{name}` | {rs[0].get('compression', rs[0]['pruning'])} | {len(rs)} | "
                   f"{statistics.mean(acc):.2f} ± {statistics.stdev(acc):.2f}% | "
                   f"{statistics.mean(err):.1f} ± {statistics.stdev(err):.1f} |")
    return out


def stages_table(rows: list[dict[str, str]]) -> list[str]:
    out = ["| variant | compression | export | Keras acc | TFLite acc | Δ pts | params | zero "
           "weights in file | values per channel | gzip | × smaller | p50 ms 1t |",
           "|" + "---|" * 12]
    for r in rows:
        f = {k: float(v) for k, v in r.items() if _is_number(v)}
        out.append(f"| `{r['variant']}` | {r['compression']} | {r['export_mode']} | "
                   f"{100 * f['keras_accuracy']:.2f}% | "
                   f"{100 * f['tflite_accuracy']:.2f}% | {f['accuracy_delta_pts']:+.2f} | "
                   f"{int(f['params']):,} | "
                   # "-": exported before tfcompress recorded the file's weights
                   + (f"{100 * f['file_weight_sparsity']:.1f}% | "
                      f"{int(f['file_unique_per_channel_max'])} | "
                      if "file_weight_sparsity" in f else "- | - | ") +
                   f"{f['tflite_gzip_bytes'] / 1024:,.0f} KiB | {f['gzip_x_smaller']:.2f}x | "
                   f"{f['p50_ms_1t']:.3f} |")
    return out


def sweep_table(rows: list[dict[str, str]]) -> list[str]:
    """A sweep's trials: the values each set, and what its .tflite measured."""
    fixed = {"trial", "status", "val_accuracy", "accuracy", "gzip_kib", "p95_ms", "p50_ms",
             "sparsity", "score", "meets_budget", "chosen", "seconds", "ran_on", "error"}
    keys = [k for k in rows[0] if k not in fixed] if rows else []
    out = ["| trial | " + " | ".join(k.rsplit(".", 1)[-1] if k != "finetune.epochs"
                                    else "ft epochs" for k in keys)
           + " | val acc | test acc | sparsity | gzip KiB | p95 ms 1t | score | in budget |",
           "|" + "---|" * (len(keys) + 8)]
    for r in rows:
        name = f"**{r['trial']}** (chosen)" if r["chosen"] == "True" else r["trial"]
        values = [r[k] for k in keys]
        if r["status"] != "COMPLETED":
            out.append(f"| {name} | " + " | ".join(values) + f" | {r['status']}: {r['error']}"
                       + " |" * 7)
            continue
        f = {k: float(r[k]) for k in ("val_accuracy", "accuracy", "sparsity", "gzip_kib",
                                      "p95_ms", "score")}
        out.append(f"| {name} | " + " | ".join(values) + f" | {100 * f['val_accuracy']:.2f}% | "
                   f"{100 * f['accuracy']:.2f}% | {100 * f['sparsity']:.1f}% | "
                   f"{f['gzip_kib']:,.0f} | {f['p95_ms']:.3f} | {f['score']:.4f} | "
                   f"{'yes' if r['meets_budget'] == 'True' else 'no'} |")
    return out


def main(argv: list[str]) -> int:
    macs = "--macs" in argv
    seeds = "--seeds" in argv
    stages = "--stages" in argv
    sweep = "--sweep" in argv
    paths = [a for a in argv if a not in ("--macs", "--seeds", "--stages", "--sweep")]
    if len(paths) != 1:
        print("usage: readme_table.py [--macs | --seeds | --stages | --sweep] CSV",
              file=sys.stderr)
        return 2
    try:
        with open(paths[0], newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as e:
        print(f"readme_table: error: {e}", file=sys.stderr)
        return 2
    if sweep:
        print("\n".join(sweep_table(rows)))
        return 0
    if seeds or stages:
        print("\n".join(seeds_table(rows) if seeds else stages_table(rows)))
        return 0
    head = ["variant", "TFLite acc"] + ([] if macs else ["Δ pts"]) + ["non-zeros"]
    head += ["MACs", "effective MACs"] if macs else []
    head += ["gzip", "× smaller", "p50 ms 1t", "p95 ms 1t", "p50 ms 2t"]
    head += ["speedup 1t" if macs else "img/s 2t", "notes"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(cells(r, macs)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
