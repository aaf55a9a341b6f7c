"""CIFAR-10: the official binary (preferred) or Python batches, an image folder, or tfds.

Looked for in the data dir and ``<data dir>/cifar10``: ``cifar-10-batches-bin/``,
``cifar-10-batches-py/``, ``cifar10_jpg/`` or ``cifar10_jpg.tar.gz`` (what
``../shared/data`` holds; unpacked into the cache, never into the repository). The Python
batches are pickles: they are read only from the directory the user named, with an unpickler
that accepts nothing but plain containers and numpy arrays.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tfcompress.data import image_folder
from tfcompress.data.dataset import RawData, download_or_fail
from tfcompress.errors import InputError

if TYPE_CHECKING:
    from tfcompress.recipe import DataSpec

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")
BIN_DIR, PY_DIR = "cifar-10-batches-bin", "cifar-10-batches-py"
JPG_DIR, JPG_ARCHIVE = "cifar10_jpg", "cifar10_jpg.tar.gz"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
RECORD = 1 + 32 * 32 * 3


def load(spec: DataSpec, data_dir: Path | None, offline: bool) -> RawData:
    del spec
    searched: list[str] = []
    for base in ([data_dir, data_dir / "cifar10"] if data_dir else []):
        for name, reader in ((BIN_DIR, _read_binary), (PY_DIR, _read_python),
                             (JPG_DIR, _read_images), (JPG_ARCHIVE, _read_images)):
            path = base / name
            searched.append(str(path))
            if path.exists():
                return reader(path)
    expected = f"{BIN_DIR}/, {PY_DIR}/, {JPG_DIR}/ or {JPG_ARCHIVE}"
    return download_or_fail("CIFAR-10", expected, searched, offline, _read_tfds,
                            host="www.cs.toronto.edu")


def _raw(x_train, y_train, x_test, y_test, source: str, skipped: int = 0) -> RawData:
    return RawData(x_train=x_train, y_train=y_train.astype(np.int64), x_test=x_test,
                   y_test=y_test.astype(np.int64), source=source,
                   preprocessing="RGB 32x32, x / 255", class_names=CLASSES,
                   skipped_files=skipped)


def _read_binary(folder: Path) -> RawData:
    def read(name: str) -> tuple[np.ndarray, np.ndarray]:
        path = folder / f"{name}.bin"
        try:
            data = np.fromfile(path, np.uint8)
        except OSError as e:
            raise InputError(f"cannot read {path}: {e}") from None
        if data.size == 0 or data.size % RECORD:
            raise InputError(f"{path} is not a CIFAR-10 binary batch (size {data.size} is not "
                             f"a multiple of {RECORD} bytes)")
        records = data.reshape(-1, RECORD)
        return records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), records[:, 0]

    parts = [read(n) for n in TRAIN_BATCHES]
    x_te, y_te = read("test_batch")
    return _raw(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                x_te, y_te, source=f"{folder} (binary batches)")


class _ArraysOnly(pickle.Unpickler):
    """Unpickles the CIFAR Python batches and refuses any other global (code execution)."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _read_python(folder: Path) -> RawData:
    def read(name: str) -> tuple[np.ndarray, np.ndarray]:
        path = folder / name
        try:
            with open(path, "rb") as f:
                batch = _ArraysOnly(f, encoding="bytes").load()
            x = np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            return x, np.asarray(batch[b"labels"])
        except (OSError, pickle.UnpicklingError, KeyError, ValueError, EOFError,
                TypeError) as e:
            raise InputError(f"{path} is not a CIFAR-10 Python batch: {e}") from None

    parts = [read(n) for n in TRAIN_BATCHES]
    x_te, y_te = read("test_batch")
    return _raw(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                x_te, y_te, source=f"{folder} (Python batches)")


def _read_images(path: Path) -> RawData:
    raw = image_folder.read(path, (32, 32), name="cifar10")
    if raw.class_names != CLASSES:
        raise InputError(f"{path}: class folders {list(raw.class_names)} are not the CIFAR-10 "
                         f"classes {list(CLASSES)}")
    return _raw(raw.x_train, raw.y_train, raw.x_test, raw.y_test,
                source=f"{path} (JPEG images)", skipped=raw.skipped_files)


def _read_tfds() -> RawData:
    import tensorflow_datasets as tfds

    train, test = tfds.as_numpy(tfds.load("cifar10", split=["train", "test"], batch_size=-1,
                                          as_supervised=True))
    return _raw(train[0], train[1], test[0], test[1], source="tfds cifar10 download")
