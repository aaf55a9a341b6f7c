"""MNIST from a local ``mnist.npz`` or the original IDX files, else the Keras download."""

from __future__ import annotations

import gzip
import struct
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tfcompress.data.dataset import RawData, download_or_fail
from tfcompress.errors import InputError

if TYPE_CHECKING:
    from tfcompress.recipe import DataSpec

NPZ_NAME = "mnist.npz"
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
PREPROCESSING = "x / 255 (uint8 -> 0..1), shape 28x28x1"


def load(spec: DataSpec, data_dir: Path | None, offline: bool) -> RawData:
    """Looks in ``data_dir`` and ``data_dir/mnist`` for ``mnist.npz`` or the IDX files.

    Raises:
      InputError: a local file is corrupt, or nothing was found and downloading is off/failed.
    """
    del spec
    searched = []
    for folder in _candidate_dirs(data_dir):
        npz = folder / NPZ_NAME
        searched.append(str(npz))
        if npz.is_file():
            return _from_arrays(*_read_npz(npz), source=str(npz))
        idx = {key: _find_idx(folder, stem) for key, stem in IDX_FILES.items()}
        if all(idx.values()):
            arrays = [_read_idx(idx[k]) for k in ("x_train", "y_train", "x_test", "y_test")]
            return _from_arrays(*arrays, source=f"{folder} (IDX files)")
    expected = (f"{NPZ_NAME} (Keras layout) or the four IDX files "
                f"({', '.join(s + '.gz' for s in IDX_FILES.values())})")
    return download_or_fail("MNIST", expected, searched, offline, _download, via="Keras",
                            host="storage.googleapis.com")


def _download() -> RawData:
    from tfcompress._keras import keras

    (x_tr, y_tr), (x_te, y_te) = keras.datasets.mnist.load_data()
    return _from_arrays(x_tr, y_tr, x_te, y_te, source="keras.datasets.mnist download")


def _candidate_dirs(data_dir: Path | None) -> list[Path]:
    if data_dir is None:
        return []
    return [data_dir, data_dir / "mnist"]


def _find_idx(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def _read_npz(path: Path) -> tuple[np.ndarray, ...]:
    try:
        with np.load(path, allow_pickle=False) as f:
            return tuple(f[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        raise InputError(f"{path} is not a valid MNIST npz (expected arrays x_train, y_train, "
                         f"x_test, y_test): {e}") from None


def _read_idx(path: Path) -> np.ndarray:
    """Reads one IDX file (LeCun's format): magic, big-endian dims, then uint8 data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
        zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
        if zero != 0 or dtype_code != 0x08:
            raise ValueError(f"bad magic number {data[:4].hex()}")
        dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
        array = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
        return array.reshape(dims)
    except (OSError, EOFError, ValueError, struct.error) as e:
        raise InputError(f"{path} is not a valid IDX file: {e}") from None


def _from_arrays(x_train, y_train, x_test, y_test, *, source: str) -> RawData:
    for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y):
            raise InputError(f"MNIST {name} arrays in {source} have shapes {x.shape} and "
                             f"{y.shape}; expected (N, 28, 28) images and N labels")
        if y.size and (y.min() < 0 or y.max() > 9):
            raise InputError(f"MNIST {name} labels in {source} must be 0..9; "
                             f"received range {y.min()}..{y.max()}")

    def prep(x):
        return (x.astype(np.float32) / 255.0)[..., None]

    return RawData(
        x_train=prep(x_train), y_train=y_train.astype(np.int64),
        x_test=prep(x_test), y_test=y_test.astype(np.int64),
        source=source, preprocessing=PREPROCESSING,
        class_names=tuple(str(i) for i in range(10)),
    )
