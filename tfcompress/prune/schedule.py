"""Sparsity schedules: a ``PruneSpec`` plus the fine-tuning length -> a tfmot schedule.

tfmot updates masks only at steps where ``(step - begin_step) % frequency == 0``; if
``end_step - begin_step`` is not a multiple of ``frequency`` the last update happens early and
the model never reaches the target. ``plan`` aligns ``end_step`` so that it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tfcompress import errors
from tfcompress.errors import InputError
from tfcompress.prune import SCHEDULES

if TYPE_CHECKING:
    from tfcompress.recipe import PruneSpec


@dataclass(frozen=True)
class Plan:
    """Concrete steps of a schedule; training steps are numbered 0 .. total_steps - 1."""

    begin_step: int
    end_step: int
    frequency: int
    total_steps: int


#: mask updates a gradual schedule should make (about; tfmot's guide makes ~16) and the fewest
#: under which it is reported as hardly gradual
GRADUAL_UPDATES, FEWEST_UPDATES = 8, 4
#: mask updates ``frequency="auto"`` aims at over the pruning window (about tfmot's guide's)
AUTO_UPDATES = 16


def updates(p: Plan) -> int:
    """Mask updates a planned gradual schedule makes (its first one included)."""
    return (p.end_step - p.begin_step) // p.frequency + 1


def plan(spec: PruneSpec, total_steps: int) -> Plan:
    """Turns the spec's fractions into steps and checks that the target is reachable.

    Raises:
      InputError: the fine-tuning is too short for the requested frequency.
    """
    last = max(total_steps - 1, 0)
    if spec.schedule == "piecewise":
        begin = int(round(spec.points[0][0] * last))
        window_end = int(round(spec.points[-1][0] * last))
        if len(spec.points) == 1:  # one point: a constant from there on
            return Plan(begin, begin, 1 if spec.frequency == "auto" else spec.frequency,
                        total_steps)
    else:
        begin = int(round(spec.begin_fraction * last))
        window_end = int(round(spec.end_fraction * last))
    frequency = spec.frequency
    if frequency == "auto":  # fitted to this fine-tuning: about AUTO_UPDATES updates
        frequency = max(1, (window_end - begin) // AUTO_UPDATES)
    updates = (window_end - begin) // frequency
    if spec.schedule == "constant":
        return Plan(begin, window_end, frequency, total_steps)
    if window_end <= begin:  # no frequency can help
        where = ("prune.points' first and last fractions" if spec.schedule == "piecewise" else
                 f"prune.begin_fraction={spec.begin_fraction} and "
                 f"prune.end_fraction={spec.end_fraction}")
        raise InputError(
            f"{where} leave no pruning window: both fall on step {begin} of {total_steps} "
            "fine-tuning steps; widen the window, or raise finetune.epochs")
    if updates < 1:
        window = max(window_end - begin, 1)
        fits = max(1, window // GRADUAL_UPDATES)
        how = errors.fix(
            cli=f"run with --override=variants.*.prune.frequency={fits}",
            python=f"pass compress(..., frequency={fits}), or run(..., overrides="
                   f"{{'variants.*.prune.frequency': {fits}}})")
        raise InputError(
            f"prune.frequency={spec.frequency} leaves no full pruning interval between steps "
            f"{begin} and {window_end} of {total_steps} fine-tuning steps; {how}: "
            f"{window // fits + 1} mask updates; or set frequency auto (fitted to the "
            f"fine-tuning), or raise finetune.epochs")
    return Plan(begin, begin + updates * frequency, frequency, total_steps)


def should_update(step: int, begin: int, end: int, frequency: int) -> bool:
    """tfmot's rule for a mask update at ``step`` (``end == -1``: no end), in plain Python so
    the Keras 3 path (``tfcompress.sparsity``) follows the same steps."""
    return step >= begin and (end == -1 or step <= end) and (step - begin) % frequency == 0


def polynomial_value(step: int, initial: float, final: float, begin: int, end: int,
                     power: float) -> float:
    """tfmot's ``PolynomialDecay`` sparsity at ``step``."""
    p = min(1.0, max(0.0, (step - begin) / (end - begin))) if end > begin else 1.0
    return final + (initial - final) * (1.0 - p) ** power


def piecewise_value(step: int, steps: list[int], sparsities: list[float]) -> float:
    """Sparsity interpolated linearly between (step, sparsity) points."""
    value = sparsities[0]
    for (a, sa), (b, sb) in zip(zip(steps, sparsities), zip(steps[1:], sparsities[1:])):
        if step >= a:
            value = sa + min(max((step - a) / max(b - a, 1), 0.0), 1.0) * (sb - sa)
    return value


def piecewise_steps(spec: PruneSpec, p: Plan) -> list[int]:
    """The points of a piecewise spec in steps, the last moved to the plan's end step."""
    last = max(p.total_steps - 1, 0)
    steps = [int(round(f * last)) for f, _ in spec.points]
    steps[-1] = p.end_step
    return steps


def build(spec: PruneSpec, total_steps: int):
    """The tfmot ``PruningSchedule`` for ``spec`` over ``total_steps`` training steps."""
    return SCHEDULES.get(spec.schedule).tfmot(spec, plan(spec, total_steps))



def _piecewise_class():
    from tfcompress._keras import tf, tfmot

    class Piecewise(tfmot.sparsity.keras.PruningSchedule):
        """Piecewise-linear sparsity between (step, sparsity) points, updated every
        ``frequency`` steps from the first point to the last."""

        def __init__(self, steps, sparsities, frequency):
            self.steps, self.sparsities, self.frequency = list(steps), list(sparsities), frequency

        def __call__(self, step):  # piecewise_value, in TensorFlow ops for tfmot's graph
            step_f = tf.cast(step, tf.float32)
            value = tf.constant(self.sparsities[0], tf.float32)
            for (a, sa), (b, sb) in zip(zip(self.steps, self.sparsities),
                                        zip(self.steps[1:], self.sparsities[1:])):
                t = tf.clip_by_value((step_f - a) / max(b - a, 1), 0.0, 1.0)
                value = tf.where(step_f >= a, sa + t * (sb - sa), value)
            should = self._should_prune_in_step(step, self.steps[0], self.steps[-1],
                                                self.frequency)
            return should, value

        def get_config(self):
            return {"class_name": "Piecewise", "config": {
                "steps": self.steps, "sparsities": self.sparsities,
                "frequency": self.frequency}}

    return Piecewise


def curve(spec: PruneSpec, total_steps: int) -> dict[str, list[float]]:
    """The sparsity the masks hold after each fine-tuning step (for the report's plot)."""
    sched = build(spec, total_steps)
    current, steps, values = 0.0, [], []  # masks start dense
    for step in range(total_steps):
        should, sparsity = sched(step)
        if bool(should):
            current = float(sparsity)
        steps.append(step)
        values.append(current)
    return {"step": steps, "sparsity": values}
