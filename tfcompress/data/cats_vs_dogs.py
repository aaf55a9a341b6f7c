"""Cats vs Dogs: the TensorFlow transfer-learning tutorial's subset, or tfds when online.

Offline: ``cats_and_dogs_filtered/`` or ``cats_and_dogs_filtered.tar`` in the data dir (or
``<data dir>/cats_vs_dogs``): train 2,000 / validation 1,000 images of varied sizes, resized to
``data.image_size`` (default 224x224); the validation folder is the test split. Online: tfds
``cats_vs_dogs`` (23,262 images, one split; 20% held out as the test split, stratified).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tfcompress.data import image_folder
from tfcompress.data.dataset import RawData, download_or_fail, stratified_split
from tfcompress.errors import InputError

if TYPE_CHECKING:
    from tfcompress.recipe import DataSpec

FOLDER, ARCHIVE = "cats_and_dogs_filtered", "cats_and_dogs_filtered.tar"
CLASSES = ("cats", "dogs")
DEFAULT_SIZE = (224, 224)
TFDS_TEST_FRACTION = 0.2


def load(spec: DataSpec, data_dir: Path | None, offline: bool) -> RawData:
    size = tuple(spec.image_size) if spec.image_size else DEFAULT_SIZE
    searched: list[str] = []
    for base in ([data_dir, data_dir / "cats_vs_dogs"] if data_dir else []):
        for name in (FOLDER, ARCHIVE):
            path = base / name
            searched.append(str(path))
            if path.exists():
                raw = image_folder.read(path, size, name="cats_vs_dogs")
                if raw.class_names != CLASSES:
                    raise InputError(f"{path}: class folders {list(raw.class_names)}; expected "
                                     f"{list(CLASSES)}")
                return raw
    return download_or_fail("Cats vs Dogs", f"{FOLDER}/ or {ARCHIVE}", searched, offline,
                            lambda: _read_tfds(size), host="download.microsoft.com")


def _read_tfds(size: tuple[int, int]) -> RawData:
    import tensorflow_datasets as tfds

    from PIL import Image

    ds = tfds.load("cats_vs_dogs", split="train", as_supervised=True)
    # resized as image folders are (image_folder.RESIZE), not with tf.image.resize: one method
    # for training, evaluation, calibration and the card
    xs, ys = zip(*((np.asarray(Image.fromarray(x).convert("RGB").resize(
        (size[1], size[0]), Image.BILINEAR), np.uint8), y) for x, y in tfds.as_numpy(ds)))
    x, y = np.stack(xs), np.asarray(ys, np.int64)
    keep, test = stratified_split(y, TFDS_TEST_FRACTION, np.random.default_rng(0))
    return RawData(x_train=x[keep], y_train=y[keep], x_test=x[test], y_test=y[test],
                   source="tfds cats_vs_dogs download",
                   preprocessing=f"RGB {size[0]}x{size[1]}, x / 255", class_names=CLASSES,
                   resize=image_folder.RESIZE)
