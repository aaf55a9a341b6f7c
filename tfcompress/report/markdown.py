"""``report.md``: the comparison table, plots, op coverage and how the numbers were made."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

import tfcompress.report.ship as ship
from tfcompress.report.table import groups, lottery_rounds, speedup_cell

if TYPE_CHECKING:
    from tfcompress.report.row import Row
    from tfcompress.report.variant import VariantResult


def _kib(n: float) -> str:
    return f"{n / 1024:,.1f} KiB"


def _millions(n: float | None) -> str:
    return "-" if n is None else f"{n / 1e6:,.2f} M"


def render(rows: list[Row], variants: list[VariantResult], info: dict[str, Any],
           plots: list[str]) -> str:
    threads = sorted({t for r in rows for t in r.timing})
    t0 = threads[0]
    base = info["recipe"]["baseline"]
    m, d = info["machine"], info["data"]
    chance = ship.near_chance(rows, base, int(d.get("num_classes") or 0))
    out = [
        f"# {info['experiment']} ({info['profile']} profile)",
        "",
        *([f"> **Warning: {chance}**", ""] if chance else []),
        info["description"],
        "",
        *[f"> **Warning:** {w}\n" for w in info.get("warnings", [])],
        *ship.section(rows, variants, base, float(info["recipe"].get("ship_budget", 1.0))),
        f"Data: {d['name']} from {d['source']}; {d['train']} train / {d['val']} validation / "
        f"{d['test']} test examples; preprocessing: {d['preprocessing']}; training "
        f"augmentation: {d.get('augment', 'none')}."
        + (f" {d['skipped_files']} unreadable image file(s) were skipped."
           if d.get("skipped_files") else ""),
        "",
        f"Measured on {m['cpu']} ({m['cores']} cores), LiteRT interpreter on the CPU; "
        f"batch-1 latency over at least {info['recipe']['benchmark']['min_runs']} timed runs "
        f"and {info['recipe']['benchmark']['min_seconds']} s after "
        f"{info['recipe']['benchmark']['warmup_runs']} warm-up runs, timed in "
        f"{info['recipe']['benchmark'].get('rounds', 1)} rounds that visit every file in turn. "
        + (f"All rows were timed together at {info['benchmark']['timed_at']}, by an earlier "
           f"run of the same files on this machine (reused; `--benchmark=again` times them "
           f"again); " if info.get("benchmark", {}).get("reused")
           else "All rows were measured in this run; ")
        + f"ratios are against `{base}`. A speedup is shown "
        f"only where every round agrees and the difference exceeds both the spread between "
        f"rounds and 5%; otherwise the row says *same* (speed within noise). Accuracy is on the "
        f"test set, computed from the .tflite file itself.",
        "",
        "## Results",
        "",
    ]
    # two tables of a dozen columns each rather than one of twenty
    head = ["variant", "compression", "export", "TFLite acc", "Δ pts", "Keras acc", "non-zeros",
            ".tflite", "gzip", "× smaller", "int8 only"]
    out += ["### Accuracy and size", "", "| " + " | ".join(head) + " |",
            "|" + "---|" * len(head)]
    for r in rows:
        cells = [f"`{r.variant}`", r.compression, r.export_mode,
                 f"{100 * r.tflite_accuracy:.2f}%", f"{r.accuracy_delta_pts:+.2f}",
                 "-" if r.keras_accuracy is None else f"{100 * r.keras_accuracy:.2f}%",
                 f"{r.nonzero_params:,} / {r.params:,}",
                 _kib(r.tflite_bytes), _kib(r.tflite_gzip_bytes),
                 f"{r.gzip_x_smaller:.2f}x", "yes" if r.fully_quantized else "no"]
        out.append("| " + " | ".join(str(c) for c in cells) + " |")
    head = ["variant", "MACs", "effective MACs"]
    for t in threads:
        head += [f"p50 ms ({t}t)", f"p95 ms ({t}t)"]
    head += [f"speedup ({t0}t)", f"img/s ({threads[-1]}t, batch {rows[0].throughput_batch})",
             "notes"]
    out += ["", "### Speed", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [f"`{r.variant}`", _millions(r.macs), _millions(r.effective_macs)]
        for t in threads:
            cells += [f"{r.timing[t].p50_ms:.3f}", f"{r.timing[t].p95_ms:.3f}"]
        cells += [speedup_cell(r), f"{r.timing[threads[-1]].images_per_s:,.0f}", r.notes or ""]
        out.append("| " + " | ".join(str(c) for c in cells) + " |")
    base_src = next(v.source for v in variants if v.variant == base)
    what = ("The baseline's Keras file (`model.keras`)" if base_src.keras_test_accuracy
            is not None else "The baseline, a SavedModel without a Keras model (converted as it "
            "is, never run: its accuracy is that of its .tflite files),")
    out += ["", f"{what} is {_kib(base_src.keras_file_bytes)}"
            f" ({_kib(base_src.keras_file_gzip_bytes)} gzipped); `× smaller` compares gzipped "
            f".tflite files with the `{base}` one."]
    slow = [r for r in rows if "not faster" in r.notes]
    out += ["", "A row marked *sparse but not faster* (or *smaller but not faster*) has a smaller "
            "file than its reference (the unpruned model exported the same way) but no lower "
            "p50 latency: TFLite's dense kernels multiply the zeros too, so unstructured sparsity "
            "pays off in download size, not in CPU time. *Effective MACs* count only products "
            "with a non-zero weight: what sparse kernels could skip, and dense ones do not."
            + (f" Rows affected here: {', '.join(r.variant for r in slow)}." if slow else "")]
    repeated = groups(rows)
    if repeated:
        out += ["", "## Across seeds", "",
                "Configurations repeated with different seeds (each seed trains its own "
                "baseline): TFLite test accuracy and test errors as mean ± standard deviation.",
                "", "| configuration | compression | export | seeds | sparsity | TFLite acc | "
                "test errors | Keras acc before fine-tuning |", "|---|---|---|---|---|---|---|---|"]
        for g in repeated:
            before = (f"{_pm(g.before_mean, g.before_std)}%" if g.before_mean is not None
                      else "-")
            out.append(f"| `{g.group}` | {g.compression} | {g.export_mode} | "
                       f"{', '.join(map(str, g.seeds))} | {g.sparsity:.1%} | "
                       f"{100 * g.accuracy_mean:.2f} ± {100 * g.accuracy_std:.2f}% | "
                       f"{g.errors_mean:.1f} ± {g.errors_std:.1f} | {before} |")
    out += throughput_section(rows, info)
    out += lottery_section(rows, variants)
    out += stages_section(rows, variants)
    if info.get("sweep"):
        out += sweep_section(info["sweep"])
    if info.get("sensitivity"):
        out += sensitivity_section(info["sensitivity"])
    if info.get("curve"):
        out += curve_section(info["curve"])
    out += ["", "## Plots", ""] + [f"![{p}](plots/{p})" for p in plots]
    out += ["", "## Operators", "",
            "Ops that compute in float (or hybrid int8-weight / float-activation) in each file:",
            ""]
    for v in variants:
        cov = v.tflite.coverage
        out.append(f"- `{v.variant}`: input {cov['input_dtype']}, output "
                   f"{cov['output_dtype']}; ops {cov['ops']}; float ops: "
                   f"{', '.join(cov['float_ops']) or 'none'}")
    shrunk = {v.source.key: v for v in variants if v.source.channels}
    if shrunk:
        out += ["", "## Channels kept (structured pruning)", "",
                "Each channel group (a residual stream is one group, written by all its "
                "producers) before -> after; the model was rebuilt with only these channels.",
                ""]
        for v in shrunk.values():
            kept = ", ".join(f"{name} {a}->{b}" for name, (a, b) in v.source.channels
                             .items())
            out.append(f"- {v.source.name}: {kept}")
            for u in v.source.structured_unsupported or []:
                out.append(f"  - `{u['name']}` ({u['type']}) left whole: {u['why']}")
    out += speed_target_section(rows, variants)
    pruned = [v for v in variants if v.source.layer_sparsity
              and not v.source.channels]
    seen = set()
    if pruned:
        out += ["", "## Sparsity per layer (after stripping)", ""]
        for v in pruned:
            if v.source.key in seen:
                continue
            seen.add(v.source.key)
            layers = ", ".join(f"{name} {s['sparsity']:.1%}"
                               for name, s in v.source.layer_sparsity.items())
            out.append(f"- {v.source.name}: {layers}")
            for name, why in (v.source.m_by_n_skipped or {}).items():
                out.append(f"  - `{name}` left dense: {why}")
            if v.source.m_by_n_violations:
                out.append(f"  - **no m:n pattern** in: "
                           f"{', '.join(v.source.m_by_n_violations)}")
    cached = [s for s in info["steps"] if s["cached"]]
    out += ["", "## How this was made", "",
            f"Command: `{info['command']}`; total {info['seconds']} s. Steps:", ""]
    for s in info["steps"]:
        state = "reused from cache" if s["cached"] else f"ran in {s['seconds']:.1f} s"
        if s.get("resumed"):
            state += (" (resumed after an interruption from its last epoch backup; each "
                      "epoch's data order and random state come from the seed and the epoch, "
                      "so it ends as an uninterrupted run would)")
        out.append(f"- {s['kind']} `{s['name']}`: {state}")
    out += ["", f"{len(cached)} step(s) reused from `cache/`. TFLite files: `tflite/`. "
            "Training curves and tfmot pruning summaries: `tensorboard --logdir "
            "tensorboard/`. Everything above, with package versions: `results.json`, "
            "`results.csv`, `run.json`.", ""]
    return "\n".join(out)


def sensitivity_section(a: dict[str, Any]) -> list[str]:
    from tfcompress.prune.sensitivity import by_kind

    ratios = a["ratios"]
    out = ["", "## Layer sensitivity", "",
           f"Each layer pruned alone (one-shot magnitude, no retraining); validation accuracy "
           f"(unpruned: {100 * a['dense_accuracy']:.2f}%). Proposed target: the highest ratio "
           f"costing at most {a['tolerance_pts']} points.", "",
           "| layer | type | weights | " + " | ".join(f"{r:.0%}" for r in ratios)
           + " | proposed |", "|" + "---|" * (len(ratios) + 4)]
    for name, e in a["layers"].items():
        out.append(f"| `{name}` | {e['type']} | {e['params']:,} | "
                   + " | ".join(f"{100 * x:.2f}" for x in e["accuracy"])
                   + f" | {e['proposed']:.0%} |")
    kinds = by_kind(a)
    if kinds:
        out += ["", "Mean accuracy drop (points) by layer kind: "
                + "; ".join(f"{kind}: " + ", ".join(f"{r:.0%} {d:+.2f}" for r, d in
                                                      zip(ratios, drops))
                            for kind, drops in kinds.items()) + "."]
    return out


def lottery_section(rows: list[Row], variants: list[VariantResult]) -> list[str]:
    """Every round of the lottery tickets (mean ± std over seeds), and beside them each
    group's final accuracy (dense models, random re-initialisations)."""
    tickets = lottery_rounds(variants)
    if not tickets:
        return []
    out = ["", "## Lottery ticket rounds", "",
           "Each round prunes the trained ticket, rewinds the survivors and retrains; Pm = "
           "weights remaining in the pruned layers. Test accuracy after retraining (mean ± "
           "std over seeds); early stopping = the epoch of the lowest validation loss, and "
           "the validation accuracy there (means).", "",
           "| tickets | round | Pm | test acc | early-stop epoch | val acc there |",
           "|---|---|---|---|---|---|"]
    for group, rs in tickets.items():
        for r in rs:
            epoch = "-" if r.early_stop_epoch is None else f"{r.early_stop_epoch:.1f}"
            val = ("-" if r.early_stop_val_accuracy is None
                   else f"{100 * r.early_stop_val_accuracy:.2f}%")
            out.append(f"| `{group}` | {r.round} | {100 * r.remaining:.1f}% | "
                       f"{_pm(r.accuracy_mean, r.accuracy_std)}% (n={r.n}) | "
                       f"{epoch} | {val} |")
    return out


def batch_sizes(rows: list[Row]) -> list[int]:
    """The batch sizes of the throughput sweep in these rows (none: no sweep)."""
    return sorted({b for r in rows for b in r.batches})


def throughput_section(rows: list[Row], info: dict[str, Any]) -> list[str]:
    """MLMark-style throughput at each batch size (images/s, mean ± std over the rounds) and
    each file's peak run-time memory."""
    sizes = batch_sizes(rows)
    memory = any(r.peak_rss_kib is not None for r in rows)
    if not sizes and not memory:
        return []
    t = info["recipe"]["benchmark"]["threads"][0]
    out = ["", "## Throughput by batch size and peak memory", "",
           f"LiteRT interpreter, {t} thread{'s' if t != 1 else ''}: images per second at each "
           "batch size, mean ± std over the interleaved rounds (each round's median invoke). "
           "Peak memory: how much a fresh process's resident set grows while it loads the file, "
           "allocates the interpreter's arena and runs it at batch 1 (process RSS delta; the "
           "Python API exposes no arena size).", "",
           "| variant | " + " | ".join(f"batch {b} img/s" for b in sizes)
           + (" | peak RSS growth |" if memory else " |"),
           "|---|" + "---|" * (len(sizes) + memory)]
    for r in rows:
        cells = [f"{r.batches[b].mean:,.0f} ± {r.batches[b].std:,.0f}"
                 if b in r.batches else "-" for b in sizes]
        if memory:
            kib = r.peak_rss_kib
            cells.append("-" if kib is None else f"{kib / 1024:,.1f} MiB")
        out.append(f"| `{r.variant}` | " + " | ".join(cells) + " |")
    return out


def _pm(mean: float, std: float, scale: float = 100.0, digits: int = 2) -> str:
    return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}"


def curve_section(curves: list[dict[str, Any]]) -> list[str]:
    """Accuracy (mean ± std over seeds) and forward time per ratio, one column per group and
    criterion; then, for two groups, the difference of their means with its standard error."""
    from tfcompress.prune.curve import aggregate

    agg = aggregate(curves)
    cols = [(g, c) for g, by in agg.items() for c in by]
    first = agg[cols[0][0]][cols[0][1]]
    out = ["", "## Pruned without retraining", "",
           f"Each unpruned model pruned one-shot ({curves[0]['scope']} scope, "
           f"{curves[0]['weights']:,} prunable weights) to each ratio, no retraining. Test "
           f"accuracy (%) as mean ± std over the seeds of each group (n = models).", "",
           "| ratio | " + " | ".join(f"`{g}` {c} (n={len(agg[g][c]['seeds'])})"
                                    for g, c in cols) + " |",
           "|---|" + "---|" * len(cols)]
    for i, r in enumerate(first["ratios"]):
        out.append(f"| {r:.2f} | " + " | ".join(
            _pm(agg[g][c]["accuracy_mean"][i], agg[g][c]["accuracy_std"][i])
            for g, c in cols) + " |")
    if "drop_mean" in first:
        out += ["", "Change from each model's own unpruned accuracy (points, mean ± std): how "
                "robust to pruning each group is, whatever it started from.", "",
                "| ratio | " + " | ".join(f"`{g}` {c}" for g, c in cols) + " |",
                "|---|" + "---|" * len(cols)]
        for i, r in enumerate(first["ratios"]):
            out.append(f"| {r:.2f} | " + " | ".join(
                _pm(agg[g][c]["drop_mean"][i], agg[g][c]["drop_std"][i]) for g, c in cols)
                + " |")
    if len(cols) == 2:
        (ga, ca), (gb, cb) = cols
        a, b = agg[ga][ca], agg[gb][cb]
        for key, what in (("accuracy", "accuracy"), ("drop", "change from unpruned")):
            if f"{key}_mean" not in a:
                continue
            diffs = []
            for i, r in enumerate(first["ratios"]):
                d = a[f"{key}_mean"][i] - b[f"{key}_mean"][i]
                se = float(np.sqrt(a[f"{key}_std"][i] ** 2 / len(a["seeds"])
                                   + b[f"{key}_std"][i] ** 2 / len(b["seeds"])))
                diffs.append(f"{r:.2f}: {100 * d:+.2f} ± {100 * se:.2f}"
                             + (" *" if se > 0 and abs(d) > 2 * se else ""))
            out += ["", f"{what.capitalize()}, `{ga}` {ca} minus `{gb}` {cb} (points, ± "
                    f"standard error; * where the difference exceeds two standard errors): "
                    + "; ".join(diffs) + "."]
    if "ms_mean" in first:
        t = curves[0]["timing"]
        out += ["", f"Keras forward time of a batch of {t['batch']} on this CPU (ms, mean ± "
                f"std over {t['rounds']} interleaved rounds of every model; the median of "
                f"{t['runs']} passes per round), and relative to the unpruned model in the "
                f"same round (geometric mean ± std of the per-round ratios):", "",
                "| ratio | " + " | ".join(f"`{g}` {c} ms | relative" for g, c in cols) + " |",
                "|---|" + "---|---|" * len(cols)]
        for i, r in enumerate(first["ratios"]):
            cells = []
            for g, c in cols:
                e = agg[g][c]
                rel = (_pm(e["relative_mean"][i], e["relative_std"][i], 1.0, 3)
                       if "relative_mean" in e else "-")
                cells.append(f"{_pm(e['ms_mean'][i], e['ms_std'][i], 1.0, 1)} | {rel}")
            out.append(f"| {r:.2f} | " + " | ".join(cells) + " |")
    return out


def stages_section(rows: list[Row], variants: list[VariantResult]) -> list[str]:
    """Distillation, clustering and QAT facts: what each stage left in the model and in the
    file."""
    by = {r.variant: r for r in rows}
    lines = []
    for v in variants:
        src, r = v.source, by[v.variant]
        facts = []
        if v.distill and v.distill.alpha and src.teacher_accuracy:
            facts.append(f"teacher Keras accuracy {100 * src.teacher_accuracy:.2f}%, "
                         f"student {100 * src.keras_test_accuracy:.2f}%")
        if src.unique_values:
            top = max(src.unique_values.values())
            facts.append(f"at most {top} distinct values per clustered kernel (Keras)")
        if v.qat:
            left = src.qat_float_layers or []
            facts.append("QAT " + v.qat.scheme + "; left in float: " + (
                ", ".join(f"`{u['name']}` ({u['type']}: {u['why']})" for u in left) or "none"))
        if (v.cluster or v.qat or v.prune is not None) \
                and r.file_weight_sparsity is not None:
            facts.append(f"in the .tflite: {r.file_weight_sparsity:.1%} of conv/dense "
                         f"weights are zero, at most {r.file_unique_per_channel_max} "
                         f"distinct values per output channel")
        if facts:
            lines.append(f"- `{v.variant}` ({r.compression}): " + "; ".join(facts))
    return ["", "## Compression stages", "", *lines] if lines else []


def _budget(sweep: dict[str, Any]) -> str:
    parts = []
    if sweep.get("max_gzip_kib"):
        parts.append(f"gzip <= {sweep['max_gzip_kib']:g} KiB")
    if sweep.get("max_p95_ms"):
        parts.append(f"p95 <= {sweep['max_p95_ms']:g} ms ({sweep['threads']} thread)")
    return " and ".join(parts)


def sweep_section(sweep: dict[str, Any]) -> list[str]:
    """The trials of a keras-tuner sweep, the chosen one and how it was chosen."""
    trials = sweep["trials"]
    if sweep["objective"] == "constrained":
        how = (f"the highest validation accuracy (of the .tflite) among trials within budget "
               f"({_budget(sweep)})")
    else:
        how = (f"the highest score = validation accuracy - {sweep['size_weight']:g} x gzip "
               f"MiB - {sweep['latency_weight']:g} x p95 ms"
               + (f", within budget ({_budget(sweep)})" if _budget(sweep) else ""))
    chosen = sweep.get("chosen")
    out = ["", "## Sweep", "",
           f"keras-tuner {sweep['tuner']} search over {', '.join(sweep['space'])}: "
           f"{len(trials)} trials, {sum(t['status'] == 'COMPLETED' for t in trials)} "
           f"completed. Each trial pruned and fine-tuned from the baseline, was exported to "
           f"TFLite and measured from the file. Chosen: {how} -> "
           + (f"**trial {chosen}** (row `{sweep.get('chosen_variant')}` above, measured again "
              f"beside the references)." if chosen else "**none** (no trial met the budget)."),
           "", f"Search state: `{sweep['project_dir']}` (run the command again to resume or, "
           f"with a higher `sweep.max_trials`, to extend it). All trials: `sweep_trials.csv`.",
           ""]
    keys = list(dict.fromkeys(k for t in trials for k in t["overrides"]))
    head = ["trial", *[k.split(".")[-1] if k != "finetune.epochs" else "ft epochs"
                       for k in keys], "status", "val acc", "test acc", "sparsity", "gzip KiB",
            f"p95 ms ({sweep['threads']}t)", "score", "in budget"]
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for t in trials:
        values = [_value(t["overrides"].get(k)) for k in keys]
        mark = f"**{t['trial_id']}** (chosen)" if t.get("chosen") else t["trial_id"]
        if t["status"] != "COMPLETED":
            out.append("| " + " | ".join([mark, *values, f"**{t['status']}**: {t['error']}",
                                          *[""] * 6]) + " |")
            continue
        out.append("| " + " | ".join([
            mark, *values, "ok", f"{100 * t['val_accuracy']:.2f}%",
            f"{100 * t['accuracy']:.2f}%", f"{t['sparsity']:.1%}", f"{t['gzip_kib']:.1f}",
            f"{t['p95_ms']:.3f}", f"{t['score']:.4f}", "yes" if t["meets_budget"] else "no"])
            + " |")
    ran = sorted({w for t in trials for w in t.get("ran_on", [])})
    if len(ran) > 1:
        out += ["", f"Trials ran on {len(ran)} keras-tuner workers ({', '.join(ran)}); "
                "latencies measured while workers share a machine are inflated."]
    return out


def _value(v: Any) -> str:
    return "" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))


def _aimed(found: dict[str, Any]) -> str:
    """The search's margin over the target (runs from before it had one say nothing)."""
    aimed = found.get("aimed")
    if not aimed or aimed <= found["target"]:
        return ""
    return (f" (the search aimed at {aimed:.2f}x, {aimed / found['target'] - 1:.0%} above: "
            f"the benchmark's noise floor)")


def speed_target_section(rows: list[Row], variants: list[VariantResult]) -> list[str]:
    """For each variant pruned to a speed target: asked, found by the search (its noise),
    reached by the shipped file after recovery, the accuracy kept, the widths, the cost."""
    by_name = {r.variant: r for r in rows}
    lines = []
    for v in variants:
        found = v.source.speed_target
        if not found:
            continue
        row = by_name[v.variant]
        ref = by_name[row.reference]
        met = "met" if row.target_speedup_met else "**not met**"
        side = v.source.input_side
        what = (f"the search chose a {side[1]}x{side[1]} image instead of {side[0]}x{side[0]}"
                if side else f"the search removed {found['removed']:.0%} of the prunable "
                             f"channels")
        lines += [
            f"- `{v.variant}` ({found['format']}): asked {found['target']:g}x faster than "
            f"`{ref.variant}`{_aimed(found)}; {what} after "
            f"{len(found['probes'])} timed probes ({found['seconds']:.0f} s), measured "
            f"{found['reached']:.2f}x there (rounds {found['reached_low']:.2f}-"
            f"{found['reached_high']:.2f}x). The shipped file, after recovery: "
            f"{row.speedup_vs_reference:.2f}x (rounds {row.speedup_vs_reference_low:.2f}-"
            f"{row.speedup_vs_reference_high:.2f}x; {met}; p50 {row.timing[1].p50_ms:.3f} vs "
            f"{ref.timing[1].p50_ms:.3f} ms), accuracy {100 * row.tflite_accuracy:.2f}% vs "
            f"{100 * ref.tflite_accuracy:.2f}% "
            f"({100 * (row.tflite_accuracy - ref.tflite_accuracy):+.2f} pts).",
        ]
        if v.source.ratios:
            lines.append("  - share of each channel group removed: " + ", ".join(
                f"{name} {ratio:.0%}" for name, ratio in v.source.ratios.items()))
    if not lines:
        return []
    return ["", "## Speed targets", "",
            "Speedups measured on this machine's CPU (LiteRT, 1 thread, interleaved rounds); "
            "a phone's CPU may differ. The search times untrained widths (latency does not "
            "depend on the weights' values), then the chosen model recovers.", "", *lines]

