"""The small MNIST CNN of the classic pruning reports: 2 conv + 2 dense.

Conv(32, 5x5) -> max-pool -> Conv(64, 5x5) -> max-pool -> Dense(1024) -> Dense(10), as in the
TensorFlow MNIST tutorial model used by tfmot's pruning guide and the seed study
(3.27 M parameters, 12.5 MB as float32).
"""

from __future__ import annotations

from collections.abc import Sequence

from tfcompress._keras import keras


def build(input_shape: Sequence[int], num_classes: int, *, filters: Sequence[int] = (32, 64),
          kernel_size: int = 5, dense_units: int = 1024, dropout: float = 0.4) -> keras.Model:
    """Builds the CNN; ``filters``/``dense_units`` shrink it for tests.

    Returns a model that outputs class probabilities (last layer ``probs`` is a Softmax, so
    the logits stay reachable for distillation).
    """
    layers = keras.layers
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, kernel_size, padding="same", activation="relu", name=f"conv{i + 1}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, activation="relu", name="fc1")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Softmax(name="probs")(x)
    return keras.Model(inputs, outputs, name="mnist_cnn")
