"""A sweep: the trial variant, the search space and how trials are scored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tfcompress.errors import unknown_name
from tfcompress.recipe.checks import _as_tuples, _number, _positive_int, _require, _seed
from tfcompress.recipe.variant import Variant
from tfcompress.sweep import OBJECTIVES, PARAM_KINDS, TUNERS


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
      seed: the tuner's: the same seed samples the same trials (0 included: keras-tuner
        gets ``seed + 1``, as it takes 0 for "draw a random seed").
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
        TUNERS.check(self.tuner)
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
