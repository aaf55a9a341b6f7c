"""An accuracy / CPU-time curve over pruning ratios, without retraining."""

from __future__ import annotations

from dataclasses import dataclass

from tfcompress.errors import unknown_name
from tfcompress.recipe.checks import _as_tuples, _number, _positive_int, _require

#: how the weights a ratio removes are chosen: smallest |w|, or uniformly at random
CURVE_CRITERIA = ("magnitude", "random")


@dataclass(frozen=True)
class CurveSpec:
    """Each unpruned variant's trained model (every seed, every training schedule) pruned
    one-shot to every ratio, **without retraining**: test accuracy and the CPU time of a Keras
    forward pass at each ratio (Keras, not TFLite: a dense kernel's time does not depend on
    its zeros, which is what the timing shows).

    Attributes:
      ratios: rising sparsities in [0, 1) (0: the unpruned model).
      criteria: ``magnitude`` (smallest |w|) and/or ``random`` (the same count of weights
        chosen uniformly at random, seeded): the control at equal sparsity.
      scope: ``global`` (one threshold over every prunable kernel) or ``layer``.
      skip: layers left dense (names, ``first``, ``last``).
      timing_batch: images per timed forward pass (0: no timing).
      timing_rounds: timed rounds; each visits every ratio once (alternating the order), so
        a change in the machine's load falls on all ratios alike. The std is over rounds.
      timing_runs: forward passes per ratio per round (their median is the round's time).
    """

    ratios: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(17))
    criteria: tuple[str, ...] = ("magnitude",)
    scope: str = "global"
    skip: tuple[str, ...] = ()
    timing_batch: int = 32
    timing_rounds: int = 5
    timing_runs: int = 3

    def __post_init__(self) -> None:
        _as_tuples(self, "ratios", "criteria", "skip")
        _require(isinstance(self.ratios, tuple) and len(self.ratios) > 0
                 and all(_number(r) and 0 <= r < 1 for r in self.ratios)
                 and list(self.ratios) == sorted(set(self.ratios)),
                 "curve.ratios", "rising numbers in [0, 1)", self.ratios)
        _require(isinstance(self.criteria, tuple) and len(self.criteria) > 0
                 and len(set(self.criteria)) == len(self.criteria), "curve.criteria",
                 f"a non-empty list of distinct names from {list(CURVE_CRITERIA)}",
                 self.criteria)
        for c in self.criteria:
            if c not in CURVE_CRITERIA:
                raise unknown_name("curve.criteria", c, CURVE_CRITERIA)
        if self.scope not in ("layer", "global"):
            raise unknown_name("curve.scope", self.scope, ("layer", "global"))
        _require(isinstance(self.skip, tuple) and all(isinstance(n, str) for n in self.skip),
                 "curve.skip", "a list of layer names (or first / last)", self.skip)
        _require(isinstance(self.timing_batch, int) and not isinstance(self.timing_batch, bool)
                 and self.timing_batch >= 0, "curve.timing_batch", "an integer >= 0",
                 self.timing_batch)
        _positive_int("curve.timing_rounds", self.timing_rounds)
        _positive_int("curve.timing_runs", self.timing_runs)
