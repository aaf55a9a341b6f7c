"""Writing a run's results: results.json/.csv, report.md, plots and run.json."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfcompress import atomic
import tfcompress.report.markdown as markdown
import tfcompress.report.plots as plots
import tfcompress.report.ship as ship
import tfcompress.report.table as table

if TYPE_CHECKING:
    from tfcompress.report.row import Row
    from tfcompress.report.variant import VariantResult
    from tfcompress.recipe import Recipe


def write(folder: Path, recipe: Recipe, variants: list[VariantResult],
          info: dict[str, Any]) -> list[Row]:
    """Writes the report files into ``folder`` (the run's temporary folder: the pipeline swaps
    it in once everything, deliverables included, is there).

    Returns:
      The rows (one per variant; their ``columns()`` went into ``results.csv``).
    """
    rows = table.rows(recipe, variants)
    chosen = ship.choose(rows, recipe.baseline, recipe.ship_budget)
    shipped = chosen.variant if chosen is not None else None
    written = (plots.bar_charts(rows, folder / "plots", recipe.baseline,
                                int(info.get("data", {}).get("num_classes") or 0), shipped)
               + plots.sparsity_curves(rows, folder / "plots"))
    written += plots.schedules(info.get("schedules", []), folder / "plots")
    written += plots.tradeoffs(rows, folder / "plots", shipped)
    written += plots.throughput(rows, folder / "plots")
    written += plots.lottery(rows, table.lottery_rounds(variants), folder / "plots")
    if info.get("sensitivity"):
        written += plots.sensitivity(info["sensitivity"], folder / "plots")
    if info.get("curve"):
        written += plots.curve(info["curve"], folder / "plots")
    sweep = info.get("sweep")
    if sweep:
        refs = [r for r in rows if r.variant != sweep.get("chosen_variant")]
        written += plots.pareto(sweep, refs, folder / "plots")
        atomic.write_text(folder / "sweep_trials.csv", to_csv(sweep_rows(sweep)))
    columns = [r.columns() for r in rows]
    atomic.write_json(folder / "results.json", {"rows": columns,
                                               "variants": [v.to_dict() for v in variants]})
    atomic.write_text(folder / "results.csv", to_csv(columns))
    atomic.write_json(folder / "run.json", info)
    atomic.write_text(folder / "report.md", markdown.render(rows, variants, info, written))
    return rows


def sweep_rows(sweep: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per sweep trial (``sweep_trials.csv``)."""
    out = []
    for t in sweep["trials"]:
        row = {"trial": t["trial_id"], "status": t["status"], **t["overrides"]}
        for k in ("val_accuracy", "accuracy", "gzip_kib", "p95_ms", "p50_ms", "sparsity",
                  "score", "meets_budget", "chosen", "seconds"):
            row[k] = t.get(k)
        row["ran_on"] = " ".join(t.get("ran_on", []))
        row["error"] = t.get("error", "")
        out.append(row)
    return out


def to_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    fields = list(dict.fromkeys(k for r in rows for k in r))
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
