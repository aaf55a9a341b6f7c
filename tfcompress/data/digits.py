"""scikit-learn's bundled 8x8 digits (1,797 images): the no-download default dataset."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tfcompress.data.dataset import RawData, stratified_split

if TYPE_CHECKING:
    from tfcompress.recipe import DataSpec

TEST_FRACTION = 0.2
SPLIT_SEED = 1234  # fixed: the digits set has no official test split, so we make one


def load(spec: DataSpec, data_dir: Path | None, offline: bool) -> RawData:
    """Loads the digits from scikit-learn; ``data_dir`` and ``offline`` are not needed."""
    del spec, data_dir, offline
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images.astype(np.float32) / 16.0)[..., None]
    y = bunch.target.astype(np.int64)
    train_idx, test_idx = stratified_split(y, TEST_FRACTION, np.random.default_rng(SPLIT_SEED))
    return RawData(
        x_train=x[train_idx], y_train=y[train_idx], x_test=x[test_idx], y_test=y[test_idx],
        source="scikit-learn load_digits (bundled)",
        preprocessing="x / 16 (pixel range 0..16 -> 0..1), shape 8x8x1",
        class_names=tuple(str(i) for i in range(10)), pixel_max=16.0,
    )
