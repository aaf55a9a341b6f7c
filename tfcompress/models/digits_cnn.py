"""A small CNN for the 8x8 scikit-learn digits (about 72 k parameters at default width)."""

from __future__ import annotations

from collections.abc import Sequence

from tfcompress._keras import keras


def build(input_shape: Sequence[int], num_classes: int, *, filters: Sequence[int] = (16, 32),
          dense_units: int = 128, batch_norm: bool = False) -> keras.Model:
    """Conv(3x3) x2 -> max-pool -> Dense -> Dense(num_classes) -> Softmax (``probs``);
    ``batch_norm`` puts a BatchNormalization between each convolution and its ReLU (what
    network slimming ranks channels by)."""
    layers = keras.layers
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for i, f in enumerate(filters):
        if batch_norm:
            x = layers.Conv2D(f, 3, padding="same", use_bias=False, name=f"conv{i + 1}")(x)
            x = layers.BatchNormalization(name=f"bn{i + 1}")(x)
            x = layers.ReLU(name=f"relu{i + 1}")(x)
        else:
            x = layers.Conv2D(f, 3, padding="same", activation="relu", name=f"conv{i + 1}")(x)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, activation="relu", name="fc1")(x)
    x = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Softmax(name="probs")(x)
    return keras.Model(inputs, outputs, name="digits_cnn")
