"""Runs a recipe: train the baseline, prune, export, evaluate, benchmark, report.

Every step but the benchmark is cached in ``output_dir/cache`` under a hash of everything it
depends on, so a rerun reuses the trained baseline, and a run interrupted mid-way resumes
(training even from its last finished epoch). The benchmark is never cached: the baseline and
every variant are measured together, in the same run, on the same machine state.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tfcompress import atomic, distribute, outdir
from tfcompress.data import Dataset, load
from tfcompress.errors import InputError
from tfcompress.recipe import (ClusterSpec, DistillSpec, ExportSpec, ModelSpec, PruneSpec,
                              QatSpec, Recipe, Variant, fingerprint)
from tfcompress.store import CACHE_VERSION, Store

log = logging.getLogger("tfcompress")


@dataclass(frozen=True)
class Artifact:
    """A completed step: its cache folder and the facts it recorded (``meta.json``)."""

    path: Path
    meta: dict[str, Any]


@dataclass
class StepRecord:
    name: str
    kind: str
    key: str
    cached: bool
    seconds: float
    resumed: bool = False  # made after an interruption, from its last epoch backup


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
        self.steps: list[StepRecord] = []
        self.warnings: list[str] = []  # shown at the top of the report
        self._made: dict[tuple[Any, ...], Artifact] = {}  # each stage once per run
        self._input_card: dict[str, Any] = {}  # set from the data, written beside each .tflite
        self._test_examples = 0
        self._load_average: dict[str, list[float] | None] = {}  # around the benchmark

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
        self.steps = []
        self.warnings = []
        self._made = {}
        recipe = self.recipe
        if self.multi_worker():
            distribute.strategy("multi_worker")  # TensorFlow wants it made early
        self._check_model_source()
        outdir.check(self.output_dir)
        outdir.run_dir(self.output_dir, recipe.name, self.profile)  # refuses ../ and /abs
        data = load(recipe.data, self.data_dir, self.offline)
        self._input_card = data.input_card()
        self._test_examples = len(data.y_test)
        log.info("data: %s", data.summary())
        self.preflight(data)

        sweep = None
        if recipe.sweep is not None:
            from tfcompress.sweep.search import Sweep

            sweep = Sweep(self, data)
            if sweep.role == "worker":  # runs trials; the chief reports
                sweep.search()
                return RunResult(self.run_dir, [], self.steps)
        made = list(recipe.variants)
        source_of = {v.name: self.source(data, v) for v in recipe.variants}
        analysis = (self.sensitivity(data, source_of[recipe.baseline])
                    if recipe.sensitivity is not None else None)
        exports = {v.name: self.export(data, source_of[v.name], v) for v in recipe.variants}
        if sweep is not None:
            chosen = sweep.search()
            if chosen is not None:  # measured beside the references, in the same run
                made.append(chosen.variant)
                source_of[chosen.variant.name] = chosen.source
                exports[chosen.variant.name] = chosen.export
        latency = self.benchmark(data, exports)

        variants = [self._variant_result(v, source_of[v.name], exports[v.name],
                                         latency[v.name]) for v in made]
        info = self._run_info(data, started)
        info["schedules"] = self._schedule_curves(data)
        if analysis is not None:
            info["sensitivity"] = analysis
        if sweep is not None:
            info["sweep"] = sweep.summary
        rows = report.write(self.run_dir, recipe, variants, info, self._publish)
        log.info("report: %s", self.run_dir / "report.md")
        return RunResult(self.run_dir, rows, self.steps)

    def source(self, data: Dataset, v: Variant) -> Artifact:
        """The trained model variant ``v`` exports: the baseline, then its stages in order
        (distill -> prune -> cluster -> qat), each a cached step keyed by the one before.
        A distilled variant's seed is its student's; the teacher is the recipe-seed
        baseline."""
        r = self.recipe
        seed = self.seed_of(v)
        key: tuple[Any, ...] = ("baseline", r.seed if v.distill is not None else seed)
        if key not in self._made:
            self._made[key] = self.train_baseline(data, key[1])
        made, model_spec = self._made[key], r.model
        for stage in v.stages:
            key = (*key, stage, fingerprint(getattr(v, stage)), seed)
            if key not in self._made:
                self._made[key] = self._stage(stage, data, made, v, seed, model_spec)
            made = self._made[key]
            if stage == "distill":
                model_spec = v.distill.student
        return made

    def _stage(self, stage: str, data: Dataset, parent: Artifact, v: Variant, seed: int,
               model_spec: ModelSpec) -> Artifact:
        if stage == "distill":
            return self.distill(data, parent, v.distill, seed)
        if stage == "prune":
            return self.prune(data, parent, v.prune, seed, model_spec)
        if stage == "cluster":
            return self.cluster(data, parent, v.cluster, seed)
        return self.qat(data, parent, v.qat, seed)

    def seed_of(self, v: Variant) -> int:
        """A variant's own seed (repeats over seeds), else the recipe's."""
        return self.recipe.seed if v.seed is None else v.seed

    def _check_model_source(self) -> None:
        """A missing or wrong model file is reported before any data is loaded."""
        from tfcompress.models import MODELS, user_file

        r = self.recipe
        if r.model.path:
            user_file.check(r.model.path)
        elif r.model.name == "file":
            MODELS.get("file")((), 0)  # raises: this experiment needs --model_path
        else:
            from tfcompress.models import check_options

            check_options(r.model.name, r.model.options)
            for v in r.variants:
                if v.distill is not None and not v.distill.student.path:
                    check_options(v.distill.student.name, v.distill.student.options,
                                  f"variants.{v.name}.distill.student")
            check = getattr(MODELS.get(r.model.name), "check", None)
            if check is not None:  # e.g. pretrained weights that cannot be had
                for w in check(dict(r.model.options), r.data.image_size, self.data_dir,
                               self.offline):
                    self.warn(w)

    def preflight(self, data: Dataset) -> None:
        """Checks what can be checked before any training: the model fits the data, every
        layer can be compressed as the variants ask, every schedule reaches its target."""
        from tfcompress.prune import methods

        model = self.initial_model(data)
        self._check_fits(model, data)
        if self.recipe.transfer is not None:
            from tfcompress.train import freeze

            t = self.recipe.transfer
            freeze.unfreeze(model, t.backbone, t.unfreeze_from)  # names checked before training
        total = self._finetune_steps(data)
        students: dict[Any, Any] = {}
        sweep = self.recipe.sweep
        for v in (*self.recipe.variants, *([sweep.trial] if sweep is not None else [])):
            try:
                m = model
                if v.distill is not None:
                    spec = v.distill.student
                    key = fingerprint(spec)
                    if key not in students:
                        students[key] = self.initial_model(data, spec)
                        self._check_fits(students[key], data, "student ")
                    m = students[key]
                if v.prune is not None:
                    methods.preflight(m, v.prune, total)
                if v.cluster is not None:
                    from tfcompress.prune import masks

                    masks.prunable(m, v.cluster.skip)
                if v.qat is not None:
                    from tfcompress.quantize import qat

                    for u in qat.check(m, v.qat.skip):
                        if u["why"] != "qat.skip":
                            self.warn(f"variant {v.name}: layer {u['name']} ({u['type']}) "
                                       f"stays in float: {u['why']}")
            except InputError as e:
                raise InputError(f"variant {v.name}: {e}") from None

    def warn(self, text: str) -> None:
        """Logs ``text`` and puts it at the top of the report (once)."""
        if text not in self.warnings:
            log.warning("%s", text)
            self.warnings.append(text)

    @staticmethod
    def _check_fits(model: Any, data: Dataset, what: str = "") -> None:
        want, have = tuple(model.input_shape[1:]), data.input_shape
        fits = len(want) == len(have) and all(w in (None, h) for w, h in zip(want, have))
        if not fits:
            raise InputError(f"{what}model input shape {list(want)} does not match the data "
                             f"({data.name}: {list(have)}); pick the matching dataset or "
                             f"data.image_size")
        if model.output_shape[-1] != data.num_classes:
            raise InputError(f"{what}model has {model.output_shape[-1]} outputs but "
                             f"{data.name} has {data.num_classes} classes")

    def initial_model(self, data: Dataset, spec: ModelSpec | None = None) -> Any:
        """The user's model file (``model.path``) or a freshly built registered model
        (``spec``: another model than the recipe's, e.g. a distillation student)."""
        spec = spec or self.recipe.model
        if spec.path:
            from tfcompress.models import user_file

            return user_file.load(spec.path)
        from tfcompress import models

        # Builders that look for files (pretrained weights) search the data dir too.
        return models.build(spec.name, data.input_shape, data.num_classes, spec.options,
                            data_dir=self.data_dir, offline=self.offline,
                            where="model" if spec is self.recipe.model else "student")

    def _finetune_steps(self, data: Dataset) -> int:
        from tfcompress.train.loop import steps_per_epoch

        ft = self.recipe.finetune
        return ft.epochs * steps_per_epoch(len(data.x_train), ft.batch_size)

    # ------------------------------------------------------------------ cached steps

    def _cached(self, kind: str, name: str, config: Any,
                produce: Callable[[Path], dict[str, Any]], strategy: str = "default"
                ) -> Artifact:
        """The step's artifact from the cache, else made by ``produce`` (under the
        ``tf.distribute`` ``strategy`` when it trains) and committed."""
        key = fingerprint(kind, CACHE_VERSION, config)
        t0 = time.perf_counter()
        found = self.store.get(kind, key)
        if not found:
            with self.store.lock(kind, key, name):
                found = self.store.get(kind, key)  # made meanwhile by another process?
                if not found:
                    work = self.store.work_dir(kind, key)
                    # an epoch backup left by an interrupted run: training resumes from it
                    resumed = any((work / "backup").rglob("state.json"))
                    log.info("[%s] %s: %s (cache key %s)", kind, name,
                             "resuming" if resumed else "running", key)
                    with distribute.scope(strategy):
                        meta = produce(work)
                    path = self.store.commit(kind, key, {"name": name, **meta,
                                                         "resumed": resumed})
        if found:
            log.info("[%s] %s: reusing %s", kind, name, found)
            path = found
        artifact = Artifact(path, self.store.meta(kind, key))
        if not any(s.kind == kind and s.key == key for s in self.steps):  # once per run
            self.steps.append(StepRecord(name, kind, key, bool(found), time.perf_counter() - t0,
                                         bool(artifact.meta.get("resumed"))))
        return artifact

    def _train_config(self, seed: int) -> dict[str, Any]:
        r = self.recipe
        config = {"data": r.data, "model": r.model, "train": r.train, "seed": seed}
        if r.transfer is not None:  # keeps the cache keys of other recipes as they were
            config["transfer"] = r.transfer
        if r.model.path:
            from tfcompress.models.user_file import file_digest

            config["model_file_sha256"] = file_digest(r.model.path)
        return config

    def train_baseline(self, data: Dataset, seed: int | None = None) -> Artifact:
        """Builds (or loads) the model and trains it for ``train.epochs`` (0: as it is): the
        reference every variant is compared with (one per seed when variants repeat over
        seeds)."""
        from tfcompress.train import loop

        r = self.recipe
        seed = r.seed if seed is None else seed

        def produce(work: Path) -> dict[str, Any]:
            model = self.seeded_model(data, seed)
            if r.transfer is not None:
                history = self._train_transfer(model, data, work, seed)
            else:
                history = (loop.fit(model, data, r.train, work_dir=work, seed=seed)
                           if r.train.epochs else {})
            return self._save_model(model, work, data, history=history,
                                    model_file=r.model.path)

        name = "baseline" if seed == r.seed else f"baseline_seed{seed}"
        return self._cached("train", name, self._train_config(seed), produce,
                            r.train.strategy)

    def seeded_model(self, data: Dataset, seed: int, spec: ModelSpec | None = None) -> Any:
        """The model as built (its initialisation) with ``seed``: what the baseline trains,
        and what lottery tickets rewind to and SNIP prunes."""
        from tfcompress._keras import keras

        keras.utils.set_random_seed(seed)
        return self.initial_model(data, spec)

    def _train_transfer(self, model: Any, data: Dataset, work: Path,
                        seed: int | None = None) -> dict[str, Any]:
        """Phase 1 trains the head on a frozen backbone, phase 2 fine-tunes its top layers.
        Phase 1's weights are kept in the work folder, so an interrupted phase 2 resumes
        without repeating phase 1."""
        from tfcompress.train import freeze, loop

        t = self.recipe.transfer
        seed = self.recipe.seed if seed is None else seed
        head_weights = work / "head_weights.h5"
        history: dict[str, Any] = {}
        freeze.freeze(model, t.backbone)  # also the state the h5 weight order depends on
        if head_weights.is_file():
            log.info("[train] head phase done before; loading %s", head_weights)
            model.load_weights(head_weights)
        else:
            log.info("[train] phase 1: head on a frozen backbone, %d trainable weights",
                     freeze.trainable_count(model))
            history["head"] = loop.fit(model, data, self.recipe.train, work_dir=work,
                                       phase="head", seed=seed)
            atomic.write_with(head_weights, model.save_weights)
        if t.train.epochs:
            freeze.unfreeze(model, t.backbone, t.unfreeze_from)
            log.info("[train] phase 2: fine-tuning from %s, %d trainable weights",
                     t.unfreeze_from or "the first backbone layer", freeze.trainable_count(model))
            history["finetune"] = loop.fit(model, data, t.train, work_dir=work, phase="finetune",
                                           seed=seed)
        return history

    def prune(self, data: Dataset, baseline: Artifact, spec: PruneSpec,
              seed: int | None = None, model_spec: ModelSpec | None = None) -> Artifact:
        """Prunes the baseline (or a distilled student: ``model_spec`` is then its model) with
        ``spec.method`` (``tfcompress.prune.methods``)."""
        from tfcompress._keras import keras
        from tfcompress.prune import PRUNE_METHODS, magnitude
        from tfcompress.prune.methods import Job

        r = self.recipe
        seed = r.seed if seed is None else seed
        pct = round(spec.target_sparsity * 100)
        name = (f"pruned{pct}_{spec.schedule}" if spec.method == "gradual" else
                f"{spec.method}{pct}_{spec.scope}" + ("_reinit" if spec.reinit else ""))
        if seed != r.seed:
            name += f"_seed{seed}"
        if model_spec is not None and model_spec != r.model:
            name = f"{baseline.meta['name']}_{name}"

        def trained() -> Any:
            model = self.load(baseline)
            if r.transfer is not None:  # every pruned layer must learn to recover
                from tfcompress.train import freeze

                freeze.unfreeze(model, r.transfer.backbone)
            return model

        given = None
        if spec.reinit:  # the control reuses the ticket's mask: find (or make) it first
            ticket = self.prune(data, baseline, dataclasses.replace(spec, reinit=False), seed,
                                model_spec)
            given = dict(np.load(ticket.path / "masks.npz"))

        def produce(work: Path) -> dict[str, Any]:
            keras.utils.set_random_seed(seed)
            job = Job(spec=spec, data=data, train=r.train, finetune=r.finetune, seed=seed,
                      work=work, trained=trained, masks=given,
                      initial=lambda s: self.seeded_model(data, s, model_spec))
            out = PRUNE_METHODS.get(spec.method)(job)
            if out.masks is not None:
                atomic.write_with(work / "masks.npz", lambda tmp: np.savez(tmp, **out.masks))
            return self._save_model(out.model, work, data, history=out.history,
                                    layer_sparsity=magnitude.layer_sparsity(out.model),
                                    **out.facts)

        config: dict[str, Any] = {"baseline": baseline.meta["key"], "prune": spec,
                                  "finetune": r.finetune, "seed": seed}
        if spec.method in ("lottery", "snip"):  # they retrain with the baseline's budget
            config["train"] = r.train
        if r.transfer is not None:
            config["transfer"] = r.transfer
        return self._cached("prune", name, config, produce, r.finetune.strategy)

    def distill(self, data: Dataset, teacher: Artifact, spec: DistillSpec,
                seed: int) -> Artifact:
        """Trains ``spec.student`` from its seeded initialisation, taught by the trained
        ``teacher`` (``alpha`` 0: from the labels alone, the teacher is not used)."""
        from tfcompress.distill import Distiller
        from tfcompress.train import loop

        r = self.recipe
        train = spec.train or r.train
        student_name = spec.student.name if not spec.student.path else "student"
        name = (f"{student_name}_scratch" if spec.alpha == 0 else
                f"{student_name}_kd_T{spec.temperature:g}_a{spec.alpha:g}") + f"_seed{seed}"

        def produce(work: Path) -> dict[str, Any]:
            student = self.seeded_model(data, seed, spec.student)
            facts: dict[str, Any] = {"teacher_accuracy": None}
            if spec.alpha == 0:
                history = loop.fit(student, data, train, work_dir=work, seed=seed)
            else:
                teacher_model = self.load(teacher)
                facts["teacher_accuracy"] = teacher.meta["keras_test_accuracy"]
                distiller = Distiller(student, teacher_model, alpha=spec.alpha,
                                      temperature=spec.temperature)
                history = loop.fit(distiller, data, train, work_dir=work, seed=seed)
            return self._save_model(student, work, data, history=history, **facts)

        config: dict[str, Any] = {"student": spec.student, "train": train, "data": r.data,
                                  "seed": seed}
        if spec.alpha:
            config.update(teacher=teacher.meta["key"], alpha=spec.alpha,
                          temperature=spec.temperature)
        if spec.student.path:
            from tfcompress.models.user_file import file_digest

            config["student_file_sha256"] = file_digest(spec.student.path)
        return self._cached("distill", name, config, produce, train.strategy)

    def cluster(self, data: Dataset, source: Artifact, spec: ClusterSpec,
                seed: int) -> Artifact:
        """Clusters the source's kernels to ``spec.clusters`` values, fine-tunes, strips."""
        from tfcompress._keras import keras
        from tfcompress.prune import magnitude
        from tfcompress.quantize import cluster
        from tfcompress.train import loop

        train = spec.train or self.recipe.finetune
        name = f"{source.meta['name']}_cluster{spec.clusters}"

        def produce(work: Path) -> dict[str, Any]:
            keras.utils.set_random_seed(seed)
            model = self.load(source)
            clustered = cluster.apply(model, spec.clusters, spec.init,
                                      preserve_sparsity=spec.preserve_sparsity, skip=spec.skip)
            history = (loop.fit(clustered, data, train, work_dir=work, seed=seed)
                       if train.epochs else {})
            plain = cluster.strip(clustered)
            return self._save_model(plain, work, data, history=history,
                                    unique_values=cluster.unique_values(plain),
                                    layer_sparsity=magnitude.layer_sparsity(plain))

        config = {"source": source.meta["key"], "cluster": spec, "train": train, "seed": seed}
        return self._cached("cluster", name, config, produce, train.strategy)

    def qat(self, data: Dataset, source: Artifact, spec: QatSpec, seed: int) -> Artifact:
        """Quantization-aware fine-tuning of the source (tfmot), saved with its fake-quant
        ranges for the int8 export."""
        from tfcompress._keras import keras
        from tfcompress.quantize import qat
        from tfcompress.train import loop

        train = spec.train or self.recipe.finetune
        name = f"{source.meta['name']}_qat_{spec.scheme}"

        def produce(work: Path) -> dict[str, Any]:
            keras.utils.set_random_seed(seed)
            model = self.load(source)
            quantized, left = qat.apply(model, spec.scheme, spec.skip)
            history = (loop.fit(quantized, data, train, work_dir=work, seed=seed)
                       if train.epochs else {})
            shutil.copyfile(source.path / "model.keras", work / "float_model.keras")
            return self._save_model(quantized, work, data, counted=model, history=history,
                                    qat_float_layers=left, qat_scheme=spec.scheme,
                                    qat_skip=list(spec.skip))

        config = {"source": source.meta["key"], "qat": spec, "train": train, "seed": seed}
        return self._cached("qat", name, config, produce, train.strategy)

    def _schedule_curves(self, data: Dataset) -> list[dict[str, Any]]:
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

    def sensitivity(self, data: Dataset, baseline: Artifact) -> dict[str, Any]:
        """Each layer of the baseline pruned alone at each ratio (validation accuracy)."""
        from tfcompress.prune import sensitivity

        spec = self.recipe.sensitivity

        def produce(work: Path) -> dict[str, Any]:
            model = self.load(baseline)
            return {"analysis": sensitivity.analyse(model, data.x_val, data.y_val, spec)}

        config = {"baseline": baseline.meta["key"], "sensitivity": spec}
        return self._cached("sensitivity", "layer sensitivity", config, produce).meta["analysis"]

    @staticmethod
    def _save_model(model: Any, work: Path, data: Dataset, counted: Any = None,
                    **facts: Any) -> dict[str, Any]:
        """Saves ``model`` and records its accuracy, file size, MACs and weights (of
        ``counted`` when given: the plain model a QAT model fake-quantizes)."""
        from tfcompress.benchmark import macs
        from tfcompress.benchmark.size import count_weights, file_sizes
        from tfcompress.quantize import qat
        from tfcompress.train import loop

        from tfcompress._keras import keras

        # Saved without the optimizer state (Adam's would triple the file): the deployable
        # model, and the file size the published figures (12.5 MB for the MNIST CNN) refer to.
        if qat.is_qat(model):
            # tfmot's cluster-preserving quantizers do not survive save / load_model: keep
            # the weights, ``load`` rebuilds the QAT model from the float one the same way
            path = work / "qat_weights.npz"
            np.savez(path, *model.get_weights())
        else:
            plain = keras.models.clone_model(model)
            plain.set_weights(model.get_weights())
            path = work / "model.keras"
            plain.save(path)
        keras_file = file_sizes(path.read_bytes())
        counted = counted if counted is not None else model
        mac = macs.count(counted)
        return {"keras_test_accuracy": loop.accuracy(model, data.x_test, data.y_test),
                "keras_file_bytes": keras_file["bytes"],
                "keras_file_gzip_bytes": keras_file["gzip_bytes"],
                "macs": mac["macs"], "effective_macs": mac["effective_macs"],
                **count_weights(counted), **facts}

    @staticmethod
    def load(artifact: Artifact) -> Any:
        """The Keras model a step saved. A QAT step keeps the float model it started from
        and the QAT weights; its model is rebuilt with ``qat.apply`` and given them."""
        from tfcompress._keras import keras
        from tfcompress.quantize import qat

        weights = artifact.path / "qat_weights.npz"
        if not weights.is_file():
            return keras.models.load_model(artifact.path / "model.keras")
        float_model = keras.models.load_model(artifact.path / "float_model.keras")
        model, _ = qat.apply(float_model, artifact.meta["qat_scheme"],
                             artifact.meta["qat_skip"])
        with np.load(weights) as saved:
            model.set_weights([saved[f"arr_{i}"] for i in range(len(saved.files))])
        return model

    def export(self, data: Dataset, source: Artifact, variant: Variant) -> Artifact:
        """Converts a trained model to TFLite, checks its ops and measures its accuracy."""
        from tfcompress import litert
        from tfcompress.benchmark.size import file_sizes
        from tfcompress.quantize import coverage, tflite

        r = self.recipe
        spec: ExportSpec = variant.export

        def produce(work: Path) -> dict[str, Any]:
            model = self.load(source)
            content = tflite.convert(model, spec, data.x_train, seed=r.seed)
            (work / "model.tflite").write_bytes(content)
            accuracy = litert.accuracy(litert.LiteModel(content), data.x_test, data.y_test,
                                       desc=f"evaluating {variant.name}")
            return {"tflite_accuracy": accuracy, "coverage": coverage.coverage(content),
                    "weights": litert.weights(content), **file_sizes(content)}

        config = {"source": source.meta["key"], "export": spec, "data": r.data, "seed": r.seed}
        return self._cached("export", variant.name, config, produce)

    # ------------------------------------------------------------------ measured every run

    def benchmark(self, data: Dataset, exports: dict[str, Artifact]) -> dict[str, dict[str, Any]]:
        """Latency (batch 1) and throughput (batch ``throughput_batch``) per variant and threads,
        every file timed interleaved with the others (``latency.measure_all``)."""
        from tfcompress.benchmark import verdict
        from tfcompress.benchmark.latency import measure_all
        from tfcompress.progress import progress

        spec = self.recipe.benchmark
        contents = {name: (a.path / "model.tflite").read_bytes() for name, a in exports.items()}
        out: dict[str, dict[str, Any]] = {n: {"latency": {}, "throughput": {}} for n in exports}
        jobs = [(t, kind) for t in spec.threads for kind in ("latency", "throughput")]
        t0 = time.perf_counter()
        self._load_average["before_benchmark"] = _load_average()
        for threads, kind in progress(jobs, desc="benchmarking", unit="pass"):
            batch = 1 if kind == "latency" else spec.throughput_batch
            measured = measure_all(contents, data.x_test, spec, threads, batch=batch)
            for name, lat in measured.items():
                out[name][kind][str(threads)] = lat.to_dict()
        for name in exports:
            for threads in spec.threads:
                lat, thr = (out[name][k][str(threads)] for k in ("latency", "throughput"))
                log.info("[benchmark] %s, %d thread(s): p50 %.3f ms, p95 %.3f ms, %.0f images/s",
                         name, threads, lat["p50_ms"], lat["p95_ms"], thr["images_per_s"])
        busy = verdict.disturbed({f"{name}": lat for name in exports
                                  for lat in out[name]["latency"].values()})
        if busy:
            self.warn(f"the benchmark was disturbed: the round medians of {', '.join(busy)} "
                      f"varied by more than {verdict.DISTURBED}x (another process was using "
                      f"the CPU); differences within that noise are reported as the same "
                      f"speed. Rerun on an idle machine for finer comparisons.")
        self._load_average["after_benchmark"] = _load_average()
        self.steps.append(StepRecord("all variants", "benchmark", "-", False,
                                     time.perf_counter() - t0))
        return out

    # ------------------------------------------------------------------ results

    def _variant_result(self, v: Variant, source: Artifact, export: Artifact,
                        measured: dict[str, Any]) -> dict[str, Any]:
        src = source.meta
        exp = export.meta
        return {
            "variant": v.name,
            "export_mode": v.export.mode,
            "seed": self.seed_of(v),
            "group": v.group or v.name,
            "test_examples": self._test_examples,
            "prune": None if v.prune is None else {
                "schedule": v.prune.schedule, "target_sparsity": v.prune.target_sparsity,
                "method": v.prune.method, "scope": v.prune.scope, "rounds": v.prune.rounds,
                "reinit": v.prune.reinit},
            "distill": None if v.distill is None else {
                "student": v.distill.student.name, "alpha": v.distill.alpha,
                "temperature": v.distill.temperature},
            "cluster": None if v.cluster is None else {
                "clusters": v.cluster.clusters, "preserve_sparsity": v.cluster.preserve_sparsity},
            "qat": None if v.qat is None else {"scheme": v.qat.scheme},
            "source": {k: src.get(k) for k in (
                "name", "key", "keras_test_accuracy", "params", "nonzero_params", "macs",
                "effective_macs", "keras_file_bytes", "keras_file_gzip_bytes", "layer_sparsity",
                "model_file", "m_by_n_skipped", "m_by_n_violations", "channels",
                "structured_unsupported", "teacher_accuracy", "unique_values",
                "qat_float_layers")},
            "tflite": {k: exp.get(k) for k in (
                "key", "tflite_accuracy", "bytes", "gzip_bytes", "coverage", "weights")},
            "tflite_path": str(export.path / "model.tflite"),
            "keras_path": (str(source.path / "model.keras")
                           if (source.path / "model.keras").is_file() else None),
            **measured,
        }

    def _publish(self, run_dir: Path, variants: list[dict[str, Any]]) -> None:
        """Copies the deliverables into the (temporary) run folder: TFLite files, log links."""
        for v in variants:
            dst = run_dir / "tflite" / f"{v['variant']}.tflite"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(v["tflite_path"], dst)
            atomic.write_json(dst.with_suffix(".json"),
                              {**self._input_card, "variant": v["variant"],
                               "tflite_accuracy": v["tflite"]["tflite_accuracy"]})
            v["tflite_file"] = str(dst.relative_to(run_dir))
            if v.get("keras_path"):  # the compressed Keras model (a QAT one has none)
                keras_file = run_dir / "keras" / f"{v['variant']}.keras"
                keras_file.parent.mkdir(exist_ok=True)
                shutil.copyfile(v["keras_path"], keras_file)  # a copy: the cache stays as made
                v["keras_file"] = str(keras_file.relative_to(run_dir))
        tb = run_dir / "tensorboard"
        tb.mkdir(exist_ok=True)
        for step in self.steps:
            logs = self.store.path(step.kind, step.key) / "logs"
            link = tb / step.name
            if link.is_symlink():  # two steps of one name (e.g. over seeds): tell them apart
                link = tb / f"{step.name}_{step.key}"
            if logs.is_dir():
                link.symlink_to(os.path.relpath(logs, self.run_dir / "tensorboard"))

    def _run_info(self, data: Dataset, started: float) -> dict[str, Any]:
        return {
            "experiment": self.recipe.name,
            "description": self.recipe.description,
            "profile": self.profile,
            "warnings": list(self.warnings),
            "overrides": self.overrides,
            "recipe": self.recipe.to_dict(),
            "seed": self.recipe.seed,
            "data": data.summary(),
            "command": " ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]]),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
            "seconds": round(time.time() - started, 1),
            "steps": [vars(s) for s in self.steps],
            "load_average": dict(self._load_average),
            "machine": machine(),
            "versions": versions(),
        }


def _load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (a busy machine explains noisy latencies)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def machine() -> dict[str, Any]:
    """The CPU the numbers were measured on."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version()}


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("tfcompress", "tensorflow", "tf-keras", "tensorflow-model-optimization",
                "ai-edge-litert", "numpy"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


__all__ = ["Pipeline", "RunResult", "Artifact"]
