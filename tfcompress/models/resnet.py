"""CIFAR ResNets (He et al. 2016, "Deep Residual Learning", section 4.2) and the
pre-activation variant (He et al. 2016b, "Identity Mappings in Deep Residual Networks").

depth = 6n + 2: a 3x3 conv with 16 filters, three stages of n basic blocks (two 3x3 convs)
with 16, 32, 64 filters on 32x32, 16x16, 8x8 maps, global average pooling and a dense
classifier. Shortcuts are **option B**: identity, except where the shape changes, where a
1x1 convolution with stride 2 and batch norm projects (the paper's CIFAR numbers used option A,
zero-padding; B adds 2 x 1x1 convs, +0.3% parameters for ResNet-56, and is built from plain
Keras layers, which TFLite and channel pruning handle without a Lambda layer).
ResNet-56: 0.86 M parameters, 126 M MACs per image (the paper: 0.85 M, 125 M).

``resnet18``: the CIFAR ResNet-18 of the pruning literature (the ImageNet ResNet-18 of He et
al. with a 3x3 stride-1 stem and no max-pool): four stages of two basic blocks with 64, 128,
256, 512 filters on 32x32 to 4x4 maps, option-B shortcuts. 11.18 M parameters, 555 M MACs per
32x32 image.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from tfcompress._keras import keras
from tfcompress.errors import InputError

layers = keras.layers
WIDTHS = (16, 32, 64)


def _conv(filters: int, stride: int, name: str, kernel: int = 3) -> layers.Conv2D:
    return layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                         kernel_initializer="he_normal", name=name)


def _bn(name: str) -> layers.BatchNormalization:
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


def _block(x, filters: int, stride: int, name: str, preact: bool):
    shortcut = x
    if preact:
        x = layers.ReLU(name=f"{name}_relu0")(_bn(f"{name}_bn0")(x))
        if stride != 1 or shortcut.shape[-1] != filters:
            shortcut = _bn(f"{name}_proj_bn")(
                _conv(filters, stride, f"{name}_proj", kernel=1)(x))
        x = _conv(filters, stride, f"{name}_conv1")(x)
        x = layers.ReLU(name=f"{name}_relu1")(_bn(f"{name}_bn1")(x))
        x = _conv(filters, 1, f"{name}_conv2")(x)
        return layers.Add(name=f"{name}_add")([x, shortcut])
    x = _conv(filters, stride, f"{name}_conv1")(x)
    x = layers.ReLU(name=f"{name}_relu1")(_bn(f"{name}_bn1")(x))
    x = _bn(f"{name}_bn2")(_conv(filters, 1, f"{name}_conv2")(x))
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = _bn(f"{name}_proj_bn")(
            _conv(filters, stride, f"{name}_proj", kernel=1)(shortcut))
    x = layers.Add(name=f"{name}_add")([x, shortcut])
    return layers.ReLU(name=f"{name}_out")(x)


def build(input_shape: Sequence[int], num_classes: int, *, depth: int = 20,
          preact: bool = False, widths: Sequence[int] = WIDTHS) -> keras.Model:
    """A CIFAR ResNet of ``depth`` = 6n + 2 layers (8 is the test size: one block per stage).

    Raises:
      InputError: ``depth`` is not of the form 6n + 2.
    """
    if depth < 8 or (depth - 2) % 6:
        raise InputError(f"model.options.depth must be 6n + 2 (8, 20, 32, 44, 56, 110, ...); "
                         f"received {depth}")
    n = (depth - 2) // 6
    return _network(input_shape, num_classes, list(widths), [n] * len(widths), preact)


def _network(input_shape: Sequence[int], num_classes: int, widths: list[int],
             blocks: list[int], preact: bool) -> keras.Model:
    """Stem, ``blocks[i]`` basic blocks of ``widths[i]`` filters per stage (each later stage
    halving the map), global pooling and the classifier; named by its depth."""
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = _conv(widths[0], 1, "stem_conv")(inputs)
    if not preact:
        x = layers.ReLU(name="stem_relu")(_bn("stem_bn")(x))
    for stage, (filters, n) in enumerate(zip(widths, blocks)):
        for block in range(n):
            stride = 2 if stage > 0 and block == 0 else 1
            x = _block(x, filters, stride, f"s{stage + 1}b{block + 1}", preact)
    if preact:
        x = layers.ReLU(name="final_relu")(_bn("final_bn")(x))
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(num_classes, kernel_initializer="he_normal", name="logits")(x)
    outputs = layers.Softmax(name="probs")(x)
    depth = 2 + 2 * sum(blocks)
    return keras.Model(inputs, outputs, name=f"{'preact_' if preact else ''}resnet{depth}")


def resnet18(input_shape: Sequence[int], num_classes: int, *,
             widths: Sequence[int] = (64, 128, 256, 512), blocks: Sequence[int] = (2, 2, 2, 2),
             preact: bool = False) -> keras.Model:
    """The CIFAR ResNet-18 (``blocks`` basic blocks per stage, ``widths`` filters; the first
    stage at stride 1, each later one halving the map).

    Raises:
      InputError: ``widths`` and ``blocks`` differ in length or hold a value below 1.
    """
    widths, blocks = list(widths), list(blocks)
    if (len(widths) != len(blocks) or not widths
            or not all(isinstance(v, int) and v >= 1 for v in widths + blocks)):
        raise InputError(f"model.options widths and blocks must be lists of positive integers "
                         f"of one length (e.g. [64, 128, 256, 512] and [2, 2, 2, 2]); received "
                         f"widths={widths}, blocks={blocks}")
    return _network(input_shape, num_classes, widths, blocks, preact)


resnet20 = partial(build, depth=20)
resnet32 = partial(build, depth=32)
resnet44 = partial(build, depth=44)
resnet56 = partial(build, depth=56)
resnet110 = partial(build, depth=110)
preact_resnet20 = partial(build, depth=20, preact=True)
preact_resnet56 = partial(build, depth=56, preact=True)
