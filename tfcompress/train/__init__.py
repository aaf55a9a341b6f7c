"""Training: optimizers by name and the fit loop (callbacks, logs, resumable epochs)."""

from tfcompress.registry import Registry

OPTIMIZERS: Registry = Registry(
    "optimizer",
    {
        "adam": "tfcompress.train.optimizers:adam",
        "sgd": "tfcompress.train.optimizers:sgd",
    },
)

#: Learning-rate schedule names -> ``f(spec, steps_per_epoch) -> schedule or float``.
LR_SCHEDULES: Registry = Registry(
    "learning-rate schedule",
    {
        "constant": "tfcompress.train.optimizers:constant_lr",
        "step": "tfcompress.train.optimizers:step_lr",
        "cosine": "tfcompress.train.optimizers:cosine_lr",
    },
)

__all__ = ["LR_SCHEDULES", "OPTIMIZERS"]
