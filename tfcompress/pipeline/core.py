"""Runs a recipe: train the baseline, make each variant's stages, export, evaluate, benchmark,
report. The steps are in ``steps`` (cached by ``runner``), their order in ``plan``, the checks
before any work in ``preflight``; this module puts the run together and builds the models it
starts from (in the run's Keras).

Every step is cached in ``output_dir/cache`` under a hash of everything it depends on, so a
rerun reuses the trained baseline, and a run interrupted mid-way resumes (training even from its
last finished epoch). The benchmark times the baseline and every variant together, interleaved,
on the same machine state; it is cached by the files' content and the machine, so a rerun of the
same files re-times nothing unless asked (``benchmark.reuse``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfcompress import atomic, distribute, outdir, report
from tfcompress.data import Dataset, load
import tfcompress.pipeline.benchmark as benchmark
import tfcompress.pipeline.plan as plan
import tfcompress.pipeline.preflight as preflight
import tfcompress.pipeline.provenance as provenance
import tfcompress.pipeline.publish as publish
import tfcompress.pipeline.results as results
import tfcompress.pipeline.steps as steps
from tfcompress.pipeline.context import RunContext
from tfcompress.pipeline.runner import Artifact, Runner, StepRecord
from tfcompress.prune import schedule
from tfcompress.recipe import Recipe, Variant
from tfcompress.report.table import method_label
from tfcompress.store import Store

if TYPE_CHECKING:
    from tfcompress.report.row import Row

log = logging.getLogger("tfcompress")


@dataclass
class RunResult:
    run_dir: Path
    rows: list[Row]
    steps: list[StepRecord] = field(default_factory=list)


class Pipeline:
    """One run of one recipe at one profile: the only module that holds the whole run. Steps,
    stages, checks and the benchmark receive its ``context`` (``context.RunContext``), never
    the pipeline.

    Args:
      recipe: the recipe, already scaled to its profile and overridden.
      profile: the profile's name (for the output folder and ``run.json``).
      output_dir: root of outputs: ``<output_dir>/<experiment>/<profile>/`` gets the report,
        ``<output_dir>/cache/`` the step cache.
      data_dir, offline: passed to the dataset loader.
    """

    def __init__(self, recipe: Recipe, *, profile: str, output_dir: str | os.PathLike,
                 data_dir: str | os.PathLike | None = None, offline: bool | None = None,
                 overrides: Sequence[str] = ()):
        self.profile = profile
        self.output_dir = Path(output_dir)
        self.overrides = list(overrides)
        store = Store(self.output_dir / "cache")
        if _multi_worker(recipe) and not distribute.is_chief():
            # Non-chief workers train in step with the chief: they reuse its finished
            # steps, and write theirs (and their report) to a scratch folder of their own.
            scratch = self.output_dir / f".worker{distribute.task()[1]}"
            store = Store(scratch / "cache", shared=self.output_dir / "cache")
            self.output_dir = scratch
        self.context = RunContext(recipe, Runner(store), [], data_dir, offline)

    @property
    def recipe(self) -> Recipe:
        return self.context.recipe

    @property
    def steps(self) -> list[StepRecord]:
        """The steps of the last run, in order."""
        return self.context.runner.records

    @property
    def warnings(self) -> list[str]:
        return self.context.warnings

    @property
    def run_dir(self) -> Path:
        return outdir.run_dir(self.output_dir, self.recipe.name, self.profile)

    # ------------------------------------------------------------------ the run

    def run(self) -> RunResult:
        started = time.time()
        ctx = self.context
        ctx.runner.reset()
        ctx.warnings.clear()
        if _multi_worker(ctx.recipe):
            distribute.strategy("multi_worker")  # TensorFlow wants it made early
        ctx = ctx.with_recipe(preflight.model_source(ctx))
        ctx = self.context = ctx.with_recipe(preflight.image_size_from_model(ctx))
        recipe = ctx.recipe
        outdir.check(self.output_dir)
        outdir.run_dir(self.output_dir, recipe.name, self.profile)  # refuses ../ and /abs
        data = load(recipe.data, ctx.data_dir, ctx.offline)
        log.info("data: %s", data.summary())
        preflight.variants(ctx, data)
        ctx.runner.progress.expect(plan.step_kinds(recipe))

        sweep = None
        if recipe.sweep is not None:
            from tfcompress.sweep.search import Sweep

            sweep = Sweep(recipe, data, profile=self.profile, output_dir=self.output_dir,
                          make_trial=lambda r, v: make_trial(ctx, data, r, v), warn=ctx.warn)
            if sweep.role == "worker":  # runs trials; the chief reports
                sweep.search()
                return RunResult(self.run_dir, [], self.steps)
        variants = list(recipe.variants)
        source_of = {v.name: plan.source(ctx, data, v) for v in recipe.variants}
        analysis = (steps.sensitivity(ctx, data, source_of[recipe.baseline])
                    if recipe.sensitivity is not None else None)
        curves = _curves(ctx, data, source_of) if recipe.curve is not None else None
        exports = {v.name: steps.export(ctx, data, source_of[v.name], v)
                   for v in recipe.variants}
        if sweep is not None:
            chosen = sweep.search()
            if chosen is not None:  # measured beside the references, in the same run
                variants.append(chosen.variant)
                source_of[chosen.variant.name] = chosen.source
                exports[chosen.variant.name] = chosen.export
        measured = benchmark.measure(ctx, data, exports)

        rows_of = [results.variant_result(recipe, v, source_of[v.name], exports[v.name],
                                          measured.of[v.name], len(data.y_test))
                   for v in variants]
        info = provenance.run_info(ctx, data, started, profile=self.profile,
                                   overrides=self.overrides,
                                   load_average=measured.load_average)
        info["benchmark"] = {"timed_at": measured.timed_at, "reused": measured.reused}
        info["schedules"] = _schedule_curves(ctx, data)
        if analysis is not None:
            info["sensitivity"] = analysis
        if curves is not None:
            info["curve"] = curves
        if sweep is not None:
            info["sweep"] = sweep.summary

        def fill(tmp: Path) -> None:
            publish.publish(ctx, tmp, rows_of, data.input_card(), final_dir=self.run_dir)
            rows.extend(report.write(tmp, recipe, rows_of, info))

        rows: list[Row] = []
        atomic.replace_tree(self.run_dir, fill)
        log.info("report: %s", self.run_dir / "report.md")
        return RunResult(self.run_dir, rows, self.steps)


def _multi_worker(recipe: Recipe) -> bool:
    return "multi_worker" in (recipe.train.strategy, recipe.finetune.strategy)


def make_trial(ctx: RunContext, data: Dataset, recipe: Recipe,
               v: Variant) -> tuple[Artifact, Artifact]:
    """A sweep trial's model and .tflite file: ``recipe`` (the run's with the trial's changes)
    run by the run's cached steps; its steps and warnings are the run's."""
    trial = ctx.for_trial(recipe)
    preflight.variants(trial, data)
    source = plan.source(trial, data, v)
    return source, steps.export(trial, data, source, v)


def _curves(ctx: RunContext, data: Dataset,
            source_of: dict[str, Artifact]) -> list[dict[str, Any]]:
    """``recipe.curve`` of every unpruned variant's model (each seed and training schedule
    once), labelled by the variant's group (its name when it has none)."""
    out, seen = [], set()
    for v in ctx.recipe.variants:
        src = source_of[v.name]
        if v.stages or src.meta["key"] in seen:
            continue
        seen.add(src.meta["key"])
        seed = plan.seed_of(ctx.recipe, v)
        out.append({"variant": v.name, "group": v.group or v.name, "seed": seed,
                    "keras_test_accuracy": src.meta.get("keras_test_accuracy"),
                    **steps.curve(ctx, data, src, seed)})
    return out


def _schedule_curves(ctx: RunContext, data: Dataset) -> list[dict[str, Any]]:
    """The sparsity each gradual schedule holds along the fine-tuning steps (for the report's
    plot), kept at the steps where it changes."""
    out, seen = [], set()
    total = ctx.finetune_steps(data)
    for v in ctx.recipe.variants:
        p = v.prune
        if p is None or p.method != "gradual" or p in seen:
            continue
        seen.add(p)
        c = schedule.curve(p, total)
        keep = [i for i, y in enumerate(c["sparsity"])
                if i in (0, total - 1) or y != c["sparsity"][i - 1]]
        out.append({"label": f"{method_label(p)} "
                             f"{p.target_sparsity:.0%}",
                    "step": [c["step"][i] for i in keep],
                    "sparsity": [c["sparsity"][i] for i in keep]})
    return out
