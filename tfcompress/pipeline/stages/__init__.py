"""The stages a variant can go through after its baseline: one ``Stage`` a module, registered
here by one line. The order a variant runs them in is the ``Variant`` fields' (``stage``
metadata: what each follows)."""

from __future__ import annotations

from tfcompress.pipeline.stages.base import Stage
from tfcompress.pipeline.stages.cluster import Cluster
from tfcompress.pipeline.stages.distill import Distill
from tfcompress.pipeline.stages.prune import Prune
from tfcompress.pipeline.stages.qat import Qat
from tfcompress.recipe.variant import STAGE_FIELDS

#: kind -> Stage
STAGES: dict[str, Stage] = {}


def register(stage: Stage) -> Stage:
    """Adds ``stage``; its kind must be a stage field of ``Variant`` (checked here, once)."""
    if stage.kind not in STAGE_FIELDS:
        raise ValueError(f"stage {stage.kind!r} has no field in Variant "
                         f"(stage fields: {', '.join(STAGE_FIELDS)})")
    if stage.kind in STAGES:
        raise ValueError(f"stage {stage.kind!r} is registered twice")
    STAGES[stage.kind] = stage
    return stage


register(Distill())
register(Prune())
register(Cluster())
register(Qat())

__all__ = ["STAGES", "Stage", "register"]
