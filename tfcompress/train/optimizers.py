"""Optimizer and learning-rate schedule factories, one per registered name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tfcompress._keras import keras
from tfcompress.train import LR_SCHEDULES

if TYPE_CHECKING:
    from tfcompress.recipe import TrainSpec


def learning_rate(spec: TrainSpec, steps_per_epoch: int, k: Any = keras) -> Any:
    return LR_SCHEDULES.get(spec.lr_schedule)(spec, steps_per_epoch, k)


def constant_lr(spec: TrainSpec, steps_per_epoch: int, k: Any = keras) -> float:
    del steps_per_epoch, k
    return spec.learning_rate


def step_lr(spec: TrainSpec, steps_per_epoch: int, k: Any = keras) -> Any:
    """Divided by 10 at 50% and 75% of training (He et al. 2016's CIFAR schedule)."""
    total = spec.epochs * steps_per_epoch
    return k.optimizers.schedules.PiecewiseConstantDecay(
        boundaries=[int(total * 0.5), int(total * 0.75)],
        values=[spec.learning_rate, spec.learning_rate / 10, spec.learning_rate / 100])


def cosine_lr(spec: TrainSpec, steps_per_epoch: int, k: Any = keras) -> Any:
    """From ``learning_rate`` down to 0 along half a cosine over all of training (Loshchilov
    & Hutter 2017, without restarts): the recovery schedule of structured pruning's
    fine-tuning."""
    return k.optimizers.schedules.CosineDecay(spec.learning_rate,
                                              max(1, spec.epochs * steps_per_epoch))


def adam(spec: TrainSpec, steps_per_epoch: int, k: Any = keras) -> Any:
    """``k``: the Keras package of the model it trains (tf_keras or Keras 3: same API)."""
    return k.optimizers.Adam(learning_rate=learning_rate(spec, steps_per_epoch, k),
                             weight_decay=spec.weight_decay or None)


def sgd(spec: TrainSpec, steps_per_epoch: int, k: Any = keras) -> Any:
    return k.optimizers.SGD(learning_rate=learning_rate(spec, steps_per_epoch, k),
                            momentum=spec.momentum, weight_decay=spec.weight_decay or None)
