"""Sparsity schedules for Keras 3 models: tfmot's, step for step, in plain Python.

A schedule is called with a training step and answers ``(update_now, sparsity)``. The math and
the step rule live in ``tfcompress.prune.schedule`` and are shared with the tfmot path; a test
compares every step against tfmot's own classes.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from tfcompress._keras3 import keras
from tfcompress.errors import InputError
from tfcompress.prune import SCHEDULES
from tfcompress.prune import schedule as shared

if TYPE_CHECKING:
    from tfcompress.recipe import PruneSpec

_serializable = keras.saving.register_keras_serializable(package="tfcompress")


def _check(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise InputError(f"{name}={value} is not a sparsity; use a value in [0, 1)")
    return value


#: how far short of ``final_sparsity`` a schedule's last update may stop without a warning
SHORT_BY = 0.01


def _warn(message: str) -> None:
    """A schedule that cannot do what its arguments ask (the pipeline's schedules are planned
    not to, ``tfcompress.prune.schedule.plan``): a warning, as the training would otherwise
    end short of its target without a word."""
    warnings.warn(message, UserWarning, stacklevel=3)


class PruningSchedule:
    """Base class: ``schedule(step) -> (update_now, sparsity)``."""

    def __call__(self, step: int) -> tuple[bool, float]:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PruningSchedule:
        return cls(**config)


@_serializable
class PolynomialDecay(PruningSchedule):
    """Sparsity rising from ``initial_sparsity`` to ``final_sparsity`` between ``begin_step``
    and ``end_step`` along ``1 - (1 - t)^power``, a mask update every ``frequency`` steps."""

    def __init__(self, initial_sparsity: float, final_sparsity: float, begin_step: int,
                 end_step: int, power: float = 3.0, frequency: int = 100):
        self.initial_sparsity = _check("initial_sparsity", initial_sparsity)
        self.final_sparsity = _check("final_sparsity", final_sparsity)
        self.begin_step, self.end_step = int(begin_step), int(end_step)
        self.power, self.frequency = float(power), int(frequency)
        if self.begin_step < 0 or self.end_step <= self.begin_step or self.frequency < 1:
            raise InputError(
                f"PolynomialDecay(begin_step={begin_step}, end_step={end_step}, "
                f"frequency={frequency}): need 0 <= begin_step < end_step and frequency >= 1")
        last = self.begin_step + (self.end_step - self.begin_step) // self.frequency \
            * self.frequency
        if last < 1:
            _warn(f"PolynomialDecay(begin_step={begin_step}, end_step={end_step}, "
                  f"frequency={frequency}) never updates the masks: its only update step is "
                  f"0, and training steps are numbered from 1; use frequency <= "
                  f"{max(1, self.end_step - self.begin_step)}")
            return
        reached = shared.polynomial_value(last, self.initial_sparsity, self.final_sparsity,
                                          self.begin_step, self.end_step, self.power)
        if self.final_sparsity - reached > SHORT_BY:
            _warn(f"PolynomialDecay(final_sparsity={final_sparsity}, begin_step={begin_step}, "
                  f"end_step={end_step}, frequency={frequency}) stops at sparsity "
                  f"{reached:.4g}: its last mask update is at step {last}; make end_step - "
                  f"begin_step a multiple of frequency")

    def __call__(self, step: int) -> tuple[bool, float]:
        return (shared.should_update(step, self.begin_step, self.end_step, self.frequency),
                shared.polynomial_value(step, self.initial_sparsity, self.final_sparsity,
                                        self.begin_step, self.end_step, self.power))

    def get_config(self) -> dict[str, Any]:
        return {"initial_sparsity": self.initial_sparsity,
                "final_sparsity": self.final_sparsity, "begin_step": self.begin_step,
                "end_step": self.end_step, "power": self.power, "frequency": self.frequency}


@_serializable
class ConstantSparsity(PruningSchedule):
    """``target_sparsity`` from ``begin_step`` on, re-applied every ``frequency`` steps until
    ``end_step`` (-1: until training ends)."""

    def __init__(self, target_sparsity: float, begin_step: int = 0, end_step: int = -1,
                 frequency: int = 100):
        self.target_sparsity = _check("target_sparsity", target_sparsity)
        self.begin_step, self.end_step, self.frequency = int(begin_step), int(end_step), \
            int(frequency)
        if self.begin_step < 0 or self.frequency < 1 or (
                self.end_step != -1 and self.end_step < self.begin_step):
            raise InputError(
                f"ConstantSparsity(begin_step={begin_step}, end_step={end_step}, "
                f"frequency={frequency}): need 0 <= begin_step <= end_step (or end_step=-1) "
                "and frequency >= 1")
        if self.end_step != -1 and not any(
                shared.should_update(s, self.begin_step, self.end_step, self.frequency)
                for s in range(max(1, self.begin_step), self.end_step + 1)):
            _warn(f"ConstantSparsity(begin_step={begin_step}, end_step={end_step}, "
                  f"frequency={frequency}) never updates the masks: no update step from 1 "
                  f"to end_step (training steps are numbered from 1)")

    def __call__(self, step: int) -> tuple[bool, float]:
        return (shared.should_update(step, self.begin_step, self.end_step, self.frequency),
                self.target_sparsity)

    def get_config(self) -> dict[str, Any]:
        return {"target_sparsity": self.target_sparsity, "begin_step": self.begin_step,
                "end_step": self.end_step, "frequency": self.frequency}


@_serializable
class PiecewiseSparsity(PruningSchedule):
    """Sparsity interpolated linearly between (step, sparsity) points, a mask update every
    ``frequency`` steps from the first point to the last."""

    def __init__(self, steps: list[int], sparsities: list[float], frequency: int = 100):
        self.steps = [int(s) for s in steps]
        self.sparsities = [_check("sparsities[]", s) for s in sparsities]
        self.frequency = int(frequency)
        if (not self.steps or len(self.steps) != len(self.sparsities)
                or self.steps != sorted(self.steps) or self.frequency < 1):
            raise InputError(
                f"PiecewiseSparsity(steps={steps}, sparsities={sparsities}): need as many "
                "sparsities as steps, steps in increasing order and frequency >= 1")

    def __call__(self, step: int) -> tuple[bool, float]:
        return (shared.should_update(step, self.steps[0], self.steps[-1], self.frequency),
                shared.piecewise_value(step, self.steps, self.sparsities))

    def get_config(self) -> dict[str, Any]:
        return {"steps": self.steps, "sparsities": self.sparsities,
                "frequency": self.frequency}


def from_spec(spec: PruneSpec, total_steps: int) -> PruningSchedule:
    """The schedule of a recipe's ``PruneSpec`` over ``total_steps`` fine-tuning steps: the
    same plan (``tfcompress.prune.schedule.plan``) the tfmot path uses."""
    return SCHEDULES.get(spec.schedule).keras3(spec, shared.plan(spec, total_steps))
