"""The cached step kinds: each names its output, states what its cache key depends on, and
says how it produces the output (``ctx.runner.run``). ``ctx`` is the run's ``RunContext``: the
recipe, the data directory, the runner, warnings, and how models are built.

A new step kind is one function here; a new stage of a variant is a step plus its place in
``plan.STAGES``.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tfcompress import atomic
from tfcompress.pipeline import artifacts

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.pipeline.context import RunContext
    from tfcompress.pipeline.runner import Artifact
    from tfcompress.recipe import (ClusterSpec, DistillSpec, ExportSpec, ModelSpec, PruneSpec,
                                   QatSpec, TrainSpec, Variant)

log = logging.getLogger("tfcompress")


def train_config(ctx: RunContext, seed: int, schedule: TrainSpec | None = None
                 ) -> dict[str, Any]:
    r = ctx.recipe
    config = {"data": r.data, "model": r.model, "train": schedule or r.train, "seed": seed}
    if r.transfer is not None:  # keeps the cache keys of other recipes as they were
        config["transfer"] = r.transfer
    if r.model.path:
        from tfcompress.models.user_file import file_digest

        config["model_file_sha256"] = file_digest(r.model.path)
    return config


def train(ctx: RunContext, data: Dataset, seed: int | None = None,
          schedule: TrainSpec | None = None) -> Artifact:
    """Builds (or loads) the model and trains it for ``train.epochs`` (0: as it is): the
    reference every variant is compared with (one per seed when variants repeat over
    seeds; ``schedule``: a variant's own training instead of the recipe's)."""
    from tfcompress.train import loop

    r = ctx.recipe
    seed = r.seed if seed is None else seed
    schedule = schedule or r.train

    def produce(work: Path) -> dict[str, Any]:
        if ctx.bare_savedmodel:
            return artifacts.keep_savedmodel(Path(r.model.path), work)
        model = ctx.seeded_model(data, seed, keras="2" if r.transfer is not None else None)
        if r.transfer is not None:
            history = train_transfer(ctx, model, data, work, seed)
        else:
            history = (loop.fit(model, data, schedule, work_dir=work, seed=seed)
                       if schedule.epochs else {})
        return artifacts.save_model(model, work, data, history=history,
                                    model_file=r.model.path)

    name = "baseline" if schedule == r.train else f"baseline_lr{schedule.learning_rate:g}"
    if seed != r.seed:
        name += f"_seed{seed}"
    config = train_config(ctx, seed, schedule if schedule != r.train else None)
    return ctx.runner.run("train", name, config, produce, schedule.strategy)


def train_transfer(ctx: RunContext, model: Any, data: Dataset, work: Path,
                    seed: int | None = None) -> dict[str, Any]:
    """Phase 1 trains the head on a frozen backbone, phase 2 fine-tunes its top layers.
    Phase 1's weights are kept in the work folder, so an interrupted phase 2 resumes
    without repeating phase 1."""
    from tfcompress.train import freeze, loop

    t = ctx.recipe.transfer
    seed = ctx.recipe.seed if seed is None else seed
    head_weights = work / "head_weights.h5"
    history: dict[str, Any] = {}
    freeze.freeze(model, t.backbone)  # also the state the h5 weight order depends on
    if head_weights.is_file():
        log.info("[train] head phase done before; loading %s", head_weights)
        model.load_weights(head_weights)
    else:
        log.info("[train] phase 1: head on a frozen backbone, %d trainable weights",
                 freeze.trainable_count(model))
        history["head"] = loop.fit(model, data, ctx.recipe.train, work_dir=work,
                                   phase="head", seed=seed)
        atomic.write_with(head_weights, model.save_weights)
    if t.train.epochs:
        freeze.unfreeze(model, t.backbone, t.unfreeze_from)
        log.info("[train] phase 2: fine-tuning from %s, %d trainable weights",
                 t.unfreeze_from or "the first backbone layer", freeze.trainable_count(model))
        history["finetune"] = loop.fit(model, data, t.train, work_dir=work, phase="finetune",
                                       seed=seed)
    return history


def prune(ctx: RunContext, data: Dataset, baseline: Artifact, spec: PruneSpec,
          seed: int | None = None, model_spec: ModelSpec | None = None) -> Artifact:
    """Prunes the baseline (or a distilled student: ``model_spec`` is then its model) with
    ``spec.method`` (``tfcompress.prune.methods``)."""
    from tfcompress import flavor
    from tfcompress.prune import KERAS3_NATIVE, PRUNE_METHODS, RETRAINS, STRUCTURED, magnitude
    from tfcompress.prune.methods import Job

    r = ctx.recipe
    seed = r.seed if seed is None else seed
    pct = round(spec.target_sparsity * 100)
    name = (f"pruned{pct}_{spec.schedule}" if spec.method == "gradual" else
            f"{spec.method}{pct}_{spec.scope}" + ("_reinit" if spec.reinit else "")
            + (f"_{spec.criterion}" if spec.criterion != "l1" else ""))
    if seed != r.seed:
        name += f"_seed{seed}"
    if model_spec is not None and model_spec != r.model:
        name = f"{baseline.meta['name']}_{name}"
    elif baseline.meta["name"].startswith("baseline_lr"):  # a variant's own training schedule
        name = f"{baseline.meta['name'].split('_seed')[0].removeprefix('baseline_')}_{name}"

    # A Keras 3 run prunes natively where the method can (KERAS3_NATIVE), else on the twin;
    # a transfer recipe's backbone freezing is tf_keras code: on the twin too.
    native = ctx.keras == "3" and spec.method in KERAS3_NATIVE and r.transfer is None
    keras = "3" if native else "2"

    def trained() -> Any:
        model = artifacts.load(baseline, keras)
        if r.transfer is not None:  # every pruned layer must learn to recover
            from tfcompress.train import freeze

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
        job = Job(spec=spec, data=data, train=r.train, finetune=r.finetune, seed=seed,
                  work=work, trained=trained, masks_of=masks_of,
                  initial=lambda s: ctx.seeded_model(data, s, model_spec, keras))
        out = PRUNE_METHODS.get(spec.method)(job)
        if out.masks is not None:
            atomic.write_with(work / "masks.npz", lambda tmp: np.savez(tmp, **out.masks))
        return artifacts.save_model(out.model, work, data, history=out.history,
                                    layer_sparsity=magnitude.layer_sparsity(out.model),
                                    **out.facts)

    config: dict[str, Any] = {"baseline": baseline.meta["key"], "prune": spec,
                              "finetune": r.finetune, "seed": seed}
    if spec.method in RETRAINS:  # they train with the baseline's budget
        config["train"] = r.train
    if spec.method in STRUCTURED:  # what the rebuild does has changed since the first ones
        from tfcompress.prune.methods.structured import REBUILD

        config["rebuild"] = REBUILD
    if r.transfer is not None:
        config["transfer"] = r.transfer
    return ctx.runner.run("prune", name, config, produce, r.finetune.strategy)


def distill(ctx: RunContext, data: Dataset, teacher: Artifact, spec: DistillSpec,
            seed: int) -> Artifact:
    """Trains ``spec.student`` from its seeded initialisation, taught by the trained
    ``teacher`` (``alpha`` 0: from the labels alone, the teacher is not used)."""
    from tfcompress.distill import distiller_of
    from tfcompress.train import loop

    r = ctx.recipe
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
        from tfcompress.models.user_file import file_digest

        config["student_file_sha256"] = file_digest(spec.student.path)
    return ctx.runner.run("distill", name, config, produce, train.strategy)


def cluster(ctx: RunContext, data: Dataset, source: Artifact, spec: ClusterSpec,
            seed: int) -> Artifact:
    """Clusters the source's kernels to ``spec.clusters`` values, fine-tunes, strips."""
    from tfcompress._keras import keras
    from tfcompress.prune import magnitude
    from tfcompress.quantize import cluster
    from tfcompress.train import loop

    train = spec.train or ctx.recipe.finetune
    name = f"{source.meta['name']}_cluster{spec.clusters}"

    def produce(work: Path) -> dict[str, Any]:
        keras.utils.set_random_seed(seed)
        model = artifacts.load(source, keras="2")  # tfmot's clustering
        clustered = cluster.apply(model, spec.clusters, spec.init,
                                  preserve_sparsity=spec.preserve_sparsity, skip=spec.skip)
        history = (loop.fit(clustered, data, train, work_dir=work, seed=seed)
                   if train.epochs else {})
        plain = cluster.strip(clustered)
        return artifacts.save_model(plain, work, data, history=history,
                                    unique_values=cluster.unique_values(plain),
                                    layer_sparsity=magnitude.layer_sparsity(plain))

    config = {"source": source.meta["key"], "cluster": spec, "train": train, "seed": seed}
    return ctx.runner.run("cluster", name, config, produce, train.strategy)


def qat(ctx: RunContext, data: Dataset, source: Artifact, spec: QatSpec, seed: int) -> Artifact:
    """Quantization-aware fine-tuning of the source (tfmot), saved with its fake-quant
    ranges for the int8 export."""
    from tfcompress._keras import keras
    from tfcompress.quantize import qat
    from tfcompress.train import loop

    train = spec.train or ctx.recipe.finetune
    name = f"{source.meta['name']}_qat_{spec.scheme}"

    def produce(work: Path) -> dict[str, Any]:
        keras.utils.set_random_seed(seed)
        model = artifacts.load(source, keras="2")  # tfmot's QAT
        quantized, left = qat.apply(model, spec.scheme, spec.skip)
        history = (loop.fit(quantized, data, train, work_dir=work, seed=seed)
                   if train.epochs else {})
        shutil.copyfile(source.path / "model.keras", work / "float_model.keras")
        return artifacts.save_model(quantized, work, data, counted=model, history=history,
                                    qat_float_layers=left, qat_scheme=spec.scheme,
                                    qat_skip=list(spec.skip))

    config = {"source": source.meta["key"], "qat": spec, "train": train, "seed": seed}
    return ctx.runner.run("qat", name, config, produce, train.strategy)


def export(ctx: RunContext, data: Dataset, source: Artifact, variant: Variant) -> Artifact:
    """Converts a trained model to the TFLite file an app runs (pixels in, normalization
    folded, TFLite metadata and labels inside: ``quantize/serving.py``, ``metadata.py``),
    checks its ops and measures its accuracy on the test images' pixels."""
    from tfcompress import litert
    from tfcompress.benchmark.size import file_sizes
    from tfcompress.quantize import coverage, metadata, serving, tflite

    r = ctx.recipe
    spec: ExportSpec = variant.export
    pixels = serving.takes_pixels(data, ctx.bare_savedmodel)

    def produce(work: Path) -> dict[str, Any]:
        bare = source.path / artifacts.SAVEDMODEL  # a bare SavedModel: converted as it is
        model = bare if bare.is_dir() else artifacts.load(source)
        facts: dict[str, Any] = {"input": {"pixels": False}, "metadata": None}
        if pixels:
            served = serving.wrap(model, data)
            serving.check_exact(model, served, data)
            content = tflite.convert(served, spec, data.x_train, seed=r.seed,
                                     pixels=data.pixels)
            inp = serving.input_facts(content, data)  # metadata leaves the input as it is
            content = metadata.populate(content, serving.metadata_info(model, data, r,
                                                                       variant, inp))
            facts = {"input": inp, "metadata": metadata.read(content)}
        else:
            content = tflite.convert(model, spec, data.x_train, seed=r.seed)
        (work / "model.tflite").write_bytes(content)
        accuracy = litert.accuracy(litert.LiteModel(content), data.x_test, data.y_test,
                                   desc=f"evaluating {variant.name}",
                                   prepare=data.pixels if pixels else None)
        return {"tflite_accuracy": accuracy, "coverage": coverage.coverage(content),
                "weights": litert.weights(content), **file_sizes(content), **facts}

    config = {"source": source.meta["key"], "export": spec, "data": r.data, "seed": r.seed,
              "input": "pixels" if pixels else "model"}
    return ctx.runner.run("export", variant.name, config, produce)


def sensitivity(ctx: RunContext, data: Dataset, baseline: Artifact) -> dict[str, Any]:
    """Each layer of the baseline pruned alone at each ratio (validation accuracy)."""
    from tfcompress.prune import sensitivity

    spec = ctx.recipe.sensitivity

    def produce(work: Path) -> dict[str, Any]:
        model = artifacts.load(baseline)  # either Keras
        return {"analysis": sensitivity.analyse(model, data.x_val, data.y_val, spec)}

    config = {"baseline": baseline.meta["key"], "sensitivity": spec}
    return ctx.runner.run("sensitivity", "layer sensitivity", config, produce).meta["analysis"]


def curve(ctx: RunContext, data: Dataset, source: Artifact, seed: int) -> dict[str, Any]:
    """A trained, unpruned model pruned to each of ``curve.ratios`` without retraining: test
    accuracy and Keras forward time per ratio (``tfcompress.prune.curve``)."""
    from tfcompress.prune import curve

    spec = ctx.recipe.curve

    def produce(work: Path) -> dict[str, Any]:
        model = artifacts.load(source)  # either Keras
        return {"curve": curve.analyse(model, data.x_test, data.y_test, spec, seed,
                                       desc=f"curve of {source.meta['name']}")}

    config = {"source": source.meta["key"], "curve": spec, "data": ctx.recipe.data,
              "seed": seed}
    return ctx.runner.run("curve", f"{source.meta['name']} curve", config,
                          produce).meta["curve"]
