"""The in-memory dataset every step receives, and the one place splits are made."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tfcompress.data.names import DATASETS
from tfcompress.errors import InputError

if TYPE_CHECKING:
    from tfcompress.recipe import DataSpec

DATA_DIR_ENV = "TFCOMPRESS_DATA_DIR"
OFFLINE_ENV = "TFCOMPRESS_OFFLINE"
CACHE_DIR_ENV = "TFCOMPRESS_CACHE_DIR"


@dataclass(frozen=True)
class RawData:
    """What a loader returns: the dataset's own train and test sets, preprocessed.

    ``x`` arrays are in the layout the models take (N, H, W, C): uint8 pixels (scaled to
    0..1 by ``load``) or float32 already in 0..1; labels are int64.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # where the data came from (a path, "scikit-learn", "keras download")
    preprocessing: str  # how pixels were scaled, for the report
    class_names: tuple[str, ...] = ()
    skipped_files: int = 0  # unreadable images left out (image folders)
    pixel_max: float = 255.0  # raw pixel value that maps to 1.0 (digits: 16)
    #: x are image pixels scaled by ``/ pixel_max`` (False: arrays used as given, scale unknown)
    pixels_known: bool = True
    #: how images were brought to the model's size ("none": stored at that size)
    resize: str = "none"


@dataclass(frozen=True)
class Dataset:
    """Train / validation / test arrays. The test set is used only for final numbers."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    source: str
    preprocessing: str
    class_names: tuple[str, ...] = field(default=())
    augment: str = "none"
    skipped_files: int = 0
    pixel_max: float = 255.0
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    pixels_known: bool = True
    resize: str = "none"

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def input_card(self) -> dict[str, Any]:
        """How to turn a raw image into this model's input: written beside each .tflite so
        an app (or ``scripts/classify_tflite.py``) can preprocess exactly as training did."""
        return {
            "dataset": self.name,
            "input_shape": list(self.input_shape),
            "class_names": list(self.class_names),
            "pixel_max": self.pixel_max,
            "mean": None if self.mean is None else list(self.mean),
            "std": None if self.std is None else list(self.std),
            "preprocessing": self.preprocessing,
            "resize": self.resize,
        }

    def pixels(self, x: np.ndarray) -> np.ndarray:
        """Model inputs back to the pixels an app holds: whole numbers in 0..pixel_max (float32),
        what a phone-ready file (``quantize/serving.py``) takes. Exact for images loaded from
        8-bit files: ``/ pixel_max`` and ``(x - mean) / std`` are undone and rounded."""
        if not self.pixels_known:
            raise ValueError(f"{self.name}: the arrays' pixel scale is unknown")
        mean = np.asarray(self.mean if self.mean is not None else 0.0, np.float32)
        std = np.asarray(self.std if self.std is not None else 1.0, np.float32)
        p = np.round((x * std + mean) * np.float32(self.pixel_max))
        return np.clip(p, 0, self.pixel_max).astype(np.float32)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "preprocessing": self.preprocessing,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "train": int(len(self.y_train)),
            "val": int(len(self.y_val)),
            "test": int(len(self.y_test)),
            "augment": self.augment,
            "skipped_files": self.skipped_files,
        }


def default_data_dir() -> Path | None:
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value) if value else None


def cache_dir() -> Path:
    """Where decoded arrays and unpacked archives are kept: ``$TFCOMPRESS_CACHE_DIR``, else
    ``~/.cache/tfcompress`` (never the repository)."""
    value = os.environ.get(CACHE_DIR_ENV)
    return Path(value) if value else Path.home() / ".cache" / "tfcompress"


def download_or_fail(dataset: str, expected: str, searched: Sequence[str], offline: bool,
                     download: Callable[[], RawData], via: str = "tfds",
                     host: str | None = None) -> RawData:
    """The last resort of every loader: download when online, else one line that says what
    to put where (and why no download happened).

    Args:
      dataset: the name in the message ("MNIST").
      expected: what the user should put in the data dir.
      searched: the paths that were looked at.
      via: what downloads (for the message).
      host: the server the download comes from: when it cannot be reached (a machine
        without internet), the message comes at once instead of after the downloader's
        minutes of retries.
    """
    reason = "downloading is off (offline)" if offline else None
    if reason is None and host is not None:
        reason = unreachable(host)
    if reason is None:
        try:
            return download()
        except Exception as e:  # no network, proxy, etc.: fall through to the clear message
            reason = f"the {via} download failed ({type(e).__name__})"
    raise InputError(
        f"{dataset} not found: put {expected} in the directory given by --data_dir or "
        f"${DATA_DIR_ENV} (searched: {', '.join(searched) or 'no directory given'}); {reason}")


def unreachable(host: str, port: int = 443, timeout: float = 5.0) -> str | None:
    """Why ``host`` cannot be downloaded from (its name does not resolve, or no connection
    within ``timeout`` seconds), or None when it answers."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except socket.gaierror:
        return f"no download: {host} cannot be resolved (no internet?)"
    except OSError as e:
        return f"no download: {host}:{port} does not answer ({type(e).__name__})"


def offline_default() -> bool:
    return os.environ.get(OFFLINE_ENV, "").lower() in ("1", "true", "yes")


def load(spec: DataSpec, data_dir: str | os.PathLike | None = None,
         offline: bool | None = None) -> Dataset:
    """Loads ``spec.name`` and carves the validation split from its training set.

    Args:
      spec: the recipe's data section.
      data_dir: where local copies live (default: ``$TFCOMPRESS_DATA_DIR``).
      offline: never download (default: ``$TFCOMPRESS_OFFLINE``); tests set it.

    Raises:
      InputError: the data is missing or corrupt; the message says where to put it.
    """
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    offline = offline_default() if offline is None else offline
    raw: RawData = DATASETS.get(spec.name)(spec, data_dir, offline)
    check_raw(raw, f"{spec.name} ({raw.source})")  # the message names the file or folder
    rng = np.random.default_rng(spec.split_seed)
    train_idx, val_idx = stratified_split(raw.y_train, spec.val_fraction, rng)
    if not len(val_idx) or not len(train_idx):
        raise InputError(f"{spec.name} ({raw.source}): {len(raw.y_train)} training examples "
                         f"are too few to "
                         f"hold out data.val_fraction={spec.val_fraction} for validation and "
                         f"still train; bring at least {MIN_PER_CLASS} images per class")
    if spec.train_limit is not None and spec.train_limit < len(train_idx):
        train_idx = np.sort(rng.choice(train_idx, spec.train_limit, replace=False))
        n_val = max(1, int(round(spec.train_limit * spec.val_fraction / (1 - spec.val_fraction))))
        val_idx = np.sort(rng.choice(val_idx, min(n_val, len(val_idx)), replace=False))
    test_idx = np.arange(len(raw.y_test))
    if spec.test_limit is not None and spec.test_limit < len(test_idx):
        test_idx = np.sort(rng.choice(test_idx, spec.test_limit, replace=False))
    num_classes = max(int(max(raw.y_train.max(), raw.y_test.max())) + 1, len(raw.class_names))
    channels = raw.x_train.shape[-1]
    for name in ("mean", "std"):
        value = getattr(spec, name)
        if value is not None and len(value) != channels:
            raise InputError(f"data.{name} must have one value per channel ({channels}); "
                             f"received {list(value)}")
    mean, std = spec.normalization(channels)

    def prep(x: np.ndarray) -> np.ndarray:
        return normalize(x, mean, std)

    preprocessing = raw.preprocessing
    if spec.pixel_range != "0-1":
        preprocessing += f", then mapped to {spec.pixel_range} (data.pixel_range)"
    elif mean is not None or std is not None:
        preprocessing += f", then (x - {list(mean or [0.0])}) / {list(std or [1.0])}"
    return Dataset(
        name=spec.name,
        x_train=prep(raw.x_train[train_idx]), y_train=raw.y_train[train_idx],
        x_val=prep(raw.x_train[val_idx]), y_val=raw.y_train[val_idx],
        x_test=prep(raw.x_test[test_idx]), y_test=raw.y_test[test_idx],
        num_classes=num_classes, source=raw.source, preprocessing=preprocessing,
        class_names=raw.class_names, augment=spec.augment, skipped_files=raw.skipped_files,
        pixel_max=raw.pixel_max, mean=mean, std=std, pixels_known=raw.pixels_known,
        resize=raw.resize,
    )


#: Fewest examples of each class a training set may have: one for validation, one to train.
MIN_PER_CLASS = 2


def check_raw(raw: RawData, name: str) -> None:
    """What a loader returned is a usable dataset: images with labels, every split non-empty,
    every class seen in training at least ``MIN_PER_CLASS`` times.

    Raises:
      InputError: empty or mismatched arrays, images that are not (N, H, W, C), too few
        examples of a class.
    """
    for split, x, y in (("train", raw.x_train, raw.y_train), ("test", raw.x_test, raw.y_test)):
        if x.ndim != 4 or len(x) != len(y) or len(y) == 0:
            raise InputError(f"{name}: the {split} split must hold N >= 1 images (N, height, "
                             f"width, channels) with N labels; received images of shape "
                             f"{list(x.shape)} and {len(y)} labels")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            raise InputError(f"{name}: {split} labels must be integers >= 0; received "
                             f"{y.dtype} labels from {y.min()} to {y.max()}")
    if raw.x_train.shape[1:] != raw.x_test.shape[1:]:
        raise InputError(f"{name}: train images {list(raw.x_train.shape[1:])} and test images "
                         f"{list(raw.x_test.shape[1:])} differ in shape")
    classes, counts = np.unique(raw.y_train, return_counts=True)
    few = [(raw.class_names[c] if c < len(raw.class_names) else int(c), int(n))
           for c, n in zip(classes, counts) if n < MIN_PER_CLASS]
    if few:
        raise InputError(f"{name}: every class needs at least {MIN_PER_CLASS} training images "
                         f"(one is held out for validation); too few: "
                         f"{', '.join(f'{c}: {n}' for c, n in few[:5])}")


def normalize(x: np.ndarray, mean: Sequence[float] | None,
              std: Sequence[float] | None) -> np.ndarray:
    """uint8 pixels -> 0..1 floats, then per-channel ``(x - mean) / std`` where given."""
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    if mean is not None:
        x -= np.asarray(mean, np.float32)
    if std is not None:
        x /= np.asarray(std, np.float32)
    return x


def stratified_split(labels: np.ndarray, fraction: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, held_out): ``fraction`` of each class held out, both sorted."""
    held = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        n = int(round(len(idx) * fraction))
        held.append(rng.choice(idx, n, replace=False))
    held_out = np.sort(np.concatenate(held))
    keep = np.setdiff1d(np.arange(len(labels)), held_out)
    return keep, held_out
