"""The LeNets of the pruning literature (Han et al. 2015; Frankle & Carbin 2019; Lee et al.
2019).

``lenet_300_100``: a 784-300-100-10 MLP, 266,610 parameters.
``lenet5``: the Caffe LeNet-5 used by Han et al. (conv 20 5x5 - pool - conv 50 5x5 - pool -
dense 500 - dense 10), 431,080 parameters on 28x28 input.
"""

from __future__ import annotations

from collections.abc import Sequence

from tfcompress._keras import keras

layers = keras.layers


def _head(x, num_classes: int) -> keras.layers.Layer:
    x = layers.Dense(num_classes, name="logits")(x)
    return layers.Softmax(name="probs")(x)


def lenet_300_100(input_shape: Sequence[int], num_classes: int, *,
                  hidden: Sequence[int] = (300, 100)) -> keras.Model:
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = layers.Flatten(name="flatten")(inputs)
    for i, units in enumerate(hidden):
        x = layers.Dense(units, activation="relu", name=f"fc{i + 1}")(x)
    return keras.Model(inputs, _head(x, num_classes), name="lenet_300_100")


def lenet5(input_shape: Sequence[int], num_classes: int, *, filters: Sequence[int] = (20, 50),
           dense_units: int = 500) -> keras.Model:
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 5, activation="relu", name=f"conv{i + 1}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, activation="relu", name="fc1")(x)
    return keras.Model(inputs, _head(x, num_classes), name="lenet5")
