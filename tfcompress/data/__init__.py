"""Datasets: a name in a recipe -> arrays split into train / validation / test."""

from tfcompress.data.dataset import Dataset, load
from tfcompress.data.names import AUGMENTATIONS, DATASETS

__all__ = ["AUGMENTATIONS", "DATASETS", "Dataset", "load"]
