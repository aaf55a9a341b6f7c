"""Optimizer factories, one per name in ``tfcompress.train.OPTIMIZERS``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tfcompress._keras import keras

if TYPE_CHECKING:
    from tfcompress.recipe import TrainSpec


def adam(spec: TrainSpec) -> keras.optimizers.Optimizer:
    return keras.optimizers.Adam(learning_rate=spec.learning_rate)


def sgd(spec: TrainSpec) -> keras.optimizers.Optimizer:
    return keras.optimizers.SGD(learning_rate=spec.learning_rate, momentum=spec.momentum)
