"""The ``Recipe``: a baseline, the variants compared against it, the benchmark, the profiles
that scale it, and ``derive`` (a new recipe from another, never a copy)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tfcompress.errors import InputError, unknown_name
from tfcompress.prune import PRUNE_METHODS
from tfcompress.recipe.baseline import DataSpec, ModelSpec, TrainSpec, TransferSpec
from tfcompress.recipe.checks import (LATER, NAME_PATTERN, _as_tuples, _number,
                                      _positive_int, _require, _seed)
from tfcompress.recipe.curve import CurveSpec
from tfcompress.recipe.hashing import _plain
from tfcompress.recipe.overrides import apply_overrides
from tfcompress.recipe.sweep import SweepSpec
from tfcompress.recipe.variant import SensitivitySpec, Variant

PROFILES = ("tiny", "quick", "full")
DEFAULT_PROFILE = "quick"


@dataclass(frozen=True)
class BenchmarkSpec:
    """LiteRT CPU benchmark: warm-up, then at least ``min_runs`` and ``min_seconds`` per file,
    timed in ``rounds`` that visit every file in turn, so that a change in the machine's load
    falls on all files alike and the spread between rounds shows how much noise there was.

    ``batches``: batch sizes of an MLMark-style throughput sweep (images/s, mean ± std over
    the rounds), at the first thread count. ``memory``: each file's peak run-time memory,
    the resident-set growth of a fresh process loading and running it
    (``tfcompress.benchmark.memory``). ``reuse``: a timing of the same files (by content),
    settings and test images on the same machine is read from the step cache instead of
    timed again."""

    threads: tuple[int, ...] = (1, 2)
    warmup_runs: int = 10
    min_runs: int = 100
    min_seconds: float = 2.0
    throughput_batch: int = 32
    rounds: int = field(default=5, metadata=LATER)
    batches: tuple[int, ...] = field(default=(), metadata=LATER)
    memory: bool = field(default=False, metadata=LATER)
    #: False: time the files again even when the same files were timed on this machine
    #: with the same settings (``--benchmark=again``)
    reuse: bool = field(default=True, metadata=LATER)

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
        _as_tuples(self, "batches")
        _require(isinstance(self.batches, tuple)
                 and all(isinstance(b, int) and not isinstance(b, bool) and 0 < b <= 4096
                         for b in self.batches)
                 and list(self.batches) == sorted(set(self.batches)), "benchmark.batches",
                 "rising batch sizes in [1, 4096]", self.batches)
        _require(isinstance(self.memory, bool), "benchmark.memory", "true or false",
                 self.memory)
        _require(isinstance(self.reuse, bool), "benchmark.reuse", "true or false", self.reuse)
        _require(isinstance(self.rounds, int) and not isinstance(self.rounds, bool)
                 and 1 <= self.rounds <= 100, "benchmark.rounds", "an integer in [1, 100]",
                 self.rounds)

    def in_mode(self, mode: str) -> BenchmarkSpec:
        """This timing as ``mode`` asks (``BENCHMARK_MODES``): ``reuse`` as it is, ``again``
        not reused, ``short`` with at most ``SHORT``'s counts (a profile that times less
        already keeps its own)."""
        if mode not in BENCHMARK_MODES:
            raise unknown_name("benchmark mode", mode, BENCHMARK_MODES)
        if mode == "again":
            return dataclasses.replace(self, reuse=False)
        if mode == "short":
            return dataclasses.replace(
                self, **{k: min(getattr(self, k), v) for k, v in SHORT.items()})
        return self


#: how the LiteRT timing may run (``run(benchmark=)``, ``--benchmark``): ``reuse`` a timing of
#: the same files on this machine (else time them), time them ``again``, or a ``short``er,
#: noisier timing
BENCHMARK_MODES = ("reuse", "again", "short")
#: the most a ``short`` timing does
SHORT = {"warmup_runs": 2, "min_runs": 10, "min_seconds": 0.0, "rounds": 2}


@dataclass(frozen=True)
class Recipe:
    """An experiment: a baseline and the variants compared against it.

    Attributes:
      baseline: name of the variant every ratio is taken against (the float32 export of the
        unpruned model, normally).
      transfer: two-phase training of a pretrained backbone (``train`` is then phase 1).
      ship_budget: accuracy points a file may lose against the baseline and still be the one
        the report says to ship (the smallest gzipped file within it; the fastest on a tie).
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
    curve: CurveSpec | None = field(default=None, metadata=LATER)
    sweep: SweepSpec | None = field(default=None, metadata=LATER)
    seed: int = 0
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    ship_budget: float = field(default=1.0, metadata=LATER)

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
        _require(_number(self.ship_budget) and self.ship_budget >= 0, "ship_budget",
                 "accuracy points >= 0", self.ship_budget)
        if any(v.prune is not None and PRUNE_METHODS.get(v.prune.method).tfmot
               for v in self.variants):
            _require(self.finetune.epochs > 0, "finetune.epochs",
                     "at least 1 when a variant prunes with tfmot (gradual, m_by_n)",
                     self.finetune.epochs)
        for v in self.variants:
            _require(v.train is None or self.transfer is None, f"variants.{v.name}.train",
                     "unset in a transfer recipe (its training is transfer.train)", v.train)
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
