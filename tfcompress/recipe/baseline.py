"""The baseline of a recipe: its data, its model, how it is trained (and transfer-learned)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tfcompress import flavor
from tfcompress.data import AUGMENTATIONS, DATASETS
from tfcompress.distribute import STRATEGIES
from tfcompress.errors import unknown_name
from tfcompress.models import MODELS
from tfcompress.recipe.checks import (LATER, MAX_EPOCHS, _as_tuples, _fraction, _number,
                                      _positive_int, _require, _seed)
from tfcompress.train import LR_SCHEDULES, OPTIMIZERS


#: ``data.pixel_range``: the (low, high) that 0..255 pixels are mapped to
PIXEL_RANGES = {"0-1": (0.0, 1.0), "0-255": (0.0, 255.0), "-1-1": (-1.0, 1.0)}


@dataclass(frozen=True)
class DataSpec:
    """Which dataset, and how much of it a profile uses.

    Attributes:
      name: a registered dataset (``tfcompress.data.DATASETS``).
      val_fraction: share of the training set held out for validation (stratified).
      train_limit: use at most this many training examples (None: all); profiles shrink it.
      test_limit: evaluate on at most this many test examples (None: the full test set).
      split_seed: seed of the validation split and of the subsets.
      path: the folder or archive of dataset ``image_folder`` (absolute or in the data dir).
      image_size: [height, width] images are resized to (image folders).
      mean, std: per-channel normalisation ``(x - mean) / std`` of 0..1 pixels (None: none).
      pixel_range: the range the model takes its pixels in: ``0-1`` (x / 255), ``0-255`` (as
        they are: a model that rescales them itself, e.g. with ``Rescaling(1/255)``) or
        ``-1-1``; another range than ``0-1`` is a mean / std of its own, so not with them.
      augment: training-time augmentation (``tfcompress.data.AUGMENTATIONS``).
    """

    name: str
    val_fraction: float = 0.1
    train_limit: int | None = None
    test_limit: int | None = None
    split_seed: int = 0
    path: str | None = None
    image_size: tuple[int, int] | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    augment: str = "none"
    pixel_range: str = field(default="0-1", metadata=LATER)

    def __post_init__(self) -> None:
        _as_tuples(self, "image_size", "mean", "std")
        DATASETS.check(self.name)
        _require(_number(self.val_fraction) and 0.0 < self.val_fraction < 0.5,
                 "data.val_fraction", "a number in (0, 0.5)", self.val_fraction)
        for name in ("train_limit", "test_limit"):
            value = getattr(self, name)
            if value is not None:
                _positive_int(f"data.{name}", value)
        _seed("data.split_seed", self.split_seed)
        _require(self.path is None or isinstance(self.path, str), "data.path", "a path",
                 self.path)
        if self.image_size is not None:
            _require(isinstance(self.image_size, tuple) and len(self.image_size) == 2
                     and all(isinstance(v, int) and v > 0 for v in self.image_size),
                     "data.image_size", "[height, width] in pixels", self.image_size)
        for name in ("mean", "std"):
            value = getattr(self, name)
            if value is not None:
                _require(isinstance(value, tuple) and len(value) > 0
                         and all(_number(v) for v in value), f"data.{name}",
                         "a list of numbers, one per channel", value)
        if self.std is not None:
            _require(all(v > 0 for v in self.std), "data.std", "positive", self.std)
        if self.pixel_range not in PIXEL_RANGES:
            raise unknown_name("data.pixel_range", self.pixel_range, list(PIXEL_RANGES))
        _require(self.pixel_range == "0-1" or (self.mean is None and self.std is None),
                 "data.pixel_range", "0-1 when data.mean or data.std is given (they set the "
                 "range themselves)", self.pixel_range)
        AUGMENTATIONS.check(self.augment)

    def normalization(self, channels: int) -> tuple[tuple[float, ...] | None,
                                                    tuple[float, ...] | None]:
        """The per-channel (mean, std) applied to 0..1 pixels: the given ones, or those of
        ``pixel_range`` (``0-255``: mean 0, std 1/255)."""
        if self.pixel_range == "0-1":
            return self.mean, self.std
        lo, hi = PIXEL_RANGES[self.pixel_range]
        return (-lo / (hi - lo),) * channels, (1.0 / (hi - lo),) * channels


@dataclass(frozen=True)
class ModelSpec:
    """A registered model builder and its keyword options (e.g. layer widths), or a model file.

    Attributes:
      path: a Keras model the user brings (``.keras``, ``.h5`` or a SavedModel folder); when
        set it replaces the builder, and ``train.epochs`` may be 0 to use it as it is.
      keras: the Keras the run's models come out in: ``2`` (tf_keras), ``3`` (keras), or
        ``auto``: the Keras of ``path``'s file, else 2.
    """

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    path: str | None = None
    keras: str = field(default="auto", metadata=LATER)

    def __post_init__(self) -> None:
        MODELS.check(self.name)
        _require(isinstance(self.options, Mapping), "model.options", "a mapping", self.options)
        _require(self.path is None or (isinstance(self.path, str) and self.path),
                 "model.path", "a path to a Keras model file", self.path)
        if self.keras in (2, 3):  # --override model.keras=3 reads a number
            object.__setattr__(self, "keras", str(self.keras))
        _require(self.keras in KERAS_CHOICES, "model.keras", f"one of {KERAS_CHOICES}",
                 self.keras)

    def keras_out(self) -> str:
        """``2`` or ``3``: the Keras of the files a run writes for this model."""
        if self.keras != "auto":
            return self.keras
        if self.path:
            try:
                return "3" if flavor.of_file(self.path) == flavor.KERAS3 else "2"
            except OSError:
                return "2"  # a missing file is reported where it is loaded
        return "2"


KERAS_CHOICES = ("auto", "2", "3")


@dataclass(frozen=True)
class TrainSpec:
    """How a model is trained (the baseline) or fine-tuned (after pruning).

    Attributes:
      epochs: 0 trains nothing (a user's model used as it is).
      lr_schedule: ``constant``; ``step``: divided by 10 at 50% and 75% of the epochs (He
        et al. 2016); ``cosine``: down to 0 along half a cosine (Loshchilov & Hutter 2017).
      weight_decay: decoupled weight decay of the optimizer (0: none).
      strategy: the ``tf.distribute`` strategy training runs under (``default``,
        ``mirrored``, ``multi_worker``; see ``tfcompress.distribute``).
      unfreeze: also train the layers the model holds frozen (a transfer backbone's lower
        blocks), batch norms excepted: they stay as they are. For a fine-tune after a change
        every layer sees, such as a smaller input image (``prune.method: resolution``).
    """

    epochs: int
    batch_size: int = 128
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9  # used by "sgd" only
    lr_schedule: str = "constant"
    weight_decay: float = 0.0
    strategy: str = field(default="default", metadata=LATER)
    unfreeze: bool = field(default=False, metadata=LATER)

    def __post_init__(self) -> None:
        _require(isinstance(self.epochs, int) and not isinstance(self.epochs, bool)
                 and 0 <= self.epochs <= MAX_EPOCHS, "epochs",
                 f"an integer >= 0 (at most {MAX_EPOCHS:,})", self.epochs)
        _positive_int("batch_size", self.batch_size)
        OPTIMIZERS.check(self.optimizer)
        _require(_number(self.learning_rate) and self.learning_rate > 0,
                 "learning_rate", "a positive number", self.learning_rate)
        _fraction("momentum", self.momentum, open_top=True)
        LR_SCHEDULES.check(self.lr_schedule)
        _require(_number(self.weight_decay) and self.weight_decay >= 0, "weight_decay",
                 "a number >= 0", self.weight_decay)
        STRATEGIES.check(self.strategy)
        _require(isinstance(self.unfreeze, bool), "unfreeze", "true or false", self.unfreeze)


@dataclass(frozen=True)
class TransferSpec:
    """Two-phase transfer learning (the Keras transfer-learning guide).

    Phase 1 is the recipe's ``train`` with the nested ``backbone`` layer frozen (feature
    extraction: only the new head learns). Phase 2 unfreezes the backbone from layer
    ``unfreeze_from`` on (None: all of it) and trains with ``train``, normally for a few epochs
    at a learning rate 10-100x lower. Batch normalisation layers stay frozen in both phases
    (their ImageNet statistics would not survive small CPU batches).
    """

    train: TrainSpec
    backbone: str = "backbone"
    unfreeze_from: str | None = None

    def __post_init__(self) -> None:
        _require(isinstance(self.backbone, str) and self.backbone, "transfer.backbone",
                 "the name of the model's nested backbone layer", self.backbone)
        _require(self.unfreeze_from is None or
                 (isinstance(self.unfreeze_from, str) and self.unfreeze_from),
                 "transfer.unfreeze_from", "a layer name of the backbone, or none",
                 self.unfreeze_from)
