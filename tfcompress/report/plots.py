"""Plots of the comparison (matplotlib, Agg backend: no display needed): a bar chart per
measure, and accuracy / size / latency against sparsity when a recipe sweeps it."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

from tfcompress import atomic  # noqa: E402
from tfcompress.report.row import LotteryRound, Row  # noqa: E402

def _accuracy(r: Row) -> float:
    return r.tflite_accuracy


def _gzip(r: Row) -> float:
    return r.tflite_gzip_bytes


def _p50_1t(r: Row) -> float | None:
    return r.timing[1].p50_ms if 1 in r.timing else None


def _p95_1t(r: Row) -> float | None:
    return r.timing[1].p95_ms if 1 in r.timing else None


#: file name -> (what a row shows, axis label, scale); latency bars are the median with a
#: whisker up to the 95th percentile (the tail a user meets; never below zero, unlike ± std)
CHARTS = {
    "accuracy.png": (_accuracy, "TFLite test accuracy (%)", 100.0),
    "gzip_size.png": (_gzip, "gzip size of .tflite (KiB)", 1 / 1024),
    "latency_p95.png": (_p50_1t, "ms, batch 1, 1 thread\n(bar: p50; whisker up to p95)", 1.0),
}


#: export mode -> bar colour; pruned variants are hatched.
COLORS = {"float32": "#4c72b0", "dynamic": "#55a868", "int8": "#dd8452",
          "float32_sparse": "#8172b3", "int8_sparse": "#c44e52"}


def _finish(fig: Any, ax: Any, out_dir: Path, filename: str, xlabel: str | None = None,
            ylabel: str | None = None) -> list[str]:
    """Labels, grid and legend of a one-axes figure, then an atomic save."""
    if xlabel:
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    atomic.write_with(out_dir / filename, partial(fig.savefig, dpi=110))
    plt.close(fig)
    return [filename]


def _legend(rows: list[Row]) -> list[Patch]:
    modes = dict.fromkeys(r.export_mode for r in rows)
    handles = [Patch(color=COLORS.get(m, "#8c8c8c"), label=m) for m in modes]
    if any(r.pruning != "-" for r in rows):
        handles.append(Patch(facecolor="#bbbbbb", hatch="//", edgecolor="white", label="pruned"))
    return handles


def bar_charts(rows: list[Row], out_dir: Path, base: str | None = None, classes: int = 0,
               ship: str | None = None) -> list[str]:
    """Writes one bar chart per entry of ``CHARTS``; returns the file names written. The
    accuracy chart draws the baseline's accuracy and chance (1 / ``classes``) as lines; the
    file to ship (``ship``) is outlined in every chart."""
    names = [r.variant for r in rows]
    written = []
    for filename, (value, label, scale) in CHARTS.items():
        if any(value(r) is None for r in rows):
            continue
        values = [value(r) * scale for r in rows]
        err = None
        if value is _p50_1t:  # the tail above the median: never below zero
            err = [[0.0] * len(rows),
                   [max(0.0, r.timing[1].p95_ms - r.timing[1].p50_ms) for r in rows]]
        fig, ax = plt.subplots(figsize=(max(5.6, 1.1 * len(rows) + 2.2), 3.8))
        bars = ax.bar(names, values, yerr=err, capsize=3 if err else 0,
                      color=[COLORS.get(r.export_mode, "#8c8c8c") for r in rows],
                      hatch=["//" if r.pruning != "-" else "" for r in rows],
                      edgecolor=["#111111" if n == ship else "white" for n in names],
                      linewidth=[2.0 if n == ship else 0.8 for n in names])
        ax.bar_label(bars, labels=[_short(v) for v in values], fontsize=8,
                     padding=2 if err is None else 6)
        handles = _legend(rows)
        if value is _accuracy:
            ref = next((v for n, v in zip(names, values) if n == base), None)
            chance = 100.0 / classes if classes > 1 else None
            low = min(values + ([chance] if chance is not None else []))
            ax.set_ylim(max(0.0, low - 5), 101.0)
            if ref is not None:
                handles.append(ax.axhline(ref, color="#333333", linestyle="--", linewidth=1,
                                          label=f"baseline ({base}) {ref:.1f}%"))
            if chance is not None:
                handles.append(ax.axhline(chance, color="#999999", linestyle=":",
                                          linewidth=1, label=f"chance {chance:.0f}%"))
        else:
            ax.set_ylim(0, max(v + (e or 0) for v, e in
                               zip(values, err[1] if err else [0] * len(values))) * 1.15)
        if ship in names:
            handles.append(Patch(facecolor="none", edgecolor="#111111", linewidth=2,
                                 label=f"to ship: {ship}"))
        # beside the axes, never over a bar or its label
        ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  framealpha=0.9)
        ax.set_ylabel(label)
        ax.tick_params(axis="x", rotation=30)
        fig.tight_layout()
        atomic.write_with(out_dir / filename, partial(fig.savefig, dpi=110))
        plt.close(fig)
        written.append(filename)
    return written


def _short(v: float) -> str:
    """A bar's label: three significant digits, no exponent for everyday sizes."""
    return f"{v:.3g}" if v < 1000 else f"{v:,.0f}"


#: panels of the sparsity figure: (what a row shows, axis label, scale)
SPARSITY_PANELS = (
    (_accuracy, "TFLite test accuracy (%)", 100.0),
    (_gzip, "gzip size of .tflite (KiB)", 1 / 1024),
    (_p50_1t, "p50 latency, batch 1, 1 thread (ms)", 1.0),
)
#: a sweep is drawn when one export mode has at least this many sparsity levels
MIN_LEVELS = 3


def _series(rows: list[Row]) -> dict[str, list[Row]]:
    """Rows by (method, export mode); each dense row joins every series of its export mode
    at sparsity 0. Constant-sparsity rows are left out (one level, not a sweep)."""
    modes = {r.export_mode for r in rows if r.method != "-"}
    out: dict[str, list[Row]] = {}
    for r in rows:
        if r.method not in ("-", "constant"):
            label = r.method + (f" ({r.export_mode})" if len(modes) > 1 else "")
            out.setdefault(label, []).append(r)
    for rs in out.values():
        mode = rs[0].export_mode
        rs.extend(r for r in rows if r.method == "-" and r.export_mode == mode)
    return out


def sparsity_curves(rows: list[Row], out_dir: Path) -> list[str]:
    """``sparsity.png``: accuracy, gzip size and latency against the target sparsity (0 = the
    unpruned model), one line per pruning method and export mode that sweeps at least
    ``MIN_LEVELS`` levels (the seed study's VGG figure); repeats over seeds are drawn as mean
    and standard deviation."""
    swept = {k: rs for k, rs in _series(rows).items()
             if len({r.target_sparsity for r in rs}) >= MIN_LEVELS}
    if not swept:
        return []
    panels = [p for p in SPARSITY_PANELS
              if all(p[0](r) is not None for rs in swept.values() for r in rs)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (value, label, scale) in zip(axes[0], panels):
        for i, (name, rs) in enumerate(swept.items()):
            levels = sorted({r.target_sparsity for r in rs})
            values = [[value(r) * scale for r in rs if r.target_sparsity == lv]
                      for lv in levels]
            xs = [100 * lv for lv in levels]
            ys = [float(np.mean(v)) for v in values]
            err = [float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for v in values]
            color = (COLORS.get(name, palette[i % len(palette)]) if len(swept) > 1
                     else COLORS.get(rs[0].export_mode, palette[0]))
            ax.errorbar(xs, ys, yerr=err if any(err) else None, marker="o", capsize=3,
                        color=color, label=name)
            if len(swept) == 1:
                for x, y in zip(xs, ys):
                    ax.annotate(f"{y:,.0f}" if y >= 100 else f"{y:.3g}", (x, y),
                                textcoords="offset points", xytext=(0, 5), ha="center",
                                fontsize=7)
        dense_modes = {rs[0].export_mode for rs in swept.values()}
        for r in rows:  # the dense models of other export modes, as reference lines
            if r.method == "-" and r.export_mode not in dense_modes:
                ax.axhline(value(r) * scale, ls="--", lw=1,
                           color=COLORS.get(r.export_mode, "#8c8c8c"),
                           label=f"{r.variant} (dense)")
        if value is not _accuracy:
            ax.set_ylim(bottom=0)  # a flat latency line must look flat
        ax.set_xlabel("target sparsity (%)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    return _finish(fig, axes[0][0], out_dir, "sparsity.png")


def sensitivity(analysis: dict[str, Any], out_dir: Path) -> list[str]:
    """``sensitivity.png``: validation accuracy against the ratio one layer is pruned to,
    one line per layer (conv solid, dense dashed), the dense accuracy dotted."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    xs = [100 * r for r in analysis["ratios"]]
    for name, e in analysis["layers"].items():
        ax.plot(xs, [100 * a for a in e["accuracy"]], marker="o", ms=3,
                ls="-" if e["type"] != "Dense" else "--",
                label=f"{name} ({e['type']}, {e['params']:,})")
    ax.axhline(100 * analysis["dense_accuracy"], color="k", ls=":", lw=1, label="unpruned")
    return _finish(fig, ax, out_dir, "sensitivity.png", "sparsity of the one pruned layer (%)",
                   "validation accuracy (%)")


def lottery(rows: list[Row], tickets: dict[str, list[LotteryRound]], out_dir: Path
            ) -> list[str]:
    """``lottery.png``: test accuracy against the weights remaining (Pm, log axis, falling
    to the right), each ticket group's rounds as a line (± std over seeds), and every other
    group (dense, random re-initialisation) as a point at its sparsity."""
    from tfcompress.report.table import groups

    if not tickets:
        return []
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for group, rs in tickets.items():
        ax.errorbar([100 * r.remaining for r in rs], [100 * r.accuracy_mean for r in rs],
                    yerr=[100 * r.accuracy_std for r in rs], marker="o", ms=3, capsize=3,
                    label=f"{group} (each round)")
    by_group = {g.group: g for g in groups(rows)}
    singles = {r.group: r for r in rows if r.group not in by_group}
    for name, g in by_group.items():
        if name not in tickets:
            ax.errorbar([100 * (1 - g.sparsity)], [100 * g.accuracy_mean],
                        yerr=[100 * g.accuracy_std], marker="s", ms=5, capsize=3,
                        ls="none", label=f"{name} (n={g.n})")
    for name, r in singles.items():
        if name not in tickets:
            ax.plot([100 * (1 - r.sparsity)], [100 * r.tflite_accuracy], "s", ms=5,
                    label=name)
    ax.set_xscale("log")
    ax.invert_xaxis()
    # ticks at the measured Pm values, written as percentages (not 6x10^1)
    pm = sorted({100.0, *(round(100 * r.remaining, 1) for rs in tickets.values()
                          for r in rs)}, reverse=True)
    ax.set_xticks(pm, [f"{p:.0f}" if p >= 10 else f"{p:.1f}" for p in pm], fontsize=8)
    ax.xaxis.set_minor_formatter(NullFormatter())
    return _finish(fig, ax, out_dir, "lottery.png", "weights remaining, Pm (%)",
                   "test accuracy (%)")


def throughput(rows: list[Row], out_dir: Path) -> list[str]:
    """``throughput.png``: images/s against batch size (log axes), one line per variant with
    ± std over the rounds."""
    from tfcompress.report.markdown import batch_sizes

    sizes = batch_sizes(rows)
    if not sizes:
        return []
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for r in rows:
        have = [b for b in sizes if b in r.batches]
        ax.errorbar(have, [r.batches[b].mean for b in have],
                    yerr=[r.batches[b].std for b in have], marker="o", ms=3,
                    capsize=3, label=r.variant)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(b) for b in sizes])
    return _finish(fig, ax, out_dir, "throughput.png", "batch size", "images / s")


def curve(curves: list[dict[str, Any]], out_dir: Path) -> list[str]:
    """``prune_curve.png``: test accuracy (mean ± std over seeds) and Keras forward time
    against the pruning ratio, one line per group and criterion (no retraining)."""
    from tfcompress.prune.curve import aggregate

    agg = aggregate(curves)
    timed = "timing" in curves[0]
    fig, axes = plt.subplots(1, 2 if timed else 1, figsize=(11.0 if timed else 6.4, 4.0),
                             squeeze=False)
    for g, by in agg.items():
        for c, e in by.items():
            xs = [100 * r for r in e["ratios"]]
            label = f"{g} {c}" if len(by) > 1 or c != "magnitude" else g
            label += f" (n={len(e['seeds'])})"
            axes[0][0].errorbar(xs, [100 * a for a in e["accuracy_mean"]],
                                yerr=[100 * s for s in e["accuracy_std"]], marker="o", ms=3,
                                capsize=3, label=label)
            if timed:
                axes[0][1].errorbar(xs, e["ms_mean"], yerr=e["ms_std"], marker="o", ms=3,
                                    capsize=3, label=label)
    axes[0][0].set_ylabel("test accuracy (%)")
    if timed:
        axes[0][1].set_ylim(bottom=0)  # a flat line must look flat
        axes[0][1].set_xlabel("weights pruned (%)")
        axes[0][1].set_ylabel(f"Keras forward time, batch {curves[0]['timing']['batch']} (ms)")
        axes[0][1].grid(alpha=0.3)
    return _finish(fig, axes[0][0], out_dir, "prune_curve.png", "weights pruned (%)",
                   "test accuracy (%)")


def schedules(curves: list[dict[str, Any]], out_dir: Path) -> list[str]:
    """``schedule.png``: the sparsity each gradual pruning schedule imposes along the
    fine-tuning steps (a staircase: masks change every ``frequency`` steps)."""
    if not curves:
        return []
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    for c in curves:
        ax.step(c["step"], [100 * v for v in c["sparsity"]], where="post", label=c["label"])
    ax.set_ylim(0, 100)
    return _finish(fig, ax, out_dir, "schedule.png", "fine-tuning step",
                   "sparsity of pruned layers (%)")


#: file name -> (trial metric on x, axis label, Pareto front key in the sweep summary, budget)
PARETO = {
    "pareto_size.png": ("gzip_kib", "gzip size of the int8 .tflite (KiB)", "front_size",
                        "max_gzip_kib"),
    "pareto_latency.png": ("p95_ms", "p95 latency, batch 1 (ms)", "front_latency",
                           "max_p95_ms"),
}


def pareto(sweep: dict[str, Any], references: list[Row], out_dir: Path
           ) -> list[str]:
    """Test accuracy against size and against latency for every completed trial, the Pareto
    front joined, the chosen trial circled, budgets dashed and the reference variants
    (``rows`` of this run) as labelled crosses."""
    ok = [t for t in sweep["trials"] if t["status"] == "COMPLETED"]
    if not ok:
        return []
    t = sweep["threads"]
    written = []
    for filename, (metric, label, front_key, budget_key) in PARETO.items():
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        within = [x for x in ok if x["meets_budget"]]
        over = [x for x in ok if not x["meets_budget"]]
        for group, style in ((within, {"color": "#4c72b0", "label": "trial (within budget)"}),
                             (over, {"color": "#bbbbbb", "label": "trial (over budget)"})):
            if group:
                ax.scatter([x[metric] for x in group], [100 * x["accuracy"] for x in group],
                           s=22, zorder=3, **style)
        front = [ok[i] for i in sweep[front_key]]
        ax.plot([x[metric] for x in front], [100 * x["accuracy"] for x in front], "-",
                color="#dd8452", zorder=2, label="Pareto front")
        chosen = [x for x in ok if x.get("chosen")]
        if chosen:
            c = chosen[0]
            ax.scatter([c[metric]], [100 * c["accuracy"]], s=160, facecolors="none",
                       edgecolors="#c44e52", linewidths=2, zorder=4,
                       label=f"chosen: trial {c['trial_id']}")
        for r in references:
            x = (r.tflite_gzip_bytes / 1024 if metric == "gzip_kib"
                 else r.timing[t].p95_ms if t in r.timing else None)
            if x is not None:
                ax.scatter([x], [100 * r.tflite_accuracy], marker="x", color="#333333",
                           zorder=3)
                ax.annotate(r.variant, (x, 100 * r.tflite_accuracy), fontsize=7,
                            xytext=(4, -10), textcoords="offset points")
        if sweep.get(budget_key):
            ax.axvline(sweep[budget_key], color="#c44e52", linestyle="--", linewidth=1,
                       label="budget")
        written += _finish(fig, ax, out_dir, filename, label, "TFLite test accuracy (%)")
    return written


def _place_labels(ax: Any, points: list[tuple[str, float, float]]) -> None:
    """Each point's name beside it, moved up or down (a thin line back to its point) where
    it would cover a name already placed: variants of about the same size and accuracy stay
    readable."""
    ax.figure.canvas.draw()  # the limits are final: data -> display coordinates
    placed: list[tuple[float, float, float, float]] = []
    char_w, line_h = 4.3, 10.0  # 7-point text, in display pixels at the figure's dpi
    scale = ax.figure.dpi / 72.0
    for name, x, y in sorted(points, key=lambda p: (p[1], -p[2])):
        px, py = ax.transData.transform((x, y))
        w, h = len(name) * char_w * scale, line_h * scale
        for dy in (4, -12, 16, -24, 28, -36, 40, -48, 52, -60):
            box = (px + 4 * scale, py + dy * scale, w, h)
            if not any(box[0] < b[0] + b[2] and b[0] < box[0] + box[2]
                       and box[1] < b[1] + b[3] and b[1] < box[1] + box[3] for b in placed):
                break
        placed.append(box)
        ax.annotate(name, (x, y), fontsize=7, xytext=(4, dy), textcoords="offset points",
                    arrowprops=None if dy == 4 else {"arrowstyle": "-", "color": "#999999",
                                                     "linewidth": 0.5})


#: file name -> (what a row shows on the x axis, its label, scale)
TRADEOFFS = {
    "accuracy_vs_latency.png": (_p50_1t, "p50 ms, batch 1, 1 thread", 1.0),
    "accuracy_vs_size.png": (_gzip, "gzip size of .tflite (KiB)", 1 / 1024),
}


def tradeoffs(rows: list[Row], out_dir: Path, ship: str | None = None) -> list[str]:
    """Every variant's TFLite accuracy against its latency and against its size, by export
    format; the Pareto front (nothing else is both as accurate and as fast / small) joined
    and circled: the files worth shipping; the one the report says to ship (``ship``)
    starred."""
    from tfcompress.report.table import pareto_front

    written = []
    for filename, (value, label, scale) in TRADEOFFS.items():
        points = [r for r in rows if value(r) is not None]
        if len(points) < 2:
            continue
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        for mode in dict.fromkeys(r.export_mode for r in points):
            group = [r for r in points if r.export_mode == mode]
            ax.scatter([value(r) * scale for r in group],
                       [100 * r.tflite_accuracy for r in group], s=26, zorder=3,
                       color=COLORS.get(mode, "#8c8c8c"), label=mode)
        front = [r for r in points if r.variant in pareto_front(points, value)]
        front.sort(key=value)
        ax.plot([value(r) * scale for r in front], [100 * r.tflite_accuracy for r in front],
                "-", color="#333333", linewidth=1, zorder=2, label="Pareto front")
        ax.scatter([value(r) * scale for r in front],
                   [100 * r.tflite_accuracy for r in front], s=110, facecolors="none",
                   edgecolors="#333333", zorder=4)
        for r in points:
            if r.variant == ship:
                ax.scatter([value(r) * scale], [100 * r.tflite_accuracy], s=220, marker="*",
                           color="#f2c14e", edgecolors="#111111", zorder=5,
                           label=f"to ship: {ship}")
        accs = [100 * r.tflite_accuracy for r in points]
        # the accuracies' own range (points, not bars: the axis need not start at 0), at
        # least a point either side so that a small gap is not drawn as a large one
        pad = max(1.0, 0.1 * (max(accs) - min(accs)))
        ax.set_ylim(max(0.0, min(accs) - pad), min(100.0, max(accs) + pad) + 0.5 * pad)
        ax.set_xlim(left=0, right=1.08 * max(value(r) * scale for r in points))
        _place_labels(ax, [(r.variant, value(r) * scale, 100 * r.tflite_accuracy)
                           for r in points])
        written += _finish(fig, ax, out_dir, filename, label, "TFLite test accuracy (%)")
    return written

