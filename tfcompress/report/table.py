"""One typed row per variant (``report/row.py``): accuracy, size, latency, ratios vs the
baseline and its reference, and honest notes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from tfcompress.benchmark.verdict import FASTER, SAME, Speed, compare
from tfcompress.prune import PRUNE_METHODS
from tfcompress.report.row import STATS, BatchRate, LotteryRound, Row, SeedGroup, Timing

if TYPE_CHECKING:
    from tfcompress.benchmark.latency import Latency
    from tfcompress.report.variant import VariantResult
    from tfcompress.recipe import PruneSpec, Recipe

#: A variant counts as smaller when its gzip size is at most this share of its reference's;
#: whether it is faster is ``benchmark.verdict``'s call (beyond the noise between rounds).
SMALLER = 0.9


def speed(v: VariantResult, ref: VariantResult, t: int) -> Speed:
    """``v``'s p50 latency at ``t`` threads against ``ref``'s, round by round."""
    def rounds(lat: Latency) -> list[float]:
        return list(lat.round_p50_ms) or [lat.p50_ms]

    return compare(rounds(v.latency[t]), rounds(ref.latency[t]))


def reference(recipe: Recipe, variant: VariantResult,
              by_name: dict[str, VariantResult]) -> str:
    """The row a variant's speed is judged against: the unpruned model exported the same way
    (so a pruned int8 model is compared with the dense int8 one), else the baseline."""
    if variant.prune is not None:
        for v in recipe.variants:
            if v.prune is None and v.export.mode == variant.export_mode:
                return v.name
    return recipe.baseline


def pareto_front(rows: list[Row], value: Callable[[Row], float]) -> list[str]:
    """The variants no other variant beats on both TFLite accuracy (higher) and ``value``
    (lower: latency or size), in row order; ties keep both."""
    def beaten(r: Row) -> bool:
        return any(value(o) <= value(r) and o.tflite_accuracy >= r.tflite_accuracy
                   and (value(o) < value(r) or o.tflite_accuracy > r.tflite_accuracy)
                   for o in rows)

    return [r.variant for r in rows if not beaten(r)]


def method_label(prune: PruneSpec) -> str:
    """How the method names itself (``PruneMethod.label``): ``polynomial_decay`` for tfmot's
    gradual pruning (its schedule), else the method with its criterion, scope and rounds, e.g.
    ``iterative global x4``, ``lottery reinit``, ``filters taylor``."""
    return PRUNE_METHODS.get(prune.method).label(prune)


def pruning_label(prune: PruneSpec | None) -> str:
    """``-``, or the method and its target, e.g. ``polynomial_decay 80%``."""
    if prune is None:
        return "-"
    if prune.target_speedup:  # target_sparsity is then only the most a group loses
        return method_label(prune)
    return f"{method_label(prune)} {prune.target_sparsity:.0%}"


def stages_label(v: VariantResult) -> str:
    """The compression a variant went through, in order (each stage's ``label``), e.g.
    ``KD lenet_300_100 T=4 > polynomial_decay 80% > 16 clusters > QAT pqat``."""
    return " > ".join(v.stage_labels) or "-"


def weight_stats(v: VariantResult) -> dict[str, Any]:
    """Zeros and distinct values of the weight tensors in the .tflite file."""
    w = v.tflite.weights or []
    size = sum(t["size"] for t in w)
    return {"file_weight_sparsity": (sum(t["zeros"] for t in w) / size) if size else None,
            "file_unique_per_channel_max": max((t["unique_per_channel_max"] for t in w),
                                               default=None)}


def groups(rows: list[Row]) -> list[SeedGroup]:
    """Rows repeated over seeds (same ``group``), as mean and standard deviation."""
    by: dict[str, list[Row]] = {}
    for r in rows:
        by.setdefault(r.group, []).append(r)
    out = []
    for name, rs in by.items():
        if len(rs) < 2:
            continue
        acc = np.array([r.tflite_accuracy for r in rs])
        before = [r.accuracy_before_finetune for r in rs]
        known = all(b is not None for b in before)
        out.append(SeedGroup(
            group=name, n=len(rs), seeds=[r.seed for r in rs], compression=rs[0].compression,
            export_mode=rs[0].export_mode, sparsity=float(np.mean([r.sparsity for r in rs])),
            accuracy_mean=float(acc.mean()), accuracy_std=float(acc.std(ddof=1)),
            errors_mean=float(np.mean([r.test_errors for r in rs])),
            errors_std=float(np.std([r.test_errors for r in rs], ddof=1)),
            before_mean=float(np.mean(before)) if known else None,
            before_std=float(np.std(before, ddof=1)) if known else None))
    return out


def batch_throughput(lat: Latency) -> BatchRate:
    """Images/s at a batch size: mean and std over the rounds (each round's median invoke)."""
    per_round = [lat.batch / (ms / 1e3) for ms in lat.round_p50_ms]
    if not per_round:
        return BatchRate(lat.images_per_s, 0.0)
    return BatchRate(float(np.mean(per_round)),
                     float(np.std(per_round, ddof=1)) if len(per_round) > 1 else 0.0)


def rows(recipe: Recipe, variants: list[VariantResult]) -> list[Row]:
    """One typed row per variant, with ratios vs the baseline and notes."""
    by_name = {v.variant: v for v in variants}
    base = by_name[recipe.baseline]
    t_ref = min(recipe.benchmark.threads)
    out = []
    for v in variants:
        src, lite = v.source, v.tflite
        ref = by_name[reference(recipe, v, by_name)]
        vs_base = speed(v, base, t_ref)
        vs_ref = speed(v, ref, t_ref)  # the lowest and highest per-round speedup
        target = v.prune.target_speedup if v.prune is not None else None
        speedup_vs_ref = ref.latency[t_ref].p50_ms / v.latency[t_ref].p50_ms
        stats = weight_stats(v)
        out.append(Row(
            variant=v.variant,
            export_mode=v.export_mode,
            pruning=pruning_label(v.prune),
            method="-" if v.prune is None else method_label(v.prune),
            compression=stages_label(v),
            seed=v.seed,
            group=v.group,
            target_sparsity=0.0 if v.prune is None else v.prune.target_sparsity,
            keras_accuracy=src.keras_test_accuracy,
            accuracy_before_finetune=src.accuracy_before_finetune,
            tflite_accuracy=lite.tflite_accuracy,
            test_errors=round((1 - lite.tflite_accuracy) * v.test_examples),
            accuracy_delta_pts=100 * (lite.tflite_accuracy - base.tflite.tflite_accuracy),
            params=src.params,
            nonzero_params=src.nonzero_params,
            sparsity=1 - src.nonzero_params / src.params,
            macs=src.macs,
            effective_macs=src.effective_macs,
            tflite_bytes=lite.bytes,
            tflite_gzip_bytes=lite.gzip_bytes,
            gzip_x_smaller=base.tflite.gzip_bytes / lite.gzip_bytes,
            timing={t: Timing(*(getattr(lat, f"{stat}_ms") for stat in STATS),
                              images_per_s=v.throughput[t].images_per_s)
                    for t, lat in v.latency.items()},
            throughput_batch=next(iter(v.throughput.values())).batch,
            batches={b: batch_throughput(lat) for b, lat in (v.batches or {}).items()},
            peak_rss_kib=None if v.memory is None else v.memory.peak_rss_kib,
            memory_measured=v.memory is not None,
            speedup_p50=base.latency[t_ref].p50_ms / v.latency[t_ref].p50_ms,
            speed_vs_baseline=vs_base.verdict if v is not base else SAME,
            speed_ratio_low=vs_base.low,
            speed_ratio_high=vs_base.high,
            file_weight_sparsity=stats["file_weight_sparsity"],
            file_unique_per_channel_max=stats["file_unique_per_channel_max"],
            fully_quantized=lite.coverage["fully_quantized"],
            float_ops=" ".join(lite.coverage["float_ops"]),
            reference=ref.variant,
            speedup_vs_reference=speedup_vs_ref,
            speedup_vs_reference_low=1 / vs_ref.high,
            speedup_vs_reference_high=1 / vs_ref.low,
            target_speedup=target or None,
            target_speedup_met=(speedup_vs_ref >= target) if target else None,
            notes="; ".join(notes(v, ref, t_ref)),
        ))
    return out


def notes(v: VariantResult, ref: VariantResult, t: int) -> list[str]:
    """What a reader must not miss: smaller files that do not run faster, and files the
    XNNPACK delegate refused (they ran on LiteRT's slower built-in kernels)."""
    out = ([] if v.latency[t].xnnpack else
           ["XNNPACK refused the file: built-in kernels"])
    if v is ref:
        return out
    size = v.tflite.gzip_bytes / ref.tflite.gzip_bytes
    against = speed(v, ref, t)
    if size <= SMALLER and against.verdict != FASTER:
        sparse = (v.prune is not None
                  and PRUNE_METHODS.get(v.prune.method).zeros
                  and v.prune.target_sparsity > 0)
        what = "sparse but not faster" if sparse else "smaller but not faster"
        out.append(f"{what}: gzip {size:.2f}x of {ref.variant} but {against.label()} "
                   f"({t} thread{'s' if t != 1 else ''})")
    return out


def speedup_cell(row: Row) -> str:
    """The speedup against the baseline, or ``same`` when the noise covers the difference."""
    if row.speed_vs_baseline == SAME and row.variant != row.reference:
        return "same"
    return f"{row.speedup_p50:.2f}x"


def lottery_rounds(variants: list[VariantResult]) -> dict[str, list[LotteryRound]]:
    """Per group of lottery variants that measured their rounds: each round's fraction of
    weights remaining and test accuracy (mean ± std over the seeds), early-stopping epoch
    and validation accuracy there (means)."""
    by: dict[str, list[list[dict[str, Any]]]] = {}
    for v in variants:
        if v.source.rounds and v.prune is not None and v.prune.method == "lottery":
            by.setdefault(v.group, []).append(v.source.rounds)
    out = {}
    for group, runs in by.items():
        n = min(len(r) for r in runs)
        rounds = []
        for i in range(n):
            rs = [run[i] for run in runs]

            def stat(key: str, rs=rs) -> tuple[float | None, float | None]:
                vals = [r[key] for r in rs if r.get(key) is not None]
                if not vals:
                    return None, None
                return float(np.mean(vals)), (float(np.std(vals, ddof=1)) if len(vals) > 1
                                              else 0.0)

            acc, acc_std = stat("test_accuracy")
            rounds.append(LotteryRound(
                round=rs[0]["round"], remaining=stat("remaining")[0], accuracy_mean=acc,
                accuracy_std=acc_std, n=len(rs), early_stop_epoch=stat("early_stop_epoch")[0],
                early_stop_val_accuracy=stat("early_stop_val_accuracy")[0]))
        out[group] = rounds
    return out
