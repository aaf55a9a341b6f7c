"""What a step may read of its run: a plain, frozen context instead of the orchestrator.

A step (``steps``), a stage (``stages``), the checks before any work (``preflight``) and the
benchmark receive a ``RunContext``: the recipe, the runner (cache, resume, the record of steps),
the run's warnings, where the data lives, the run's Keras, and how the models it starts from are
built. They cannot reach back into the ``Pipeline`` (``core``), which is the only module that
makes one; a sweep trial is a new context over the trial's recipe, sharing the store and the
record of steps (``for_trial``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tfcompress import flavor, models
from tfcompress._keras import keras as tf_keras
from tfcompress.models import user_file
from tfcompress.pipeline.artifacts import as_keras
from tfcompress.pipeline.runner import Runner
from tfcompress.train.loop import total_steps

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.recipe import ModelSpec, Recipe

log = logging.getLogger("tfcompress")


@dataclass(frozen=True)
class RunContext:
    """One run's (or one sweep trial's) recipe and services.

    Attributes:
      recipe: the recipe, scaled to its profile, overridden and checked.
      runner: runs the cached steps and records them (``runner.records``).
      warnings: shown at the top of the report, each once; shared by a run's trials.
      data_dir, offline: where the datasets and pretrained weights are looked for.
    """

    recipe: Recipe
    runner: Runner
    warnings: list[str] = field(default_factory=list)
    data_dir: str | os.PathLike | None = None
    offline: bool | None = None
    #: warnings held back (the checks before any work: said only if the run goes on)
    held: list[str] | None = None

    def with_recipe(self, recipe: Recipe) -> RunContext:
        """The same run with ``recipe`` (e.g. after the checks dropped or fitted something)."""
        return dataclasses.replace(self, recipe=recipe)

    def for_trial(self, recipe: Recipe) -> RunContext:
        """A sweep trial: ``recipe`` run by this run's store, its steps recorded with this
        run's and its warnings this run's; what it made is remembered apart (the trial's
        stages may share a key tuple with the run's but not their recipe)."""
        return dataclasses.replace(
            self, recipe=recipe, runner=Runner(self.runner.store, records=self.runner.records))

    def warn(self, text: str) -> None:
        """Logs ``text`` and puts it at the top of the report (once)."""
        if self.held is not None:
            if text not in self.held:
                self.held.append(text)
            return
        if text not in self.warnings:
            log.warning("%s", text)
            self.warnings.append(text)

    @property
    def keras(self) -> str:
        """``2`` or ``3``: the Keras this run's models live in (``model.keras``)."""
        return self.recipe.model.keras_out()

    @property
    def bare_savedmodel(self) -> bool:
        """The model is a SavedModel without a Keras model: it is converted, never run here."""

        path = self.recipe.model.path
        return bool(path) and flavor.of_file(path) == flavor.SAVEDMODEL

    def finetune_steps(self, data: Dataset) -> int:
        """Optimizer steps of the recipe's fine-tuning on ``data``."""

        return total_steps(data, self.recipe.finetune)

    def initial_model(self, data: Dataset, spec: ModelSpec | None = None,
                      keras: str | None = None) -> Any:
        """The user's model file (``model.path``) or a freshly built registered model
        (``spec``: another model than the recipe's, e.g. a distillation student), in the
        run's Keras or in ``keras`` (``2`` for the steps that need tfmot)."""

        spec = spec or self.recipe.model
        want = keras or self.keras
        if spec.path:
            if want == "3" and flavor.of_file(spec.path) == flavor.KERAS3:
                return user_file.load_keras3(spec.path)
            return as_keras(user_file.load(spec.path), want)

        # Builders that look for files (pretrained weights) search the data dir too.
        return as_keras(models.build(spec.name, data.input_shape, data.num_classes,
                                     spec.options, data_dir=self.data_dir,
                                     offline=self.offline,
                                     where="model" if spec is self.recipe.model else "student"),
                        want)

    def seeded_model(self, data: Dataset, seed: int, spec: ModelSpec | None = None,
                     keras: str | None = None) -> Any:
        """The model as built (its initialisation) with ``seed``: what the baseline trains,
        and what lottery tickets rewind to and SNIP prunes."""

        tf_keras.utils.set_random_seed(seed)
        return self.initial_model(data, spec, keras)
