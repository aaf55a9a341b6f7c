"""Recipes: an experiment as plain, validated data.

A recipe names a baseline (data, model, training) and the variants that branch from it
(pruned or not, exported as float32 / dynamic-range / int8 TFLite), so one run compares them
side by side. Recipes hold no TensorFlow objects: every name in them is resolved by a
``Registry`` when the pipeline runs. Profiles (``tiny``/``quick``/``full``) and the CLI's
``--override key=value`` use the same mechanism: dotted paths applied with ``dataclasses.replace``,
so each change is validated again by ``__post_init__``.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import json
import math
import re
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tfcompress.data import AUGMENTATIONS, DATASETS
from tfcompress.distribute import STRATEGIES
from tfcompress.errors import InputError, unknown_name
from tfcompress.models import MODELS
from tfcompress.prune import PRUNE_METHODS, SCHEDULES, TFMOT
from tfcompress.quantize import (CALIBRATED_MODES, CLUSTER_INITS, EXPORT_MODES, IO_TYPES,
                                 QAT_MODES, QAT_SCHEMES)
from tfcompress.sweep import OBJECTIVES, PARAM_KINDS, TUNERS
from tfcompress.train import LR_SCHEDULES, OPTIMIZERS

#: field metadata: leave the field out of hashes while it holds its default, so that fields
#: added later do not invalidate cached steps of recipes that do not use them.
LATER = {"hash_default": False}


PROFILES = ("tiny", "quick", "full")
DEFAULT_PROFILE = "quick"


def _require(ok: bool, path: str, allowed: str, value: Any) -> None:
    if not ok:
        raise InputError(f"{path} must be {allowed}; received {value!r}")


def _positive_int(path: str, value: Any) -> None:
    _require(isinstance(value, int) and not isinstance(value, bool) and value > 0,
             path, "a positive integer", value)


def _number(value: Any) -> bool:
    """A finite int or float (never a bool, NaN or infinity)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


#: Seeds go to numpy, Python and TensorFlow alike; this is the range all of them take.
MAX_SEED = 2**31 - 1
#: More epochs than any published schedule by far: a larger number is a typo, not a plan.
MAX_EPOCHS = 10_000
#: Recipe names become folder names under --output_dir, so they may not hold a path.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def _seed(path: str, value: Any, *, optional: bool = False) -> None:
    ok = (optional and value is None) or (
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SEED)
    _require(ok, path, f"an integer in [0, {MAX_SEED}]" + (" or none" if optional else ""),
             value)


def _as_tuples(spec: Any, *names: str) -> None:
    """Lists given for tuple fields (from Python or --override) become tuples: recipes are
    immutable and hashable."""
    for name in names:
        value = getattr(spec, name)
        if isinstance(value, list):
            object.__setattr__(spec, name, tuple(value))


def _fraction(path: str, value: Any, *, open_top: bool = False) -> None:
    ok = _number(value) and 0.0 <= value and (value < 1.0 if open_top else value <= 1.0)
    _require(ok, path, "a number in [0, 1)" if open_top else "a number in [0, 1]", value)


@dataclass(frozen=True)
class DataSpec:
    """Which dataset, and how much of it a profile uses.

    Attributes:
      name: a registered dataset (``tfcompress.data.DATASETS``).
      val_fraction: share of the training set held out for validation (stratified).
      train_limit: use at most this many training examples (None: all); profiles shrink it.
      test_limit: evaluate on at most this many test examples (None: the full test set).
      split_seed: seed of the validation split and of the subsets.
      path: the folder or archive of dataset ``image_folder`` (absolute or in the data dir).
      image_size: [height, width] images are resized to (image folders).
      mean, std: per-channel normalisation ``(x - mean) / std`` of 0..1 pixels (None: none).
      augment: training-time augmentation (``tfcompress.data.AUGMENTATIONS``).
    """

    name: str
    val_fraction: float = 0.1
    train_limit: int | None = None
    test_limit: int | None = None
    split_seed: int = 0
    path: str | None = None
    image_size: tuple[int, int] | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    augment: str = "none"

    def __post_init__(self) -> None:
        _as_tuples(self, "image_size", "mean", "std")
        DATASETS.check(self.name)
        _require(_number(self.val_fraction) and 0.0 < self.val_fraction < 0.5,
                 "data.val_fraction", "a number in (0, 0.5)", self.val_fraction)
        for name in ("train_limit", "test_limit"):
            value = getattr(self, name)
            if value is not None:
                _positive_int(f"data.{name}", value)
        _seed("data.split_seed", self.split_seed)
        _require(self.path is None or isinstance(self.path, str), "data.path", "a path",
                 self.path)
        if self.image_size is not None:
            _require(isinstance(self.image_size, tuple) and len(self.image_size) == 2
                     and all(isinstance(v, int) and v > 0 for v in self.image_size),
                     "data.image_size", "[height, width] in pixels", self.image_size)
        for name in ("mean", "std"):
            value = getattr(self, name)
            if value is not None:
                _require(isinstance(value, tuple) and len(value) > 0
                         and all(_number(v) for v in value), f"data.{name}",
                         "a list of numbers, one per channel", value)
        if self.std is not None:
            _require(all(v > 0 for v in self.std), "data.std", "positive", self.std)
        AUGMENTATIONS.check(self.augment)


@dataclass(frozen=True)
class ModelSpec:
    """A registered model builder and its keyword options (e.g. layer widths), or a model file.

    Attributes:
      path: a Keras model the user brings (``.keras``, ``.h5`` or a SavedModel folder); when
        set it replaces the builder, and ``train.epochs`` may be 0 to use it as it is.
    """

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    path: str | None = None

    def __post_init__(self) -> None:
        MODELS.check(self.name)
        _require(isinstance(self.options, Mapping), "model.options", "a mapping", self.options)
        _require(self.path is None or (isinstance(self.path, str) and self.path),
                 "model.path", "a path to a Keras model file", self.path)


@dataclass(frozen=True)
class TrainSpec:
    """How a model is trained (the baseline) or fine-tuned (after pruning).

    Attributes:
      epochs: 0 trains nothing (a user's model used as it is).
      lr_schedule: ``constant``, or ``step``: divided by 10 at 50% and 75% of the epochs (He
        et al. 2016).
      weight_decay: decoupled weight decay of the optimizer (0: none).
      strategy: the ``tf.distribute`` strategy training runs under (``default``,
        ``mirrored``, ``multi_worker``; see ``tfcompress.distribute``).
    """

    epochs: int
    batch_size: int = 128
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9  # used by "sgd" only
    lr_schedule: str = "constant"
    weight_decay: float = 0.0
    strategy: str = field(default="default", metadata=LATER)

    def __post_init__(self) -> None:
        _require(isinstance(self.epochs, int) and not isinstance(self.epochs, bool)
                 and 0 <= self.epochs <= MAX_EPOCHS, "epochs",
                 f"an integer >= 0 (at most {MAX_EPOCHS:,})", self.epochs)
        _positive_int("batch_size", self.batch_size)
        OPTIMIZERS.check(self.optimizer)
        _require(_number(self.learning_rate) and self.learning_rate > 0,
                 "learning_rate", "a positive number", self.learning_rate)
        _fraction("momentum", self.momentum, open_top=True)
        LR_SCHEDULES.check(self.lr_schedule)
        _require(_number(self.weight_decay) and self.weight_decay >= 0, "weight_decay",
                 "a number >= 0", self.weight_decay)
        if self.strategy not in STRATEGIES:
            raise unknown_name("strategy", self.strategy, STRATEGIES)


@dataclass(frozen=True)
class TransferSpec:
    """Two-phase transfer learning (the Keras transfer-learning guide).

    Phase 1 is the recipe's ``train`` with the nested ``backbone`` layer frozen (feature
    extraction: only the new head learns). Phase 2 unfreezes the backbone from layer
    ``unfreeze_from`` on (None: all of it) and trains with ``train``, normally for a few epochs
    at a learning rate 10-100x lower. Batch normalisation layers stay frozen in both phases
    (their ImageNet statistics would not survive small CPU batches).
    """

    train: TrainSpec
    backbone: str = "backbone"
    unfreeze_from: str | None = None

    def __post_init__(self) -> None:
        _require(isinstance(self.backbone, str) and self.backbone, "transfer.backbone",
                 "the name of the model's nested backbone layer", self.backbone)
        _require(self.unfreeze_from is None or
                 (isinstance(self.unfreeze_from, str) and self.unfreeze_from),
                 "transfer.unfreeze_from", "a layer name of the backbone, or none",
                 self.unfreeze_from)


@dataclass(frozen=True)
class PruneSpec:
    """How a variant is pruned: a method, its target and schedule, and which layers.

    ``begin_fraction``/``end_fraction`` are fractions of the fine-tuning steps, so the schedule
    follows the profile's epochs; ``frequency`` is the number of steps between mask updates.

    Attributes:
      method: ``gradual`` (tfmot), ``oneshot``, ``iterative``, ``lottery``, ``snip``,
        ``m_by_n`` (see ``tfcompress.prune.methods``).
      schedule: for ``gradual``: ``polynomial_decay``, ``constant`` or ``piecewise`` (the
        user's own: ``points`` of [fraction of the fine-tuning steps, sparsity]).
      scope: ``layer`` (every layer at the target) or ``global`` (one magnitude threshold over
        all prunable weights) for oneshot / iterative / lottery / snip.
      skip: the layers left dense: names, or ``first`` / ``last`` (prunable layer by position).
      rounds: prune / retrain cycles of ``iterative`` and ``lottery``.
      rewind_epoch: ``lottery`` rewinds to the weights after this many training epochs
        (0: the initialisation).
      reinit: ``lottery``'s control: the final mask on a fresh random initialisation.
      m_by_n: ``m_by_n``'s pattern, e.g. [2, 4] = 2 zeros in every 4 weights.
      snip_batches: mini-batches SNIP's saliency is summed over.
      slimming_penalty: L1 weight on batch norm gammas during ``slimming``'s training.

    For the structured methods (``filters``, ``slimming``) ``target_sparsity`` is the share
    of channels removed, and ``skip`` names producer layers whose channels stay, or
    ``residual`` to keep every residual stream whole.
    """

    target_sparsity: float
    schedule: str = "polynomial_decay"
    initial_sparsity: float = 0.0
    begin_fraction: float = 0.0
    end_fraction: float = 0.75
    frequency: int = 100
    power: float = 3.0
    method: str = field(default="gradual", metadata=LATER)
    scope: str = field(default="layer", metadata=LATER)
    skip: tuple[str, ...] = field(default=(), metadata=LATER)
    rounds: int = field(default=1, metadata=LATER)
    rewind_epoch: int = field(default=0, metadata=LATER)
    reinit: bool = field(default=False, metadata=LATER)
    m_by_n: tuple[int, int] | None = field(default=None, metadata=LATER)
    snip_batches: int = field(default=1, metadata=LATER)
    points: tuple[tuple[float, float], ...] = field(default=(), metadata=LATER)
    slimming_penalty: float = field(default=1e-4, metadata=LATER)

    def __post_init__(self) -> None:
        _as_tuples(self, "skip", "m_by_n")
        object.__setattr__(self, "points", tuple(tuple(p) for p in self.points))
        _fraction("prune.target_sparsity", self.target_sparsity, open_top=True)
        SCHEDULES.check(self.schedule)
        PRUNE_METHODS.check(self.method)
        if self.scope not in ("layer", "global"):
            raise unknown_name("prune.scope", self.scope, ("layer", "global"))
        if self.method in TFMOT:
            _require(self.scope == "layer", "prune.scope",
                     f"'layer' for method {self.method} (tfmot prunes each layer to the "
                     f"target; use oneshot or iterative for global)", self.scope)
        _require(isinstance(self.skip, tuple) and all(isinstance(n, str) for n in self.skip),
                 "prune.skip", "a list of layer names (or first / last)", self.skip)
        _positive_int("prune.rounds", self.rounds)
        if self.rounds > 1:
            _require(self.method in ("iterative", "lottery"), "prune.rounds",
                     "1 unless method is iterative or lottery", self.rounds)
        _require(isinstance(self.rewind_epoch, int) and self.rewind_epoch >= 0,
                 "prune.rewind_epoch", "an integer >= 0", self.rewind_epoch)
        _require(isinstance(self.reinit, bool) and (not self.reinit or self.method == "lottery"),
                 "prune.reinit", "true only with method lottery", self.reinit)
        _positive_int("prune.snip_batches", self.snip_batches)
        _require(_number(self.slimming_penalty) and self.slimming_penalty >= 0,
                 "prune.slimming_penalty", "a number >= 0", self.slimming_penalty)
        if self.method == "m_by_n":
            mn = self.m_by_n
            _require(isinstance(mn, tuple) and len(mn) == 2 and all(isinstance(v, int)
                                                                    for v in mn)
                     and 0 < mn[0] < mn[1], "prune.m_by_n", "[m, n] with 0 < m < n, e.g. "
                     "[2, 4]", mn)
            _require(abs(self.target_sparsity - mn[0] / mn[1]) < 1e-9,
                     "prune.target_sparsity", f"m / n = {mn[0] / mn[1]} for m_by_n {list(mn)}",
                     self.target_sparsity)
        else:
            _require(self.m_by_n is None, "prune.m_by_n", "unset unless method is m_by_n",
                     self.m_by_n)
        if self.schedule == "piecewise":
            pts = self.points
            ok = (len(pts) >= 1 and all(len(p) == 2 and all(_number(v) for v in p)
                                        and 0 <= p[0] <= 1 and 0 <= p[1] < 1 for p in pts)
                  and all(a[0] < b[0] and a[1] <= b[1] for a, b in zip(pts, pts[1:]))
                  and abs(pts[-1][1] - self.target_sparsity) < 1e-9)
            _require(ok, "prune.points", "[[fraction of steps, sparsity], ...] with rising "
                     "fractions in [0, 1], non-decreasing sparsities in [0, 1), the last "
                     "equal to target_sparsity", [list(p) for p in pts])
        else:
            _require(not self.points, "prune.points", "unset unless schedule is piecewise",
                     self.points)
        _fraction("prune.initial_sparsity", self.initial_sparsity, open_top=True)
        _require(self.initial_sparsity <= self.target_sparsity, "prune.initial_sparsity",
                 f"<= target_sparsity ({self.target_sparsity})", self.initial_sparsity)
        _fraction("prune.begin_fraction", self.begin_fraction, open_top=True)
        _fraction("prune.end_fraction", self.end_fraction)
        _require(self.begin_fraction < self.end_fraction, "prune.end_fraction",
                 f"> begin_fraction ({self.begin_fraction})", self.end_fraction)
        _positive_int("prune.frequency", self.frequency)
        _require(_number(self.power) and self.power > 0, "prune.power", "a positive number",
                 self.power)


@dataclass(frozen=True)
class SensitivitySpec:
    """Layer sensitivity analysis: every prunable layer pruned alone (one-shot magnitude, no
    retraining) at each ratio, validation accuracy measured.

    Attributes:
      tolerance: accuracy drop (points) a layer may cost; the proposed target of a layer is
        its highest ratio within it.
      skip: layers not analysed (names, ``first``, ``last``).
    """

    ratios: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9)
    tolerance: float = 1.0
    skip: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _as_tuples(self, "ratios", "skip")
        _require(isinstance(self.ratios, tuple) and len(self.ratios) > 0
                 and all(_number(r) and 0 < r < 1 for r in self.ratios)
                 and list(self.ratios) == sorted(set(self.ratios)),
                 "sensitivity.ratios", "rising numbers in (0, 1)", self.ratios)
        _require(_number(self.tolerance) and self.tolerance >= 0, "sensitivity.tolerance",
                 "accuracy points >= 0", self.tolerance)


@dataclass(frozen=True)
class ExportSpec:
    """TFLite conversion (``tfcompress.quantize.tflite``).

    Attributes:
      mode: ``float32``, ``float16``, ``dynamic`` (range), ``int8`` (full integer),
        ``int16x8``, ``float32_sparse``, ``int8_sparse``.
      calibration_samples: training examples the integer modes calibrate on.
      io: input/output type of the integer modes: ``int8`` (default), ``uint8`` or
        ``float32`` for int8; ``int16`` (default) or ``float32`` for int16x8.
      per_channel: per-channel convolution weight scales (TFLite's default); false gives
        per-tensor scales, which some accelerators require.
    """

    mode: str = "float32"
    calibration_samples: int = 256
    io: str | None = field(default=None, metadata=LATER)
    per_channel: bool = field(default=True, metadata=LATER)

    def __post_init__(self) -> None:
        EXPORT_MODES.check(self.mode)
        _positive_int("export.calibration_samples", self.calibration_samples)
        allowed = IO_TYPES.get(self.mode, ("float32",))
        if self.io is not None and self.io not in allowed:
            raise unknown_name(f"export.io of mode {self.mode}", self.io, allowed)
        _require(isinstance(self.per_channel, bool), "export.per_channel", "true or false",
                 self.per_channel)
        _require(self.per_channel or self.mode in CALIBRATED_MODES, "export.per_channel",
                 f"true unless the mode is one of {sorted(CALIBRATED_MODES)}",
                 self.per_channel)

    @property
    def io_type(self) -> str:
        """The input/output type the file will have."""
        return self.io or IO_TYPES.get(self.mode, ("float32",))[0]


@dataclass(frozen=True)
class DistillSpec:
    """Knowledge distillation (``tfcompress.distill.Distiller``): the baseline is the teacher.

    Attributes:
      student: the model trained (any registered builder with its options, or a file).
      alpha: weight of the distillation term; 0 trains the student from scratch on the
        labels alone (the control), without the teacher.
      temperature: softening temperature T.
      train: the student's training (None: the recipe's ``train``).
    """

    student: ModelSpec
    alpha: float = 1.0
    temperature: float = 4.0
    train: TrainSpec | None = None

    def __post_init__(self) -> None:
        _require(isinstance(self.student, ModelSpec), "distill.student",
                 "a model (name and options)", self.student)
        _require(_number(self.alpha) and self.alpha >= 0, "distill.alpha", "a number >= 0",
                 self.alpha)
        _require(_number(self.temperature) and self.temperature > 0, "distill.temperature",
                 "a number > 0", self.temperature)


@dataclass(frozen=True)
class ClusterSpec:
    """Weight clustering (k-means weight sharing, Han et al.'s Deep Compression) with tfmot:
    each clustered kernel keeps ``clusters`` distinct values, fine-tuned with the recipe's
    ``finetune`` (or ``train``), then stripped.

    Attributes:
      clusters: distinct values per kernel (>= 2).
      init: centroid initialisation: ``kmeans_plus_plus``, ``linear``, ``density``, ``random``.
      preserve_sparsity: keep the zeros of a pruned model (sparsity-preserving clustering).
      skip: layers left unclustered (names, ``first``, ``last``).
    """

    clusters: int = 16
    init: str = "kmeans_plus_plus"
    preserve_sparsity: bool = False
    skip: tuple[str, ...] = ()
    train: TrainSpec | None = None

    def __post_init__(self) -> None:
        _as_tuples(self, "skip")
        _require(isinstance(self.clusters, int) and not isinstance(self.clusters, bool)
                 and self.clusters >= 2, "cluster.clusters", "an integer >= 2", self.clusters)
        if self.init not in CLUSTER_INITS:
            raise unknown_name("cluster.init", self.init, CLUSTER_INITS)
        _require(isinstance(self.preserve_sparsity, bool), "cluster.preserve_sparsity",
                 "true or false", self.preserve_sparsity)


@dataclass(frozen=True)
class QatSpec:
    """Quantization-aware training with tfmot (fake-quantized fine-tuning), then int8 export.

    Attributes:
      scheme: ``default`` (``quantize_model``), ``pqat`` (keeps a pruned model's zeros),
        ``cqat`` (keeps a clustered model's values), ``pcqat`` (both): tfmot's
        collaborative optimization.
      skip: layers left in float (annotate/apply: only the others are quantized); layers tfmot
        cannot quantize are left in float too, and the report lists them.
      train: the fine-tuning (None: the recipe's ``finetune``).
    """

    scheme: str = "default"
    skip: tuple[str, ...] = ()
    train: TrainSpec | None = None

    def __post_init__(self) -> None:
        _as_tuples(self, "skip")
        if self.scheme not in QAT_SCHEMES:
            raise unknown_name("qat.scheme", self.scheme, QAT_SCHEMES)
        _require(all(isinstance(n, str) for n in self.skip), "qat.skip",
                 "a list of layer names", self.skip)


@dataclass(frozen=True)
class Variant:
    """One row of the comparison: the baseline, or a model made from it by the stages set
    here, always in this order: ``distill`` (a student from the baseline as teacher) ->
    ``prune`` -> ``cluster`` -> ``qat``; then exported as ``export`` says."""

    name: str
    export: ExportSpec = field(default_factory=ExportSpec)
    prune: PruneSpec | None = None
    seed: int | None = field(default=None, metadata=LATER)
    group: str | None = field(default=None, metadata=LATER)
    distill: DistillSpec | None = field(default=None, metadata=LATER)
    cluster: ClusterSpec | None = field(default=None, metadata=LATER)
    qat: QatSpec | None = field(default=None, metadata=LATER)

    def __post_init__(self) -> None:
        _require(isinstance(self.name, str) and self.name.isidentifier(), "variant name",
                 "an identifier (letters, digits, _)", self.name)
        _seed(f"variants.{self.name}.seed", self.seed, optional=True)
        _require(self.group is None or isinstance(self.group, str),
                 f"variants.{self.name}.group", "a name shared by repeats of one "
                 "configuration (e.g. over seeds)", self.group)
        if self.cluster is not None and self.cluster.preserve_sparsity:
            _require(self.prune is not None, f"variants.{self.name}.cluster.preserve_sparsity",
                     "false unless the variant is pruned", True)
        if self.qat is not None:
            _require(self.export.mode in QAT_MODES, f"variants.{self.name}.export.mode",
                     f"one of {sorted(QAT_MODES)} after quantization-aware training",
                     self.export.mode)
            # tfmot's per-tensor QAT (disable_per_axis) converts wrongly with TF 2.21
            # (Keras 95.7% -> TFLite 22.3% on tiny_mobilenet): per-channel only
            _require(self.export.per_channel, f"variants.{self.name}.export.per_channel",
                     "true after quantization-aware training", self.export.per_channel)
            needs = {"pqat": ("prune",), "cqat": ("cluster",), "pcqat": ("prune", "cluster")}
            for stage in needs.get(self.qat.scheme, ()):
                _require(getattr(self, stage) is not None, f"variants.{self.name}.qat.scheme",
                         f"'default' unless the variant has a {stage} stage (scheme "
                         f"{self.qat.scheme} preserves what {stage} made)", self.qat.scheme)

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages this variant runs after the baseline, in order."""
        return tuple(s for s in ("distill", "prune", "cluster", "qat")
                     if getattr(self, s) is not None)


@dataclass(frozen=True)
class BenchmarkSpec:
    """LiteRT CPU benchmark: warm-up, then at least ``min_runs`` and ``min_seconds`` per file,
    timed in ``rounds`` that visit every file in turn, so that a change in the machine's load
    falls on all files alike and the spread between rounds shows how much noise there was."""

    threads: tuple[int, ...] = (1, 2)
    warmup_runs: int = 10
    min_runs: int = 100
    min_seconds: float = 2.0
    throughput_batch: int = 32
    rounds: int = field(default=5, metadata=LATER)

    def __post_init__(self) -> None:
        _as_tuples(self, "threads")
        _require(isinstance(self.threads, tuple) and len(self.threads) > 0
                 and all(isinstance(t, int) and t > 0 for t in self.threads),
                 "benchmark.threads", "a non-empty list of positive integers", self.threads)
        _require(isinstance(self.warmup_runs, int) and self.warmup_runs >= 0,
                 "benchmark.warmup_runs", "an integer >= 0", self.warmup_runs)
        _positive_int("benchmark.min_runs", self.min_runs)
        _require(_number(self.min_seconds) and self.min_seconds >= 0,
                 "benchmark.min_seconds", "a number >= 0", self.min_seconds)
        _positive_int("benchmark.throughput_batch", self.throughput_batch)
        _require(isinstance(self.rounds, int) and not isinstance(self.rounds, bool)
                 and 1 <= self.rounds <= 100, "benchmark.rounds", "an integer in [1, 100]",
                 self.rounds)


@dataclass(frozen=True)
class Param:
    """One dimension of a sweep's search space: a recipe path (as ``--override`` takes it)
    and the values a trial may give it.

    Attributes:
      path: e.g. ``sweep.trial.prune.target_sparsity`` (the trial variant's fields) or
        ``finetune.epochs``.
      kind: ``float`` or ``int`` (``low`` .. ``high``, every ``step`` if set, ``sampling``
        ``linear`` or ``log``), or ``choice`` (one of ``values``).
    """

    path: str
    kind: str = "float"
    low: float | None = None
    high: float | None = None
    step: float | None = None
    sampling: str = "linear"
    values: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        _as_tuples(self, "values")
        _require(isinstance(self.path, str) and bool(self.path) and
                 not self.path.startswith("profiles.") and
                 (not self.path.startswith("sweep.") or self.path.startswith("sweep.trial.")),
                 "sweep.space path", "a recipe path such as sweep.trial.prune.target_sparsity "
                 "or finetune.epochs", self.path)
        where = f"sweep.space {self.path}"
        if self.kind not in PARAM_KINDS:
            raise unknown_name(f"{where} kind", self.kind, PARAM_KINDS)
        if self.kind == "choice":
            _require(len(self.values) > 0 and len(set(map(repr, self.values))) ==
                     len(self.values) and all(isinstance(v, (str, int, float, bool))
                                              for v in self.values),
                     f"{where} values", "a non-empty list of distinct numbers or names",
                     self.values)
            _require(self.low is None and self.high is None and self.step is None,
                     f"{where} low/high/step", "unset for a choice", (self.low, self.high))
            return
        _require(not self.values, f"{where} values", "unset unless kind is choice", self.values)
        integral = self.kind == "int"
        ok = all((isinstance(v, int) and not isinstance(v, bool)) if integral else _number(v)
                 for v in (self.low, self.high))
        _require(ok and self.low < self.high, f"{where} low/high",
                 f"{'integers' if integral else 'numbers'} with low < high",
                 [self.low, self.high])
        if self.step is not None:
            _require((_number(self.step) and self.step > 0) and
                     (not integral or isinstance(self.step, int)), f"{where} step",
                     "a positive " + ("integer" if integral else "number"), self.step)
        if self.sampling not in ("linear", "log"):
            raise unknown_name(f"{where} sampling", self.sampling, ("linear", "log"))
        if self.sampling == "log":
            _require(self.low > 0, f"{where} low", "> 0 with log sampling", self.low)

    def candidates(self) -> tuple[Any, ...]:
        """The values that bound the dimension (checked against the recipe up front)."""
        return self.values if self.kind == "choice" else (self.low, self.high)


@dataclass(frozen=True)
class SweepSpec:
    """A keras-tuner search over how a variant is made (``tfcompress.sweep``).

    Each trial sets the ``space`` paths in the recipe, makes the ``trial`` variant through the
    normal cached steps (prune -> fine-tune -> export -> evaluate the .tflite), benchmarks it,
    and reports its validation accuracy (of the .tflite), gzip size and p95 latency.

    Attributes:
      tuner: ``random``, ``bayesian`` or ``hyperband`` (its budget is ``finetune.epochs``,
        up to ``hyperband_max_epochs``).
      objective: ``constrained``: the most accurate trial within the budgets
        (``max_gzip_kib``, ``max_p95_ms``); or ``weighted``: accuracy - size_weight x gzip
        MiB - latency_weight x p95 ms.
      max_trials: trials of random / bayesian search (raise it to extend a finished sweep).
      max_failures: consecutive failed trials that stop the search.
    """

    trial: Variant
    space: tuple[Param, ...]
    tuner: str = "random"
    objective: str = "constrained"
    max_trials: int = 8
    max_gzip_kib: float | None = None
    max_p95_ms: float | None = None
    size_weight: float = 0.0
    latency_weight: float = 0.0
    hyperband_max_epochs: int = 3
    hyperband_factor: int = 3
    seed: int = 0
    max_failures: int = 3

    def __post_init__(self) -> None:
        _as_tuples(self, "space")
        _require(isinstance(self.trial, Variant), "sweep.trial", "a variant", self.trial)
        _require(len(self.space) > 0 and all(isinstance(p, Param) for p in self.space),
                 "sweep.space", "a non-empty list of parameters", self.space)
        paths = [p.path for p in self.space]
        _require(len(set(paths)) == len(paths), "sweep.space", "distinct paths", paths)
        if self.tuner not in TUNERS:
            raise unknown_name("sweep.tuner", self.tuner, TUNERS)
        if self.objective not in OBJECTIVES:
            raise unknown_name("sweep.objective", self.objective, OBJECTIVES)
        _positive_int("sweep.max_trials", self.max_trials)
        _positive_int("sweep.max_failures", self.max_failures)
        for name in ("max_gzip_kib", "max_p95_ms"):
            value = getattr(self, name)
            _require(value is None or (_number(value) and value > 0), f"sweep.{name}",
                     "a positive number or none", value)
        for name in ("size_weight", "latency_weight"):
            value = getattr(self, name)
            _require(_number(value) and value >= 0, f"sweep.{name}", "a number >= 0", value)
        if self.objective == "constrained":
            _require(self.max_gzip_kib is not None or self.max_p95_ms is not None,
                     "sweep.max_gzip_kib", "set (or max_p95_ms) for objective constrained",
                     self.max_gzip_kib)
        else:
            _require(self.size_weight > 0 or self.latency_weight > 0, "sweep.size_weight",
                     "> 0 (or latency_weight) for objective weighted", self.size_weight)
        _require(isinstance(self.hyperband_max_epochs, int) and self.hyperband_max_epochs >= 2,
                 "sweep.hyperband_max_epochs", "an integer >= 2", self.hyperband_max_epochs)
        _require(isinstance(self.hyperband_factor, int) and self.hyperband_factor >= 2,
                 "sweep.hyperband_factor", "an integer >= 2", self.hyperband_factor)
        if self.tuner == "hyperband":
            _require("finetune.epochs" not in paths, "sweep.space",
                     "without finetune.epochs for tuner hyperband (its budget)", paths)
        _seed("sweep.seed", self.seed)


@dataclass(frozen=True)
class Recipe:
    """An experiment: a baseline and the variants compared against it.

    Attributes:
      baseline: name of the variant every ratio is taken against (the float32 export of the
        unpruned model, normally).
      transfer: two-phase training of a pretrained backbone (``train`` is then phase 1).
      profiles: per profile, the dotted-path overrides that scale this recipe
        (``quick`` is the recipe as written unless overridden).
    """

    name: str
    description: str
    data: DataSpec
    model: ModelSpec
    train: TrainSpec
    finetune: TrainSpec
    variants: tuple[Variant, ...]
    baseline: str = "float32"
    benchmark: BenchmarkSpec = field(default_factory=BenchmarkSpec)
    transfer: TransferSpec | None = None
    sensitivity: SensitivitySpec | None = field(default=None, metadata=LATER)
    sweep: SweepSpec | None = field(default=None, metadata=LATER)
    seed: int = 0
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _as_tuples(self, "variants")
        _require(isinstance(self.name, str) and NAME_PATTERN.fullmatch(self.name) is not None
                 and ".." not in self.name, "name", "a folder name of letters, digits, "
                 "'_', '-' and '.' (no path), at most 100 characters", self.name)
        _require(isinstance(self.variants, tuple) and bool(self.variants)
                 and all(isinstance(v, Variant) for v in self.variants), "variants",
                 "a non-empty list of variants", self.variants)
        names = [v.name for v in self.variants]
        dupes = sorted({n for n in names if names.count(n) > 1})
        _require(not dupes, "variants", "uniquely named", dupes)
        if self.baseline not in names:
            raise unknown_name("baseline variant", self.baseline, names)
        base = self.variant(self.baseline)
        _require(not base.stages, "baseline", "a variant without distill / prune / cluster / "
                 "qat stages", self.baseline)
        for profile in self.profiles:
            if profile not in PROFILES:
                raise unknown_name("profile", profile, PROFILES)
        _seed("seed", self.seed)
        if any(v.prune is not None and v.prune.method in TFMOT for v in self.variants):
            _require(self.finetune.epochs > 0, "finetune.epochs",
                     "at least 1 when a variant prunes with tfmot (gradual, m_by_n)",
                     self.finetune.epochs)
        for v in self.variants:
            for stage in ("cluster", "qat"):
                spec = getattr(v, stage)
                if spec is not None and spec.train is None:
                    _require(self.finetune.epochs > 0, "finetune.epochs",
                             f"at least 1 when a variant has a {stage} stage without its own "
                             f"train", self.finetune.epochs)

        if self.sweep is not None:
            self._check_sweep()

    def _check_sweep(self) -> None:
        """The trial variant is valid in this recipe, and every bound of the space can be set
        (combinations are a trial's to fail)."""
        s = self.sweep
        _require(s.trial.name not in [v.name for v in self.variants], "sweep.trial name",
                 "different from the recipe's variants", s.trial.name)
        for spec in ("train", "finetune"):
            _require(getattr(self, spec).strategy != "multi_worker", f"{spec}.strategy",
                     "default or mirrored in a sweep (distribute a sweep with keras-tuner's "
                     "chief and workers, KERASTUNER_TUNER_ID)", "multi_worker")
        # the trial as one more variant, validated there (no sweep: no recursion here)
        with_trial = dataclasses.replace(self, sweep=None, variants=(*self.variants, s.trial))
        if s.tuner == "hyperband":
            apply_overrides(with_trial, {"finetune.epochs": s.hyperband_max_epochs})
        prefix = "sweep.trial."
        for p in s.space:  # a trial path is the trial variant's path in with_trial
            path = (f"variants.{s.trial.name}.{p.path[len(prefix):]}"
                    if p.path.startswith(prefix) else p.path)
            for value in p.candidates():
                try:
                    apply_overrides(with_trial, {path: value})
                except InputError as e:
                    raise InputError(f"sweep.space {p.path}={value!r}: {e}") from None

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise unknown_name("variant", name, [v.name for v in self.variants])

    def for_profile(self, profile: str) -> Recipe:
        """This recipe scaled to ``profile`` (``tiny``, ``quick`` or ``full``)."""
        if profile not in PROFILES:
            raise unknown_name("profile", profile, PROFILES)
        return apply_overrides(self, self.profiles.get(profile, {}))

    def to_dict(self) -> dict[str, Any]:
        d = _plain(dataclasses.asdict(self))
        d.pop("profiles")
        return d


def derive(base: Recipe, name: str, description: str,
           profiles: Mapping[str, Mapping[str, Any]] | None = None, **overrides: Any) -> Recipe:
    """A new recipe derived from ``base`` (Model Garden style): never copy a recipe.

    Args:
      profiles: the new recipe's profiles (default: ``base``'s).
      overrides: dotted-path overrides, e.g. ``**{"train.epochs": 3}``.
    """
    new = dataclasses.replace(base, name=name, description=description,
                              profiles=base.profiles if profiles is None else profiles)
    return apply_overrides(new, overrides)


# --------------------------------------------------------------------------- overrides

def parse_override(text: str) -> tuple[str, Any]:
    """Parses ``key=value``; the value is a Python literal, ``none``/``null``, or a string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InputError(f"--override must look like key=value (e.g. train.epochs=3); "
                         f"received {text!r}")
    raw = raw.strip()
    if raw.lower() in ("none", "null"):
        return key, None
    if raw.lower() in ("true", "false"):
        return key, raw.lower() == "true"
    try:
        return key, ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return key, raw


def apply_overrides(recipe: Recipe, overrides: Mapping[str, Any] | Iterable[str]) -> Recipe:
    """Applies dotted-path overrides, e.g. ``{"train.epochs": 2}`` or ``["train.epochs=2"]``.

    Paths address dataclass fields and mapping keys; inside ``variants`` the next segment is
    a variant name or ``*`` (every variant that has that field set, e.g.
    ``variants.*.prune.frequency``).
    """
    if not isinstance(overrides, Mapping):
        overrides = dict(parse_override(o) for o in overrides)
    for path, value in overrides.items():
        if path.split(".")[0] == "profiles":
            raise InputError("profiles cannot be overridden; pass --profile instead")
        recipe = _set(recipe, path.split("."), value, path)
    return recipe


def _set(obj: Any, parts: list[str], value: Any, path: str) -> Any:
    head, rest = parts[0], parts[1:]
    if isinstance(obj, tuple) and obj and all(isinstance(v, Variant) for v in obj):
        names = [v.name for v in obj]
        if head != "*" and head not in names:
            raise unknown_name(f"variant in override {path!r}", head, names)
        if not rest:
            raise InputError(f"override {path!r} must name a field of the variant")
        out = []
        for v in obj:
            if head == v.name or (head == "*" and _has_path(v, rest)):
                v = _set(v, rest, value, path)
            out.append(v)
        return tuple(out)
    if dataclasses.is_dataclass(obj):
        fields = {f.name: f for f in dataclasses.fields(obj)}
        if head not in fields:
            raise unknown_name(f"field in override {path!r}", head, fields)
        current = getattr(obj, head)
        if rest:
            if current is None:
                raise InputError(f"override {path!r}: {head} is not set in this recipe")
            new = _set(current, rest, value, path)
        else:
            new = _coerce(current, value)
            _check_section(type(obj), head, new, path)
        try:
            return dataclasses.replace(obj, **{head: new})
        except InputError as e:
            raise InputError(f"override {path!r}: {e}") from None
    if isinstance(obj, Mapping):
        new = dict(obj)
        new[head] = _set(obj[head], rest, value, path) if rest else value
        return new
    raise InputError(f"override {path!r}: cannot descend into {type(obj).__name__}")


@functools.lru_cache(maxsize=None)
def _sections(cls: type) -> dict[str, tuple[tuple[type, ...], bool]]:
    """The fields of ``cls`` that hold a spec: field -> (spec types, whether None is allowed)."""
    out = {}
    for name, hint in typing.get_type_hints(cls).items():
        args = typing.get_args(hint) or (hint,)
        specs = tuple(a for a in args if dataclasses.is_dataclass(a))
        if specs and typing.get_origin(hint) is not tuple:
            out[name] = (specs, type(None) in args)
    return out


def _check_section(cls: type, name: str, value: Any, path: str) -> None:
    """A whole section replaced by an override (``train=3``) must still be a section."""
    section = _sections(cls).get(name)
    if section is None:
        return
    specs, optional = section
    if isinstance(value, specs) or (optional and value is None):
        return
    allowed = "none, or " if optional else ""
    raise InputError(f"override {path!r} replaces the whole {name} section; expected "
                     f"{allowed}its fields one by one (e.g. {path}.<field>=value); "
                     f"received {value!r}")


def _has_path(obj: Any, parts: list[str]) -> bool:
    for part in parts[:-1]:
        obj = getattr(obj, part, None)
        if obj is None:
            return False
    return hasattr(obj, parts[-1])


def _coerce(current: Any, value: Any) -> Any:
    """Keeps the recipe's types: ints where floats are expected, lists where tuples are."""
    if isinstance(current, float) and _number(value):
        return float(value)
    if isinstance(value, list):
        return tuple(value)
    if isinstance(current, tuple) and _number(value):
        return (value,)
    return value


# --------------------------------------------------------------------------- hashing

def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        obj = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)
               if f.metadata.get("hash_default", True)
               or getattr(obj, f.name) != (f.default if f.default is not dataclasses.MISSING
                                          else f.default_factory())}
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def fingerprint(*parts: Any) -> str:
    """A short stable hash of plain data (dataclasses, mappings, lists, scalars)."""
    blob = json.dumps(_plain(list(parts)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
