"""A variant: the stages a model goes through after the baseline (distill, prune, cluster,
qat), each a spec, and how it is exported."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from tfcompress.errors import unknown_name
from tfcompress.prune import PRUNE_METHODS, SCHEDULES, all_methods
from tfcompress.quantize import (CALIBRATED_MODES, CLUSTER_INITS, EXPORT_MODES, IO_TYPES,
                                 QAT_MODES, QAT_SCHEMES)
from tfcompress.recipe.baseline import ModelSpec, TrainSpec
from tfcompress.recipe.checks import (LATER, _as_tuples, _fraction, _number, _positive_int,
                                      _require, _seed)


@dataclass(frozen=True)
class PruneSpec:
    """How a variant is pruned: a method, its target and schedule, and which layers.

    ``begin_fraction``/``end_fraction`` are fractions of the fine-tuning steps, so the schedule
    follows the profile's epochs; ``frequency`` is the number of steps between mask updates,
    or ``"auto"``: fitted to the fine-tuning the data and profile give (about 16 updates over
    the pruning window, ``schedule.AUTO_UPDATES``).

    Attributes:
      method: ``gradual`` (tfmot), ``oneshot``, ``iterative``, ``lottery``, ``snip``,
        ``m_by_n``, ``filters``, ``slimming`` (see ``tfcompress.prune.methods``). Each
        method owns some of the fields below (``PruneMethod.owns``): set for another method,
        they are refused.
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
      rates: ``lottery``'s per-round rates by layer kind (Frankle & Carbin): each round
        removes that fraction of each layer's remaining weights, e.g. [[conv, 0.1],
        [dense, 0.2], [output, 0.1]] (``output``: the last prunable layer). The dense rate
        sets ``target_sparsity``: 1 - (1 - rate)^rounds.
      criterion: how ``filters`` ranks channels: ``l1`` (filter L1 norm, Li et al. 2017),
        ``bn_gamma`` (batch norm |gamma|, without slimming's penalised training), ``taylor``
        (first-order Taylor importance on training batches, Molchanov et al. 2019) or
        ``random`` (seeded: the control).

      target_speedup: ``filters`` searches how many channels to remove until the exported
        file (the variant's format) runs at least this much faster than the dense file of
        the same format, measured on this machine (``structured.speed``);
        ``target_sparsity`` is then the most any group may lose. ``resolution`` searches
        the input image's side the same way (``target_sparsity``: the most of the side that
        may go).
      recovery: how ``filters`` / ``slimming`` recover: ``finetune`` (on the labels) or
        ``distill`` (labels and the unpruned model's soft targets: ``Distiller``, alpha 1,
        T 4).
      finetune: a structured variant's own fine-tuning (None: the recipe's ``finetune``).
      round_to: ``filters`` keeps a multiple of this many channels in every group (rounded
        up): widths the CPU's vector kernels run fastest, e.g. 8; ``resolution`` rounds the
        image side to a multiple of it.
      search_steps: bisection steps of the speed search after its first probe (the level is
        found to within ``target_sparsity`` / 2**steps; each step converts and times one
        file): fewer for a quick look, e.g. the tiny profiles' 2.

    For the structured methods (``filters``, ``slimming``) ``target_sparsity`` is the share
    of channels removed, and ``skip`` names producer layers whose channels stay, or
    ``residual`` to keep every residual stream whole. ``filters`` also takes ``scope:
    sensitivity`` (a ratio per channel group from its measured sensitivity and the
    multiply-adds it saves: ``structured.allocate``) and ``rounds`` (remove, recover, repeat:
    each round the same share of each group's remaining channels, the fine-tuning epochs
    shared out over the rounds).
    """

    target_sparsity: float
    schedule: str = "polynomial_decay"
    initial_sparsity: float = 0.0
    begin_fraction: float = 0.0
    end_fraction: float = 0.75
    frequency: int | str = 100
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
    criterion: str = field(default="l1", metadata=LATER)
    rates: tuple[tuple[str, float], ...] = field(default=(), metadata=LATER)
    target_speedup: float | None = field(default=None, metadata=LATER)
    recovery: str = field(default="finetune", metadata=LATER)
    finetune: TrainSpec | None = field(default=None, metadata=LATER)
    round_to: int = field(default=1, metadata=LATER)
    search_steps: int = field(default=6, metadata=LATER)

    def __post_init__(self) -> None:
        _as_tuples(self, "skip", "m_by_n")
        if isinstance(self.rates, dict):
            object.__setattr__(self, "rates", tuple(self.rates.items()))
        object.__setattr__(self, "rates", tuple(tuple(r) for r in self.rates))
        object.__setattr__(self, "points", tuple(tuple(p) for p in self.points))
        _fraction("prune.target_sparsity", self.target_sparsity, open_top=True)
        SCHEDULES.check(self.schedule)
        PRUNE_METHODS.check(self.method)
        if self.scope not in ("layer", "global", "sensitivity"):
            raise unknown_name("prune.scope", self.scope, ("layer", "global", "sensitivity"))
        _require(isinstance(self.skip, tuple) and all(isinstance(n, str) for n in self.skip),
                 "prune.skip", "a list of layer names (or first / last)", self.skip)
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
        if self.frequency != "auto":
            _require(isinstance(self.frequency, int) and not isinstance(self.frequency, bool)
                     and self.frequency > 0, "prune.frequency",
                     "a positive integer or 'auto' (fitted to the fine-tuning steps)",
                     self.frequency)
        _require(_number(self.power) and self.power > 0, "prune.power", "a positive number",
                 self.power)
        # the method's own rules: its scopes, the fields other methods own left unset, and
        # the values of its own (``PruneMethod.validate``, ``tfcompress.prune.method``)
        _method_rules(self, PRUNE_METHODS.get(self.method), all_methods())


def _method_rules(spec: PruneSpec, method: Any, methods: dict[str, Any]) -> None:
    """The rules every method's spec obeys: a scope the method takes, the fields other methods
    own left at their defaults, then the method's own checks (``PruneMethod``:
    ``tfcompress.prune.method``)."""
    _require(spec.scope in method.scopes, "prune.scope",
             " or ".join(repr(s) for s in method.scopes) + f" for method {method.name}",
             spec.scope)
    for f in dataclasses.fields(spec):
        owners = [m.name for m in methods.values() if f.name in m.owns]
        if not owners or method.name in owners:
            continue
        value, default = getattr(spec, f.name), f.default
        if value != default:
            shown = ("unset" if default in (None, (), "") else
                     str(default).lower() if isinstance(default, bool) else str(default))
            _require(False, f"prune.{f.name}",
                     f"{shown} unless method is {' or '.join(owners)}",
                     [list(v) for v in value] if isinstance(value, tuple) and value
                     and isinstance(value[0], tuple) else value)
    method.validate(spec)


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
        CLUSTER_INITS.check(self.init)
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
        QAT_SCHEMES.check(self.scheme)
        _require(all(isinstance(n, str) for n in self.skip), "qat.skip",
                 "a list of layer names", self.skip)


def stage(after: tuple[str, ...] = (), later: bool = True) -> object:
    """A ``Variant`` field that is a stage: its spec, or None. ``after``: the stages it follows
    when a variant sets them too (``Variant.stages`` orders by it); ``later``: added after the
    first recipes (its default stays out of cache keys)."""
    return field(default=None, metadata={**(LATER if later else {}), "stage": tuple(after)})


@dataclass(frozen=True)
class Variant:
    """One row of the comparison: the baseline, or a model made from it by the stages set
    here, always in this order: ``distill`` (a student from the baseline as teacher) ->
    ``prune`` -> ``cluster`` -> ``qat``; then exported as ``export`` says.

    ``train`` trains this variant's baseline with another schedule than the recipe's (a
    learning-rate study: two baselines that differ only there); None: the recipe's."""

    name: str
    export: ExportSpec = field(default_factory=ExportSpec)
    prune: PruneSpec | None = stage(after=("distill",), later=False)
    seed: int | None = field(default=None, metadata=LATER)
    group: str | None = field(default=None, metadata=LATER)
    distill: DistillSpec | None = stage()
    cluster: ClusterSpec | None = stage(after=("distill", "prune"))
    qat: QatSpec | None = stage(after=("distill", "prune", "cluster"))
    train: TrainSpec | None = field(default=None, metadata=LATER)

    def __post_init__(self) -> None:
        _require(isinstance(self.name, str) and self.name.isidentifier(), "variant name",
                 "an identifier (letters, digits, _)", self.name)
        _require(self.train is None or isinstance(self.train, TrainSpec),
                 f"variants.{self.name}.train", "a training schedule (epochs, optimizer, "
                 "learning_rate, ...)", self.train)
        _require(self.train is None or self.distill is None, f"variants.{self.name}.train",
                 "unset with distill (the student's schedule is distill.train)", self.train)
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
        """The stages this variant runs after the baseline, in order (``STAGE_FIELDS``)."""
        return tuple(s for s in STAGE_FIELDS if getattr(self, s) is not None)


def _stage_order() -> tuple[str, ...]:
    """The stage fields of ``Variant``, each after those it follows (declaration order among
    the ones free to go)."""
    after = {f.name: f.metadata["stage"] for f in dataclasses.fields(Variant)
             if "stage" in f.metadata}
    order: list[str] = []
    while len(order) < len(after):
        ready = [n for n, a in after.items()
                 if n not in order and all(x in order or x not in after for x in a)]
        if not ready:
            raise TypeError(f"Variant's stages follow each other in a circle: {after}")
        order.append(ready[0])
    return tuple(order)


#: The stages a variant can have, in the order they run: distill, prune, cluster, qat.
STAGE_FIELDS = _stage_order()
