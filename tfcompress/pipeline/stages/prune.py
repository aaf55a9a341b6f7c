"""Pruning, by any registered method (``tfcompress.prune.methods``): the baseline (or a
distilled student) pruned and fine-tuned, its masks kept for the methods that build on them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tfcompress import atomic, flavor
import tfcompress.pipeline.artifacts as artifacts
from tfcompress.pipeline.stages.base import Stage
from tfcompress.prune import PRUNE_METHODS, magnitude, methods, schedule
from tfcompress.prune.methods.base import Job
from tfcompress.recipe import fingerprint
from tfcompress.structured import speed
from tfcompress.report.table import pruning_label
from tfcompress.train import freeze

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.pipeline.context import RunContext
    from tfcompress.pipeline.runner import Artifact
    from tfcompress.recipe import ExportSpec, ModelSpec, PruneSpec, Variant


class Prune(Stage):
    kind = "prune"

    def check(self, ctx: RunContext, data: Dataset, model: Any, variant: Variant,
              total_steps: int, memo: dict[Any, Any]) -> Any:
        """The method can prune every layer it is asked to, its schedule reaches its target
        (``methods.preflight``); a gradual schedule with too few mask updates is named."""
        methods.preflight(model, variant.prune, total_steps)
        _gradual_enough(ctx, variant, total_steps)
        return model

    def run(self, ctx: RunContext, data: Dataset, parent: Artifact, variant: Variant,
            seed: int, model_spec: ModelSpec) -> Artifact:
        return prune(ctx, data, parent, variant.prune, seed, model_spec, variant.export)

    def identity(self, variant: Variant) -> Any:
        """A speed target is measured in the variant's format: an int8 and a float32 variant
        with the same spec prune differently."""
        same = super().identity(variant)
        return (same, fingerprint(variant.export)) if variant.prune.target_speedup else same

    def summary(self, spec: PruneSpec) -> dict[str, Any]:
        out = {"schedule": spec.schedule, "target_sparsity": spec.target_sparsity,
               "method": spec.method, "scope": spec.scope, "rounds": spec.rounds,
               "reinit": spec.reinit, "criterion": spec.criterion}
        if spec.target_speedup is not None:
            out["target_speedup"] = spec.target_speedup
        if spec.recovery != "finetune":
            out["recovery"] = spec.recovery
        if spec.round_to > 1:
            out["round_to"] = spec.round_to
        return out

    def label(self, spec: PruneSpec) -> str:
        return pruning_label(spec)


def step_name(spec: PruneSpec, seed: int, parent: Artifact, model_spec: ModelSpec | None,
              recipe_seed: int, recipe_model: ModelSpec) -> str:
    """The cached step's name, e.g. ``pruned80_polynomial_decay``, ``filters50_layer_taylor``,
    ``lr0.01_oneshot70_global_seed2``: the method's (``PruneMethod.step_name``), then where its
    model came from."""
    name = PRUNE_METHODS.get(spec.method).step_name(spec)
    if seed != recipe_seed:
        name += f"_seed{seed}"
    if model_spec is not None and model_spec != recipe_model:
        name = f"{parent.meta['name']}_{name}"
    elif parent.meta["name"].startswith("baseline_lr"):  # a variant's own training schedule
        name = f"{parent.meta['name'].split('_seed')[0].removeprefix('baseline_')}_{name}"
    return name


def prune(ctx: RunContext, data: Dataset, baseline: Artifact, spec: PruneSpec,
          seed: int | None = None, model_spec: ModelSpec | None = None,
          export: ExportSpec | None = None) -> Artifact:
    """Prunes the baseline (or a distilled student: ``model_spec`` is then its model) with
    ``spec.method`` (``tfcompress.prune.methods``); ``export``: the variant's format, in which
    a speed target is measured."""

    r = ctx.recipe
    finetune = spec.finetune or r.finetune  # a structured variant's own fine-tuning
    method = PRUNE_METHODS.get(spec.method)
    seed = r.seed if seed is None else seed
    name = step_name(spec, seed, baseline, model_spec, r.seed, r.model)

    # A Keras 3 run prunes natively where the method can (``keras3``), else on the twin;
    # a transfer recipe's backbone freezing is tf_keras code: on the twin too.
    native = ctx.keras == "3" and method.keras3 and r.transfer is None
    keras = "3" if native else "2"

    def trained() -> Any:
        model = artifacts.load(baseline, keras)
        if r.transfer is not None:  # every pruned layer must learn to recover
            freeze.unfreeze(model, r.transfer.backbone)
        return model

    def masks_of(other: PruneSpec) -> dict[str, np.ndarray]:
        """The masks of this source pruned by ``other`` (a cached step of its own)."""
        with np.load(prune(ctx, data, baseline, other, seed, model_spec).path
                     / "masks.npz") as saved:
            return dict(saved)

    def produce(work: Path) -> dict[str, Any]:
        flavor.module(flavor.KERAS3 if keras == "3" else flavor.KERAS2).utils.set_random_seed(
            seed)
        job = Job(spec=spec, data=data, train=r.train, finetune=finetune, seed=seed,
                  work=work, trained=trained, masks_of=masks_of,
                  initial=lambda s: ctx.seeded_model(data, s, model_spec, keras),
                  export=export, benchmark=r.benchmark)
        out = method.run(job)
        if out.masks is not None:
            atomic.write_with(work / "masks.npz", lambda tmp: np.savez(tmp, **out.masks))
        return artifacts.save_model(out.model, work, data, history=out.history,
                                    layer_sparsity=magnitude.layer_sparsity(out.model),
                                    **out.facts)

    config: dict[str, Any] = {"baseline": baseline.meta["key"], "prune": spec,
                              "finetune": finetune, "seed": seed,
                              **method.cache(spec, r)}  # e.g. the training budget
    if spec.target_speedup is not None:  # timed in the variant's format, as benchmarked
        # with the search's margin: a step searched before it had one is made again
        config["speed_target"] = {"export": export, "benchmark": r.benchmark,
                                  "margin": speed.MARGIN}
    if r.transfer is not None:
        config["transfer"] = r.transfer
    return ctx.runner.run("prune", name, config, produce, r.finetune.strategy)


def _gradual_enough(ctx: RunContext, v: Variant, total: int) -> None:
    """A warning (in the report) when a gradual schedule makes so few mask updates over the
    fine-tuning steps that it is about one-shot pruning."""

    if v.prune.method != "gradual" or v.prune.schedule == "constant":
        return
    p = schedule.plan(v.prune, total)
    n = schedule.updates(p)
    if n < schedule.FEWEST_UPDATES:
        ctx.warn(f"variant {v.name}: gradual pruning makes only {n} mask update(s) in "
                 f"{total} fine-tuning steps (frequency {p.frequency}), with "
                 f"{total - p.end_step - 1} step(s) to recover after the last: hardly gradual; "
                 f"raise finetune.epochs, or lower prune.frequency (auto: fitted to the "
                 f"fine-tuning)")
