"""Runs a recipe: train the baseline, make each variant's stages, export, evaluate, benchmark,
report. The steps are in ``steps`` (cached by ``runner``), their order in ``plan``, the checks
before any work in ``preflight``; this module puts the run together and builds the models it
starts from (in the run's Keras).

Every step but the benchmark is cached in ``output_dir/cache`` under a hash of everything it
depends on, so a rerun reuses the trained baseline, and a run interrupted mid-way resumes
(training even from its last finished epoch). The benchmark is never cached: the baseline and
every variant are measured together, in the same run, on the same machine state.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfcompress import atomic, distribute, outdir
from tfcompress.data import Dataset, load
from tfcompress.pipeline import benchmark, plan, preflight, provenance, publish, results, steps
from tfcompress.pipeline.runner import Artifact, Runner, StepRecord
from tfcompress.recipe import ModelSpec, Recipe, Variant
from tfcompress.store import Store

log = logging.getLogger("tfcompress")


@dataclass
class RunResult:
    run_dir: Path
    rows: list[dict[str, Any]]
    steps: list[StepRecord] = field(default_factory=list)


class Pipeline:
    """One run of one recipe at one profile.

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
        self.recipe = recipe
        self.profile = profile
        self.output_dir = Path(output_dir)
        self.data_dir = data_dir
        self.offline = offline
        self.overrides = list(overrides)
        self.store = Store(self.output_dir / "cache")
        if self.multi_worker() and not distribute.is_chief():
            # Non-chief workers train in step with the chief: they reuse its finished
            # steps, and write theirs (and their report) to a scratch folder of their own.
            scratch = self.output_dir / f".worker{distribute.task()[1]}"
            self.store = Store(scratch / "cache", shared=self.output_dir / "cache")
            self.output_dir = scratch
        self.runner = Runner(self.store)
        self.steps: list[StepRecord] = self.runner.records  # the same list, for callers
        self.warnings: list[str] = []  # shown at the top of the report
        self.input_card: dict[str, Any] = {}  # set from the data, written beside each .tflite
        self.test_examples = 0
        self.load_average: dict[str, list[float] | None] = {}  # around the benchmark

    def multi_worker(self) -> bool:
        r = self.recipe
        return "multi_worker" in (r.train.strategy, r.finetune.strategy)

    @property
    def run_dir(self) -> Path:
        return outdir.run_dir(self.output_dir, self.recipe.name, self.profile)

    # ------------------------------------------------------------------ the run

    def run(self) -> RunResult:
        from tfcompress import report

        started = time.time()
        self.runner.reset()
        self.warnings = []
        if self.multi_worker():
            distribute.strategy("multi_worker")  # TensorFlow wants it made early
        preflight.model_source(self)
        self.recipe = preflight.image_size_from_model(self)
        recipe = self.recipe
        outdir.check(self.output_dir)
        outdir.run_dir(self.output_dir, recipe.name, self.profile)  # refuses ../ and /abs
        data = load(recipe.data, self.data_dir, self.offline)
        self.input_card = data.input_card()
        self.test_examples = len(data.y_test)
        log.info("data: %s", data.summary())
        preflight.variants(self, data)

        sweep = None
        if recipe.sweep is not None:
            from tfcompress.sweep.search import Sweep

            sweep = Sweep(recipe, data, profile=self.profile, output_dir=self.output_dir,
                          make_trial=lambda r, v: self.make_trial(data, r, v), warn=self.warn)
            if sweep.role == "worker":  # runs trials; the chief reports
                sweep.search()
                return RunResult(self.run_dir, [], self.steps)
        made = list(recipe.variants)
        source_of = {v.name: self.source(data, v) for v in recipe.variants}
        analysis = (steps.sensitivity(self, data, source_of[recipe.baseline])
                    if recipe.sensitivity is not None else None)
        curves = self.curves(data, source_of) if recipe.curve is not None else None
        exports = {v.name: self.export(data, source_of[v.name], v) for v in recipe.variants}
        if sweep is not None:
            chosen = sweep.search()
            if chosen is not None:  # measured beside the references, in the same run
                made.append(chosen.variant)
                source_of[chosen.variant.name] = chosen.source
                exports[chosen.variant.name] = chosen.export
        latency = benchmark.measure(self, data, exports)

        variants = [results.variant_result(self, v, source_of[v.name], exports[v.name],
                                           latency[v.name]) for v in made]
        info = provenance.run_info(self, data, started)
        info["schedules"] = self.schedule_curves(data)
        if analysis is not None:
            info["sensitivity"] = analysis
        if curves is not None:
            info["curve"] = curves
        if sweep is not None:
            info["sweep"] = sweep.summary

        def fill(tmp: Path) -> None:
            publish.publish(self, tmp, variants)
            rows.extend(report.write(tmp, recipe, variants, info))

        rows: list[dict[str, Any]] = []
        atomic.replace_tree(self.run_dir, fill)
        log.info("report: %s", self.run_dir / "report.md")
        return RunResult(self.run_dir, rows, self.steps)

    def source(self, data: Dataset, v: Variant) -> Artifact:
        """The trained model variant ``v`` exports (``plan.source``)."""
        return plan.source(self, data, v)

    def curves(self, data: Dataset, source_of: dict[str, Artifact]) -> list[dict[str, Any]]:
        """``recipe.curve`` of every unpruned variant's model (each seed and training
        schedule once), labelled by the variant's group (its name when it has none)."""
        out, seen = [], set()
        for v in self.recipe.variants:
            src = source_of[v.name]
            if v.stages or src.meta["key"] in seen:
                continue
            seen.add(src.meta["key"])
            seed = self.seed_of(v)
            out.append({"variant": v.name, "group": v.group or v.name, "seed": seed,
                        "keras_test_accuracy": src.meta.get("keras_test_accuracy"),
                        **steps.curve(self, data, src, seed)})
        return out

    def export(self, data: Dataset, source: Artifact, v: Variant) -> Artifact:
        """Its .tflite file (``steps.export``)."""
        return steps.export(self, data, source, v)

    def seed_of(self, v: Variant) -> int:
        return plan.seed_of(self.recipe, v)

    def make_trial(self, data: Dataset, recipe: Recipe, v: Variant) -> tuple[Artifact, Artifact]:
        """A sweep trial's model and .tflite file: ``recipe`` (this one with the trial's changes)
        run by this run's cached steps; its steps and warnings are this run's."""
        trial = Pipeline(recipe, profile=self.profile, output_dir=self.output_dir,
                         data_dir=self.data_dir, offline=self.offline)
        trial.store = self.store
        trial.runner = Runner(self.store, records=self.runner.records)
        trial.steps = self.steps
        trial.warnings = self.warnings
        preflight.variants(trial, data)
        source = trial.source(data, v)
        return source, trial.export(data, source, v)

    def warn(self, text: str) -> None:
        """Logs ``text`` and puts it at the top of the report (once)."""
        if text not in self.warnings:
            log.warning("%s", text)
            self.warnings.append(text)

    @property
    def bare_savedmodel(self) -> bool:
        """The model is a SavedModel without a Keras model: it is converted, never run here."""
        from tfcompress import flavor

        path = self.recipe.model.path
        return bool(path) and flavor.of_file(path) == flavor.SAVEDMODEL

    @property
    def keras(self) -> str:
        """``2`` or ``3``: the Keras this run's models live in (``model.keras``)."""
        return self.recipe.model.keras_out()

    def initial_model(self, data: Dataset, spec: ModelSpec | None = None,
                      keras: str | None = None) -> Any:
        """The user's model file (``model.path``) or a freshly built registered model
        (``spec``: another model than the recipe's, e.g. a distillation student), in the
        run's Keras or in ``keras`` (``2`` for the steps that need tfmot)."""
        from tfcompress import flavor
        from tfcompress.pipeline.artifacts import as_keras

        spec = spec or self.recipe.model
        want = keras or self.keras
        if spec.path:
            from tfcompress.models import user_file

            if want == "3" and flavor.of_file(spec.path) == flavor.KERAS3:
                return user_file.load_keras3(spec.path)
            return as_keras(user_file.load(spec.path), want)
        from tfcompress import models

        # Builders that look for files (pretrained weights) search the data dir too.
        return as_keras(models.build(spec.name, data.input_shape, data.num_classes,
                                     spec.options, data_dir=self.data_dir,
                                     offline=self.offline,
                                     where="model" if spec is self.recipe.model else "student"),
                        want)

    def _finetune_steps(self, data: Dataset) -> int:
        from tfcompress.train.loop import total_steps

        return total_steps(data, self.recipe.finetune)

    def seeded_model(self, data: Dataset, seed: int, spec: ModelSpec | None = None,
                     keras: str | None = None) -> Any:
        """The model as built (its initialisation) with ``seed``: what the baseline trains,
        and what lottery tickets rewind to and SNIP prunes."""
        from tfcompress._keras import keras as tf_keras

        tf_keras.utils.set_random_seed(seed)
        return self.initial_model(data, spec, keras)

    def schedule_curves(self, data: Dataset) -> list[dict[str, Any]]:
        """The sparsity each gradual schedule holds along the fine-tuning steps (for the
        report's plot), kept at the steps where it changes."""
        from tfcompress.prune import schedule
        from tfcompress.report.table import method_label

        out, seen = [], set()
        total = self._finetune_steps(data)
        for v in self.recipe.variants:
            p = v.prune
            if p is None or p.method != "gradual" or p in seen:
                continue
            seen.add(p)
            c = schedule.curve(p, total)
            keep = [i for i, y in enumerate(c["sparsity"])
                    if i in (0, total - 1) or y != c["sparsity"][i - 1]]
            out.append({"label": f"{method_label(dataclasses.asdict(p))} "
                                 f"{p.target_sparsity:.0%}",
                        "step": [c["step"][i] for i in keep],
                        "sparsity": [c["sparsity"][i] for i in keep]})
        return out

