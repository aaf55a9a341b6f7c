"""The pruning schedules a recipe names (``prune.schedule``): each one object that makes the
schedule for either Keras from the same plan (``schedule.plan``), registered in
``tfcompress.prune.SCHEDULES``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tfcompress.prune import schedule

if TYPE_CHECKING:
    from tfcompress.prune.schedule import Plan
    from tfcompress.recipe import PruneSpec


class Schedule:
    """A ``prune.schedule`` name's schedule, made for either Keras from the same plan:
    ``tfmot`` (tf_keras, tfmot's ``PruningSchedule``) and ``keras3``
    (``tfcompress.sparsity``'s)."""

    def tfmot(self, spec: PruneSpec, p: Plan) -> Any:
        raise NotImplementedError

    def keras3(self, spec: PruneSpec, p: Plan) -> Any:
        raise NotImplementedError


class PolynomialDecay(Schedule):
    def tfmot(self, spec, p):
        from tfcompress._keras import tfmot

        return tfmot.sparsity.keras.PolynomialDecay(
            initial_sparsity=spec.initial_sparsity, final_sparsity=spec.target_sparsity,
            begin_step=p.begin_step, end_step=p.end_step, power=spec.power,
            frequency=p.frequency)

    def keras3(self, spec, p):
        from tfcompress.sparsity import schedules

        return schedules.PolynomialDecay(spec.initial_sparsity, spec.target_sparsity,
                                         p.begin_step, p.end_step, spec.power, p.frequency)


class Constant(Schedule):
    # end_step=-1: keep re-applying the mask until training ends.
    def tfmot(self, spec, p):
        from tfcompress._keras import tfmot

        return tfmot.sparsity.keras.ConstantSparsity(
            target_sparsity=spec.target_sparsity, begin_step=p.begin_step, end_step=-1,
            frequency=p.frequency)

    def keras3(self, spec, p):
        from tfcompress.sparsity import schedules

        return schedules.ConstantSparsity(spec.target_sparsity, p.begin_step, -1, p.frequency)


class Piecewise(Schedule):
    """The user's schedule: sparsity interpolated linearly between ``spec.points`` (fractions
    of the fine-tuning steps), the last point moved to the plan's aligned end step."""

    def tfmot(self, spec, p):
        return schedule._piecewise_class()(schedule.piecewise_steps(spec, p),
                                           [s for _, s in spec.points], p.frequency)

    def keras3(self, spec, p):
        from tfcompress.sparsity import schedules

        return schedules.PiecewiseSparsity(schedule.piecewise_steps(spec, p),
                                           [s for _, s in spec.points], p.frequency)


POLYNOMIAL_DECAY, CONSTANT, PIECEWISE = PolynomialDecay(), Constant(), Piecewise()
