"""Bar charts of the comparison (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from tfcompress import atomic  # noqa: E402

#: file name -> (row field, axis label, scale)
CHARTS = {
    "accuracy.png": ("tflite_accuracy", "TFLite test accuracy (%)", 100.0),
    "gzip_size.png": ("tflite_gzip_bytes", "gzip size of .tflite (KiB)", 1 / 1024),
    "latency_p95.png": ("p95_ms_1t", "p95 latency, batch 1, 1 thread (ms)", 1.0),
}


#: export mode -> bar colour; pruned variants are hatched.
COLORS = {"float32": "#4c72b0", "dynamic": "#55a868", "int8": "#dd8452"}


def _legend(rows: list[dict[str, Any]]) -> list[Patch]:
    modes = dict.fromkeys(r["export_mode"] for r in rows)
    handles = [Patch(color=COLORS.get(m, "#8c8c8c"), label=m) for m in modes]
    if any(r["pruning"] != "-" for r in rows):
        handles.append(Patch(facecolor="#bbbbbb", hatch="//", edgecolor="white", label="pruned"))
    return handles


def bar_charts(rows: list[dict[str, Any]], out_dir: Path) -> list[str]:
    """Writes one bar chart per entry of ``CHARTS``; returns the file names written."""
    names = [r["variant"] for r in rows]
    written = []
    for filename, (key, label, scale) in CHARTS.items():
        if not all(key in r for r in rows):
            continue
        values = [r[key] * scale for r in rows]
        fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(rows)), 3.6))
        bars = ax.bar(names, values,
                      color=[COLORS.get(r["export_mode"], "#8c8c8c") for r in rows],
                      hatch=["//" if r["pruning"] != "-" else "" for r in rows],
                      edgecolor="white")
        ax.bar_label(bars, fmt="%.3g", fontsize=8)
        ax.legend(handles=_legend(rows), fontsize=7, loc="upper right", framealpha=0.8)
        ax.set_ylabel(label)
        if key == "tflite_accuracy":
            low = min(values)
            ax.set_ylim(max(0.0, low - 5), 100.5)
        ax.tick_params(axis="x", rotation=30)
        fig.tight_layout()
        atomic.write_with(out_dir / filename, partial(fig.savefig, dpi=110))
        plt.close(fig)
        written.append(filename)
    return written
