"""Distillation: a student trained from its seeded initialisation, taught by the trained
baseline (``tfcompress.distill``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfcompress.distill import distiller_of
from tfcompress.models.user_file import file_digest
import tfcompress.pipeline.artifacts as artifacts
from tfcompress.pipeline.fits import check_fits
from tfcompress.pipeline.stages.base import Stage
from tfcompress.recipe import fingerprint
from tfcompress.train import loop

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.pipeline.context import RunContext
    from tfcompress.pipeline.runner import Artifact
    from tfcompress.recipe import DistillSpec, ModelSpec, Variant


class Distill(Stage):
    kind = "distill"
    teaches = True

    def check(self, ctx: RunContext, data: Dataset, model: Any, variant: Variant,
              total_steps: int, memo: dict[Any, Any]) -> Any:
        """The student fits the data; the following stages are checked on it."""
        spec = variant.distill.student
        key = ("student", fingerprint(spec))
        if key not in memo:
            memo[key] = ctx.initial_model(data, spec, keras="2")
            check_fits(memo[key], data, "student ")
        return memo[key]

    def run(self, ctx: RunContext, data: Dataset, parent: Artifact, variant: Variant,
            seed: int, model_spec: ModelSpec) -> Artifact:
        """Trains ``spec.student`` from its seeded initialisation, taught by the trained
        ``parent`` (``alpha`` 0: from the labels alone, the teacher is not used)."""
        spec: DistillSpec = variant.distill
        r = ctx.recipe
        teacher = parent
        train = spec.train or r.train
        student_name = spec.student.name if not spec.student.path else "student"
        name = (f"{student_name}_scratch" if spec.alpha == 0 else
                f"{student_name}_kd_T{spec.temperature:g}_a{spec.alpha:g}") + f"_seed{seed}"

        def produce(work: Path) -> dict[str, Any]:
            student = ctx.seeded_model(data, seed, spec.student)  # in the run's Keras
            facts: dict[str, Any] = {"teacher_accuracy": None}
            if spec.alpha == 0:
                history = loop.fit(student, data, train, work_dir=work, seed=seed)
            else:
                teacher_model = artifacts.load(teacher, keras=ctx.keras)
                facts["teacher_accuracy"] = teacher.meta["keras_test_accuracy"]
                distiller = distiller_of(student)(student, teacher_model, alpha=spec.alpha,
                                                  temperature=spec.temperature)
                history = loop.fit(distiller, data, train, work_dir=work, seed=seed)
            return artifacts.save_model(student, work, data, history=history, **facts)

        config: dict[str, Any] = {"student": spec.student, "train": train, "data": r.data,
                                  "seed": seed}
        if spec.alpha:
            config.update(teacher=teacher.meta["key"], alpha=spec.alpha,
                          temperature=spec.temperature)
        if ctx.keras == "3":  # a Keras 3 student (the tf_keras path's keys stay as they were)
            config["keras"] = "3"
        if spec.student.path:
            config["student_file_sha256"] = file_digest(spec.student.path)
        return ctx.runner.run("distill", name, config, produce, train.strategy)

    def model_spec(self, spec: DistillSpec, parent: ModelSpec) -> ModelSpec:
        return spec.student

    def summary(self, spec: DistillSpec) -> dict[str, Any]:
        return {"student": spec.student.name, "alpha": spec.alpha,
                "temperature": spec.temperature}

    def label(self, spec: DistillSpec) -> str:
        return (f"{spec.student.name} from scratch" if spec.alpha == 0 else
                f"KD {spec.student.name} T={spec.temperature:g} a={spec.alpha:g}")
