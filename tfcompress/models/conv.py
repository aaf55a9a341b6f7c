"""Conv-2, Conv-4 and Conv-6: the CIFAR-10 networks of Frankle & Carbin 2019 ("The Lottery
Ticket Hypothesis", figure 2), scaled-down VGGs: pairs of 3x3 convolutions (64, then 128, then
256 filters, ``same`` padding, ReLU), each pair followed by 2x2 max-pooling, then dense layers of
256, 256 and 10 units. Glorot-normal initialisation, as in the paper.

Parameters on 32x32x3: Conv-2 4.30 M, Conv-4 2.43 M, Conv-6 2.26 M (the paper: 4.3 M, 2.4 M,
1.7 M; its Conv-6 count leaves out part of the first dense layer).
"""

from __future__ import annotations

from collections.abc import Sequence

from tfcompress._keras import keras
from tfcompress.errors import InputError

layers = keras.layers
#: filters of each pair of convolutions
STAGES = (64, 128, 256)


def build(input_shape: Sequence[int], num_classes: int, *, pairs: int = 2,
          widths: Sequence[int] = STAGES, dense: Sequence[int] = (256, 256)) -> keras.Model:
    """Conv-(2 x ``pairs``): ``pairs`` stages of two convolutions of ``widths`` filters.

    Raises:
      InputError: ``pairs`` is not 1 to ``len(widths)``.
    """
    widths = list(widths)
    if not (isinstance(pairs, int) and 1 <= pairs <= len(widths)):
        raise InputError(f"model.options.pairs must be an integer in [1, {len(widths)}] (Conv-2 "
                         f"to Conv-{2 * len(widths)}); received {pairs!r}")
    init = "glorot_normal"
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for stage, filters in enumerate(widths[:pairs]):
        for i in (1, 2):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu",
                              kernel_initializer=init, name=f"conv{2 * stage + i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{stage + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate(dense):
        x = layers.Dense(units, activation="relu", kernel_initializer=init,
                         name=f"fc{i + 1}")(x)
    x = layers.Dense(num_classes, kernel_initializer=init, name="logits")(x)
    outputs = layers.Softmax(name="probs")(x)
    return keras.Model(inputs, outputs, name=f"conv{2 * pairs}")


def conv2(input_shape: Sequence[int], num_classes: int, **options) -> keras.Model:
    return build(input_shape, num_classes, pairs=1, **options)


def conv4(input_shape: Sequence[int], num_classes: int, **options) -> keras.Model:
    return build(input_shape, num_classes, pairs=2, **options)


def conv6(input_shape: Sequence[int], num_classes: int, **options) -> keras.Model:
    return build(input_shape, num_classes, pairs=3, **options)
