"""Pieces shared by the recipes: the prune -> quantize comparison and the tiny profile."""

from __future__ import annotations

from tfcompress.recipe import ExportSpec, PruneSpec, Variant


def prune_quant_variants(sparsity: float, frequency: int) -> tuple[Variant, ...]:
    """Dense float32 (the baseline), dynamic-range and int8; the same model gradually pruned
    to ``sparsity`` as float32 and int8; and constant-sparsity pruning as int8."""
    pct = round(sparsity * 100)
    poly = PruneSpec(target_sparsity=sparsity, schedule="polynomial_decay", frequency=frequency)
    const = PruneSpec(target_sparsity=sparsity, schedule="constant", frequency=frequency)
    return (
        Variant("float32", ExportSpec("float32")),
        Variant("dynamic", ExportSpec("dynamic")),
        Variant("int8", ExportSpec("int8")),
        Variant(f"pruned{pct}_float32", ExportSpec("float32"), poly),
        Variant(f"pruned{pct}_int8", ExportSpec("int8"), poly),
        Variant(f"constant{pct}_int8", ExportSpec("int8"), const),
    )


#: Overrides every tiny profile applies: a few timed runs, a small calibration set.
TINY_MEASUREMENT = {
    "benchmark.warmup_runs": 1,
    "benchmark.min_runs": 5,
    "benchmark.min_seconds": 0.0,
    "benchmark.throughput_batch": 4,
    "variants.*.export.calibration_samples": 16,
}
