"""The cached steps that are not a variant's stages: the baseline's training, the export to
TFLite, the sensitivity analysis and the pruning curves. Each names its output, states what its
cache key depends on, and says how it produces the output (``ctx.runner.run``). ``ctx`` is the
run's ``RunContext``: the recipe, the data directory, the runner, warnings, and how models are
built. The stages (distill, prune, cluster, qat) are objects of their own, in ``stages/``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfcompress import atomic, litert
from tfcompress.benchmark.size import file_sizes
from tfcompress.models.user_file import file_digest
import tfcompress.pipeline.artifacts as artifacts
from tfcompress.prune import curve as curves, sensitivity as sensitivities
from tfcompress.quantize import coverage, metadata, serving, tflite
from tfcompress.train import freeze, loop

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.pipeline.context import RunContext
    from tfcompress.pipeline.runner import Artifact
    from tfcompress.recipe import ExportSpec, TrainSpec, Variant

log = logging.getLogger("tfcompress")


def train_config(ctx: RunContext, seed: int, schedule: TrainSpec | None = None
                 ) -> dict[str, Any]:
    r = ctx.recipe
    config = {"data": r.data, "model": r.model, "train": schedule or r.train, "seed": seed}
    if r.transfer is not None:  # keeps the cache keys of other recipes as they were
        config["transfer"] = r.transfer
    if r.model.path:
        config["model_file_sha256"] = file_digest(r.model.path)
    return config


def train(ctx: RunContext, data: Dataset, seed: int | None = None,
          schedule: TrainSpec | None = None) -> Artifact:
    """Builds (or loads) the model and trains it for ``train.epochs`` (0: as it is): the
    reference every variant is compared with (one per seed when variants repeat over
    seeds; ``schedule``: a variant's own training instead of the recipe's)."""

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


def export(ctx: RunContext, data: Dataset, source: Artifact, variant: Variant) -> Artifact:
    """Converts a trained model to the TFLite file an app runs (pixels in, normalization
    folded, TFLite metadata and labels inside: ``quantize/serving.py``, ``metadata.py``),
    checks its ops and measures its accuracy on the test images' pixels."""

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
    spec = ctx.recipe.sensitivity

    def produce(work: Path) -> dict[str, Any]:
        model = artifacts.load(baseline)  # either Keras
        return {"analysis": sensitivities.analyse(model, data.x_val, data.y_val, spec)}

    config = {"baseline": baseline.meta["key"], "sensitivity": spec}
    return ctx.runner.run("sensitivity", "layer sensitivity", config, produce).meta["analysis"]


def curve(ctx: RunContext, data: Dataset, source: Artifact, seed: int) -> dict[str, Any]:
    """A trained, unpruned model pruned to each of ``curve.ratios`` without retraining: test
    accuracy and Keras forward time per ratio (``tfcompress.prune.curve``)."""
    spec = ctx.recipe.curve

    def produce(work: Path) -> dict[str, Any]:
        model = artifacts.load(source)  # either Keras
        return {"curve": curves.analyse(model, data.x_test, data.y_test, spec, seed,
                                        desc=f"curve of {source.meta['name']}")}

    config = {"source": source.meta["key"], "curve": spec, "data": ctx.recipe.data,
              "seed": seed}
    return ctx.runner.run("curve", f"{source.meta['name']} curve", config,
                          produce).meta["curve"]
