"""Pruning: sparsity schedules and the pruning methods of Keras models."""

from tfcompress.registry import Registry

#: Schedule names -> ``f(spec, plan) -> tfmot PruningSchedule``; see ``schedule.py``.
SCHEDULES: Registry = Registry(
    "pruning schedule",
    {
        "polynomial_decay": "tfcompress.prune.schedule:polynomial_decay",
        "constant": "tfcompress.prune.schedule:constant",
        "piecewise": "tfcompress.prune.schedule:piecewise",
    },
)

#: ``prune.method`` -> ``f(job) -> Outcome``; see ``methods.py``.
PRUNE_METHODS: Registry = Registry(
    "pruning method",
    {name: f"tfcompress.prune.methods:{name}"
     for name in ("gradual", "oneshot", "iterative", "lottery", "snip", "m_by_n", "filters",
                 "slimming")},
)

#: methods that remove whole channels: their models are smaller and dense, not sparse
STRUCTURED = ("filters", "slimming")
#: methods that prune with tfmot's wrappers during fine-tuning (so they need fine-tuning steps)
TFMOT = ("gradual", "m_by_n")

__all__ = ["SCHEDULES", "PRUNE_METHODS", "STRUCTURED", "TFMOT"]
