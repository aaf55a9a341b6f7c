"""Pruning: sparsity schedules and magnitude pruning of Keras models."""

from tfcompress.registry import Registry

#: Schedule names -> ``f(spec, plan) -> tfmot PruningSchedule``; see ``schedule.py``.
SCHEDULES: Registry = Registry(
    "pruning schedule",
    {
        "polynomial_decay": "tfcompress.prune.schedule:polynomial_decay",
        "constant": "tfcompress.prune.schedule:constant",
    },
)

__all__ = ["SCHEDULES"]
