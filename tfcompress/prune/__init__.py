"""Pruning: sparsity schedules and the pruning methods of Keras models."""

from tfcompress.registry import Registry

#: Schedule names (``prune.schedule``) -> a ``schedules.Schedule``: the schedule for tfmot
#: (tf_keras) and for ``tfcompress.sparsity`` (Keras 3) from one plan.
SCHEDULES: Registry = Registry(
    "pruning schedule",
    {
        "polynomial_decay": "tfcompress.prune.schedules:POLYNOMIAL_DECAY",
        "constant": "tfcompress.prune.schedules:CONSTANT",
        "piecewise": "tfcompress.prune.schedules:PIECEWISE",
    },
)

#: ``prune.method`` -> its ``PruneMethod`` (``method.py``): one module in ``methods/`` and a line
#: here.
PRUNE_METHODS: Registry = Registry(
    "pruning method",
    {
        "gradual": "tfcompress.prune.methods.gradual:METHOD",
        "oneshot": "tfcompress.prune.methods.oneshot:METHOD",
        "iterative": "tfcompress.prune.methods.iterative:METHOD",
        "lottery": "tfcompress.prune.methods.lottery:METHOD",
        "snip": "tfcompress.prune.methods.snip:METHOD",
        "m_by_n": "tfcompress.prune.methods.m_by_n:METHOD",
        "filters": "tfcompress.prune.methods.structured:FILTERS",
        "slimming": "tfcompress.prune.methods.structured:SLIMMING",
        "resolution": "tfcompress.prune.methods.resolution:METHOD",
    },
)


def method(name: str):
    """The ``PruneMethod`` called ``name``."""
    return PRUNE_METHODS.get(name)


def all_methods() -> dict:
    """Every registered ``PruneMethod`` by name."""
    return {n: PRUNE_METHODS.get(n) for n in PRUNE_METHODS.names()}


#: how ``filters`` ranks channels (``prune.criterion``) -> an ``Importance``
#: (``tfcompress.structured.criteria``): filter L1 norm, batch norm |gamma|, first-order Taylor
#: importance, or at random (the control); ``register_criterion`` adds a user's own.
STRUCTURED_CRITERIA: Registry = Registry(
    "structured criterion",
    {
        "l1": "tfcompress.structured.criteria:L1_NORM",
        "bn_gamma": "tfcompress.structured.criteria:BN_GAMMA",
        "taylor": "tfcompress.structured.criteria:TAYLOR",
        "random": "tfcompress.structured.criteria:RANDOM",
    },
)


def register_criterion(name: str, importance: object) -> None:
    """Adds a structured criterion of your own: ``importance(model, analysis, groups, data,
    seed) -> {group: per-channel scores}`` (subclass ``tfcompress.structured.criteria.
    Importance``; set ``needs_data`` if it reads training batches). Recipes then name it as
    ``prune.criterion``."""
    if not callable(importance):
        raise TypeError(f"criterion {name!r} must be callable; received {importance!r}")
    STRUCTURED_CRITERIA.register(name, importance)

__all__ = ["PRUNE_METHODS", "SCHEDULES", "STRUCTURED_CRITERIA", "all_methods", "method",
           "register_criterion"]
