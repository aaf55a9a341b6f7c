"""The models a variant is made of: its baseline, then each stage it sets, in ``Variant.stages``
order (distill -> prune -> cluster -> qat), each a cached step keyed by the one before, run by the
registered ``Stage`` (``stages``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import tfcompress.pipeline.steps as steps
from tfcompress.pipeline.stages import STAGES
from tfcompress.recipe import fingerprint

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.pipeline.context import RunContext
    from tfcompress.pipeline.runner import Artifact
    from tfcompress.recipe import ModelSpec, Recipe, Variant

def seed_of(recipe: Recipe, v: Variant) -> int:
    """A variant's own seed (repeats over seeds), else the recipe's."""
    return recipe.seed if v.seed is None else v.seed


def source(ctx: RunContext, data: Dataset, v: Variant) -> Artifact:
    """The trained model variant ``v`` exports: the baseline (trained with ``v.train`` when
    set), then its stages in order, each made once per run. A distilled variant's seed is its
    student's; the teacher is the recipe-seed baseline (a stage that ``teaches``)."""
    r = ctx.recipe
    seed = seed_of(r, v)
    (_, base), *stage_keys = _keys(r, v)
    made = ctx.runner.once(base, lambda: steps.train(ctx, data, base[1], v.train))
    model_spec: ModelSpec = r.model
    for kind, key in stage_keys:
        stage, parent = STAGES[kind], made
        made = ctx.runner.once(key, lambda stage=stage, parent=parent, spec=model_spec:
                               stage.run(ctx, data, parent, v, seed, spec))
        model_spec = stage.model_spec(getattr(v, kind), model_spec)
    return made


def _keys(r: Recipe, v: Variant) -> list[tuple[str, tuple[Any, ...]]]:
    """The run-wide identities of the models ``v`` is made of, with their step kinds: its
    baseline's (``train``), then each stage's (the same key: the same model, made once per
    run)."""
    seed = seed_of(r, v)
    teaches = any(STAGES[kind].teaches for kind in v.stages)
    key: tuple[Any, ...] = ("baseline", r.seed if teaches else seed)
    if v.train is not None:  # a baseline of its own schedule (e.g. a learning-rate study)
        key = (*key, fingerprint(v.train))
    out = [("train", key)]
    for kind in v.stages:
        key = (*key, kind, STAGES[kind].identity(v), seed)
        out.append((kind, key))
    return out


def step_kinds(r: Recipe) -> list[str]:
    """The kind of each cached step a run of ``r`` asks for, once each (what its progress
    counts): the baselines and stages its variants share, an export per variant, then the
    benchmark."""
    seen = {key: kind for v in r.variants for kind, key in _keys(r, v)}
    return [*seen.values(), *["export"] * len(r.variants), "benchmark"]
