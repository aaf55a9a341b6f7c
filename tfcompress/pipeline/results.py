"""What a variant's row is made of: its stages, its source model's facts, its .tflite file's
facts and its measured latency, in the shape ``report`` reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tfcompress.pipeline.plan as plan
from tfcompress.pipeline.stages import STAGES
from tfcompress.report.variant import FileFacts, SourceFacts, VariantResult

if TYPE_CHECKING:
    from tfcompress.pipeline.runner import Artifact
    from tfcompress.recipe import Recipe, Variant


def variant_result(recipe: Recipe, v: Variant, source: Artifact, export: Artifact,
                   measured: dict[str, Any], test_examples: int) -> VariantResult:
    """The record the report reads for variant ``v``: its stages, the facts its steps
    recorded, ``measured`` (``latency`` and ``throughput`` per thread count) and how many
    test examples its accuracies are over."""
    src = source.meta
    exp = export.meta
    return VariantResult(**{
        "variant": v.name,
        "export_mode": v.export.mode,
        "seed": plan.seed_of(recipe, v),
        "group": v.group or v.name,
        "test_examples": test_examples,
        "stages": {kind: getattr(v, kind) for kind in STAGES},
        "stage_summaries": {kind: (None if getattr(v, kind) is None
                                   else stage.summary(getattr(v, kind)))
                            for kind, stage in STAGES.items()},
        "stage_labels": [STAGES[kind].label(getattr(v, kind)) for kind in v.stages],
        "source": SourceFacts.of(src),
        "tflite": FileFacts.of(exp),
        "tflite_path": str(export.path / "model.tflite"),
        "keras_path": (str(source.path / "model.keras")
                       if (source.path / "model.keras").is_file() else None),
        **VariantResult.measured(measured),
    })
