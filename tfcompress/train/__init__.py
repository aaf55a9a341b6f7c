"""Training: optimizers by name and the fit loop (callbacks, logs, resumable epochs)."""

from tfcompress.registry import Registry

OPTIMIZERS: Registry = Registry(
    "optimizer",
    {
        "adam": "tfcompress.train.optimizers:adam",
        "sgd": "tfcompress.train.optimizers:sgd",
    },
)

__all__ = ["OPTIMIZERS"]
