"""Writing a run's results: results.json/.csv, report.md, plots and run.json."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfcompress import atomic
from tfcompress.report import markdown, plots, table

if TYPE_CHECKING:
    from tfcompress.recipe import Recipe


def write(run_dir: Path, recipe: Recipe, variants: list[dict[str, Any]], info: dict[str, Any],
          publish: Callable[[Path, list[dict[str, Any]]], None] | None = None
          ) -> list[dict[str, Any]]:
    """Writes the whole run folder at once (atomically replacing an older one).

    Args:
      publish: called with the temporary folder first, to copy deliverables into it.

    Returns:
      The flat rows (one per variant) that went into ``results.csv``.
    """
    rows = table.rows(recipe, variants)

    def fill(tmp: Path) -> None:
        if publish:
            publish(tmp, variants)
        written = (plots.bar_charts(rows, tmp / "plots")
                   + plots.sparsity_curves(rows, tmp / "plots"))
        written += plots.schedules(info.get("schedules", []), tmp / "plots")
        if info.get("sensitivity"):
            written += plots.sensitivity(info["sensitivity"], tmp / "plots")
        sweep = info.get("sweep")
        if sweep:
            refs = [r for r in rows if r["variant"] != sweep.get("chosen_variant")]
            written += plots.pareto(sweep, refs, tmp / "plots")
            atomic.write_text(tmp / "sweep_trials.csv", to_csv(sweep_rows(sweep)))
        atomic.write_json(tmp / "results.json", {"rows": rows, "variants": variants})
        atomic.write_text(tmp / "results.csv", to_csv(rows))
        atomic.write_json(tmp / "run.json", info)
        atomic.write_text(tmp / "report.md", markdown.render(rows, variants, info, written))

    atomic.replace_tree(run_dir, fill)
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
