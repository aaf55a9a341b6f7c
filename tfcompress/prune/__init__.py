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

#: ``prune.method`` -> (``module:function`` of a ``Job``, its traits). A new method is a module
#: in ``methods/`` and a line here. Traits: ``tfmot`` prunes with wrappers during fine-tuning
#: (tfmot's, or tfcompress.sparsity's on Keras 3; so it needs fine-tuning steps); ``structured``
#: removes whole channels (its models are smaller and dense, not sparse); ``retrains`` trains
#: with the baseline's budget (``train``); ``keras3`` runs natively on a Keras 3 model (the
#: others get its exact tf_keras twin, ``models/keras3.py``).
METHODS: dict[str, tuple[str, frozenset[str]]] = {
    "gradual": ("tfcompress.prune.methods.gradual:gradual", frozenset({"tfmot", "keras3"})),
    "oneshot": ("tfcompress.prune.methods.oneshot:oneshot", frozenset({"keras3"})),
    "iterative": ("tfcompress.prune.methods.iterative:iterative", frozenset({"keras3"})),
    "lottery": ("tfcompress.prune.methods.lottery:lottery", frozenset({"retrains", "keras3"})),
    "snip": ("tfcompress.prune.methods.snip:snip", frozenset({"retrains", "keras3"})),
    "m_by_n": ("tfcompress.prune.methods.m_by_n:m_by_n", frozenset({"tfmot", "keras3"})),
    "filters": ("tfcompress.prune.methods.structured:filters",
                frozenset({"structured", "keras3"})),
    "slimming": ("tfcompress.prune.methods.structured:slimming",
                 frozenset({"structured", "keras3"})),
}

PRUNE_METHODS: Registry = Registry("pruning method",
                                   {name: target for name, (target, _) in METHODS.items()})


def _having(trait: str) -> tuple[str, ...]:
    return tuple(name for name, (_, traits) in METHODS.items() if trait in traits)


STRUCTURED = _having("structured")
TFMOT = _having("tfmot")
RETRAINS = _having("retrains")
KERAS3_NATIVE = _having("keras3")

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

__all__ = ["KERAS3_NATIVE", "METHODS", "PRUNE_METHODS", "RETRAINS", "SCHEDULES", "STRUCTURED",
           "STRUCTURED_CRITERIA", "TFMOT", "register_criterion"]
