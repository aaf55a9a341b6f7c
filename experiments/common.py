"""Pieces shared by the recipes: the prune -> quantize comparison and the tiny profile."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tfcompress.recipe import ExportSpec, PruneSpec, TrainSpec, Variant


#: the dense model as float32 and int8: the reference rows of every speed target
DENSE = (Variant("float32", ExportSpec("float32")), Variant("int8", ExportSpec("int8")))


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


def tiny(train_limit: int, test_limit: int, model_options: Mapping[str, Any]) -> dict[str, Any]:
    """The ``tiny`` profile: a few hundred examples, a test-size model, one epoch, a few timed
    runs. What the test suite runs, in seconds."""
    return {
        "data.train_limit": train_limit,
        "data.test_limit": test_limit,
        "model.options": dict(model_options),
        "train.epochs": 1,
        "finetune.epochs": 2,
        "variants.*.prune.frequency": 2,
        "variants.*.export.calibration_samples": 16,
        "benchmark.warmup_runs": 1,
        "benchmark.min_runs": 5,
        "benchmark.min_seconds": 0.0,
        "benchmark.throughput_batch": 4,
    }


def sparsity_variants(sparsities: tuple[float, ...], float_at: float | None,
                      frequency: int = 50) -> tuple[Variant, ...]:
    """float32 and int8 of the dense model; each sparsity as int8; one (``float_at``) also as
    float32, so the pruned float model's latency stands next to its effective MACs."""
    out = [Variant("float32", ExportSpec("float32")), Variant("int8", ExportSpec("int8"))]
    for s in sparsities:
        spec = PruneSpec(target_sparsity=s, frequency=frequency)
        if s == float_at:
            out.append(Variant(f"pruned{round(s * 100)}_float32", ExportSpec("float32"), spec))
        out.append(Variant(f"pruned{round(s * 100)}_int8", ExportSpec("int8"), spec))
    return tuple(out)


def speed_variant(name: str, fmt: str, target: float, finetune: TrainSpec,
                  **prune: Any) -> Variant:
    """Whole channels removed until the ``fmt`` file is ``target`` times faster than the
    dense ``fmt`` file (measured), then recovered with ``finetune`` (issue 28); at most 80%
    of any group goes."""
    return Variant(name, ExportSpec(fmt), PruneSpec(0.8, method="filters",
                                                    target_speedup=target,
                                                    finetune=finetune, **prune))


def resolution_variant(name: str, fmt: str, target: float, finetune: TrainSpec) -> Variant:
    """The same layers on a smaller image (``prune.method: resolution``), its side (a multiple
    of 8, at most half of it removed) searched until the ``fmt`` file is ``target`` times
    faster than the dense ``fmt`` file (measured), then fine-tuned with ``finetune``."""
    return Variant(name, ExportSpec(fmt), PruneSpec(0.5, method="resolution",
                                                    target_speedup=target, round_to=8,
                                                    finetune=finetune))
