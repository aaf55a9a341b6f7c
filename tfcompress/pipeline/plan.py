"""The order of a variant's stages and the step each one runs.

A variant's model is the baseline, then each stage it sets, in ``Variant.stages`` order
(distill -> prune -> cluster -> qat), each a cached step keyed by the one before. A stage is one
entry here: its name and how it calls its step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tfcompress.pipeline import steps
from tfcompress.recipe import fingerprint

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.pipeline.context import RunContext
    from tfcompress.pipeline.runner import Artifact
    from tfcompress.recipe import ModelSpec, Recipe, Variant

#: stage -> step(ctx, data, parent artifact, variant, seed, model spec of the parent)
STAGES: dict[str, Callable[..., Artifact]] = {
    "distill": lambda ctx, data, parent, v, seed, spec: steps.distill(ctx, data, parent,
                                                                     v.distill, seed),
    "prune": lambda ctx, data, parent, v, seed, spec: steps.prune(ctx, data, parent, v.prune,
                                                                 seed, spec),
    "cluster": lambda ctx, data, parent, v, seed, spec: steps.cluster(ctx, data, parent,
                                                                     v.cluster, seed),
    "qat": lambda ctx, data, parent, v, seed, spec: steps.qat(ctx, data, parent, v.qat, seed),
}


def seed_of(recipe: Recipe, v: Variant) -> int:
    """A variant's own seed (repeats over seeds), else the recipe's."""
    return recipe.seed if v.seed is None else v.seed


def source(ctx: RunContext, data: Dataset, v: Variant) -> Artifact:
    """The trained model variant ``v`` exports: the baseline (trained with ``v.train`` when
    set), then its stages in order, each made once per run. A distilled variant's seed is its
    student's; the teacher is the recipe-seed baseline."""
    r = ctx.recipe
    seed = seed_of(r, v)
    key: tuple[Any, ...] = ("baseline", r.seed if v.distill is not None else seed)
    if v.train is not None:  # a baseline of its own schedule (e.g. a learning-rate study)
        key = (*key, fingerprint(v.train))
    made = ctx.runner.once(key, lambda: steps.train(ctx, data, key[1], v.train))
    model_spec: ModelSpec = r.model
    for stage in v.stages:
        parent = made
        key = (*key, stage, fingerprint(getattr(v, stage)), seed)
        made = ctx.runner.once(key, lambda stage=stage, parent=parent, spec=model_spec:
                               STAGES[stage](ctx, data, parent, v, seed, spec))
        if stage == "distill":
            model_spec = v.distill.student
    return made
