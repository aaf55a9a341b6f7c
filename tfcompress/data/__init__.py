"""Datasets: a name in a recipe -> arrays split into train / validation / test."""

from tfcompress.data.dataset import Dataset, load
from tfcompress.registry import Registry

#: Loaders take ``(data_dir, offline)`` and return ``RawData``; see ``dataset.py``.
DATASETS: Registry = Registry(
    "dataset",
    {
        "digits": "tfcompress.data.digits:load",
        "mnist": "tfcompress.data.mnist:load",
    },
)

__all__ = ["DATASETS", "Dataset", "load"]
