"""A small MobileNet-v1-style CNN for 28x28 / 32x32 inputs: the kind of model shipped to
microcontrollers and phones, and the kind post-training int8 quantization hurts most.

Conv 3x3 stride 2 -> BN -> ReLU6, then per width a depthwise-separable block
(DepthwiseConv 3x3 -> BN -> ReLU6 -> Conv 1x1 -> BN -> ReLU6), global average pooling and a
Dense classifier. Batch norm folded into the depthwise kernels gives channels very different
weight ranges, and the narrow layers have no redundancy to absorb rounding (Krishnamoorthi
2018, Table 4: post-training quantization costs MobileNets most).
"""

from __future__ import annotations

from collections.abc import Sequence

from tfcompress._keras import keras

layers = keras.layers


def build(input_shape: Sequence[int], num_classes: int, *,
          widths: Sequence[int] = (8, 16, 32)) -> keras.Model:
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = layers.Conv2D(widths[0], 3, strides=2, padding="same", use_bias=False,
                      name="stem")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_relu")(x)
    for i, w in enumerate(widths):
        x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"dw{i + 1}")(x)
        x = layers.BatchNormalization(name=f"dw{i + 1}_bn")(x)
        x = layers.ReLU(6.0, name=f"dw{i + 1}_relu")(x)
        x = layers.Conv2D(w, 1, use_bias=False, name=f"pw{i + 1}")(x)
        x = layers.BatchNormalization(name=f"pw{i + 1}_bn")(x)
        x = layers.ReLU(6.0, name=f"pw{i + 1}_relu")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Softmax(name="probs")(x)
    return keras.Model(inputs, outputs, name="tiny_mobilenet")
