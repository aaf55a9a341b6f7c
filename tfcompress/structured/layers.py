"""What each Keras layer type does to channels: the tables the channel analysis, the rebuild
and the MAC counter share, and the value a removed channel carries through a layer.

Layers are told apart by class name, the same in tf_keras and Keras 3 (a subclass such as
Conv2DTranspose is never taken for a Conv2D). Keras 3 operations that are not layers
(``keras.ops.add`` in a functional graph) are ``op:<Name>``; tf_keras wraps such calls in
``TFOpLambda`` layers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tfcompress import flavor

#: layers that make new channels: kernel axes (input, output) and how the kernel is laid out
CONVS = frozenset({"Conv1D", "Conv2D", "Conv3D"})
TRANSPOSED = frozenset({"Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"})
SEPARABLE = frozenset({"SeparableConv1D", "SeparableConv2D"})
PRODUCERS = CONVS | TRANSPOSED | SEPARABLE | {"Dense"}
DEPTHWISE = frozenset({"DepthwiseConv1D", "DepthwiseConv2D"})
#: channel-wise layers with one weight (or one slice) per channel, sliced on their last axis
SCALED = frozenset({"BatchNormalization", "LayerScale", "Normalization", "PReLU"})
#: channel i out depends on channel i in only, and a constant channel stays constant
PASS_THROUGH = frozenset({
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Identity", "StochasticDepth",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
    "AveragePooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalAveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "Cropping1D", "Cropping2D", "Cropping3D", "UpSampling1D", "UpSampling2D", "UpSampling3D"})
#: zero padding: a constant channel is no longer constant (zeros at the border) unless it is 0
PADDING = frozenset({"ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D"})
#: channel-wise functions of one tensor, evaluated on a constant to follow a removed channel
ACTIVATIONS = frozenset({"ReLU", "LeakyReLU", "ELU", "ThresholdedReLU", "Activation",
                         "Rescaling"})
ELEMENTWISE = frozenset({"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"})
#: normalisations over the channel axis: every channel's output depends on all channels
COUPLING = frozenset({"LayerNormalization", "GroupNormalization", "Softmax",
                      "UnitNormalization"})
#: element-wise activations by name (Activation layers, a layer's ``activation``)
CHANNELWISE_FUNCTIONS = frozenset({
    "linear", "relu", "relu6", "sigmoid", "hard_sigmoid", "tanh", "swish", "silu", "gelu",
    "elu", "selu", "softplus", "softsign", "exponential", "hard_swish", "hard_silu",
    "leaky_relu", "mish", "log_sigmoid", "celu", "sparse_plus", "squareplus", "tanh_shrink",
    "hard_tanh", "soft_shrink", "hard_shrink"})
#: operations (TFOpLambda functions such as ``math.multiply``, Keras 3 ops such as
#: ``Multiply``, by the last part of their snake-case name) that act element by element: with
#: one tensor and constants (``x + 3.0``) they act channel by channel; ``tf.nn.softmax`` or
#: ``tf.roll`` keep the shape too, but are not listed, and so are refused
ELEMENTWISE_OPS = frozenset({
    "add", "subtract", "multiply", "truediv", "true_divide", "divide", "maximum", "minimum",
    "pow", "power", "negative", "abs", "absolute", "sqrt", "square", "exp", "log", "cast",
    "identity", "clip_by_value", "clip", "relu", "relu6", "sigmoid", "hard_sigmoid", "tanh",
    "silu", "swish", "hard_silu", "hard_swish", "gelu", "elu", "selu", "softplus",
    "leaky_relu"})
#: ... and those that merge two tensors element by element, as the layer of that name
BINARY_OPS = {"add": "Add", "subtract": "Subtract", "multiply": "Multiply",
              "maximum": "Maximum", "minimum": "Minimum"}


def kind(layer: Any) -> str:
    """The class name the analysis dispatches on; Keras 3 operations that are not layers are
    ``op:<name>`` so they never pass for layers."""
    name = type(layer).__name__
    if flavor.which(layer) == flavor.KERAS3:
        from tfcompress._keras3 import keras as k3

        if not isinstance(layer, k3.layers.Layer):
            return f"op:{name}"
    return name


def kernel_axes(k: str) -> tuple[int, int]:
    """(input-channel axis, output-channel axis) of a producer's kernel."""
    return (-1, -2) if k in TRANSPOSED else (-2, -1)


def activation_name(layer: Any) -> str | None:
    """The name of an ``Activation`` layer's function (None when it is not a named one)."""
    value = layer.get_config().get("activation")
    if isinstance(value, dict):  # Keras 3 serialises some functions as {"config": name, ...}
        value = value.get("config")
    return value if isinstance(value, str) else None


def couples_channels(layer: Any) -> bool:
    """Whether ``layer`` mixes channels (softmax over channels, layer norm over channels) or
    is an Activation whose function this analysis does not know."""
    k = kind(layer)
    if k == "Activation":
        return activation_name(layer) not in CHANNELWISE_FUNCTIONS
    return k in COUPLING


def constant(out: Any) -> float | None:
    """One float if every element of ``out`` is the same finite number, else None."""
    arr = np.asarray(out, dtype="float64")
    if arr.size == 0 or not np.all(np.isfinite(arr)) or not np.all(arr == arr.flat[0]):
        return None
    return float(arr.flat[0])


def through(fn: Any, value: float | None) -> float | None:
    """The value a removed channel carries after ``fn`` (an activation-like layer, or a
    layer's ``activation``), given the value it had before (None: not a known constant)."""
    if value is None:
        return None
    return constant(fn(np.full((1, 1, 1, 4), value, dtype="float32")))


def op_arguments(node: Any) -> tuple[tuple, dict]:
    """A call's positional and keyword arguments (tf_keras ``call_args``, Keras 3 ``arguments``)."""
    if hasattr(node, "arguments"):
        return tuple(node.arguments.args), dict(node.arguments.kwargs)
    return tuple(node.call_args), dict(node.call_kwargs)


def is_tensor(x: Any) -> bool:
    return hasattr(x, "_keras_history")


def op_name(layer: Any) -> str:
    """An operation's function name, its module dropped: tf_keras ``TFOpLambda``'s function
    (``__operators__.add`` -> ``add``), a Keras 3 op's class (``TrueDivide`` -> ``true_divide``)."""
    if kind(layer) == "TFOpLambda":
        return str(layer.get_config().get("function", "")).split(".")[-1]
    return _snake(type(layer).__name__)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower()
                   for i, c in enumerate(name))


def op_on_constant(layer: Any, node: Any, value: float | None) -> float | None:
    """The value after a one-tensor operation (``x + 3.0``, ``x * (1 / 6)``) of a removed
    channel that had ``value`` before."""
    if value is None:
        return None
    args, kwargs = op_arguments(node)
    fill = lambda x: np.full((1, 1, 1, 4), value, dtype="float32") if is_tensor(x) else x  # noqa: E731
    args = tuple(fill(a) for a in args)
    kwargs = {k: fill(v) for k, v in kwargs.items()}
    try:
        out = layer.function(*args, **kwargs) if kind(layer) == "TFOpLambda" else \
            layer(*args, **kwargs)
    except Exception:  # noqa: BLE001 (an op that needs more than a constant: not followed)
        return None
    return constant(out)


def merge(k: str, values: list[float | None], scale: float = 1.0) -> float | None:
    """The value of an element-wise merge of removed channels (every input's group removed);
    ``CustomScaleLayer`` is Inception-ResNet's ``x + r * scale``."""
    if k == "Multiply" and any(v == 0 for v in values):
        return 0.0
    if any(v is None for v in values):
        return None
    if k == "Add":
        return float(sum(values))
    if k == "CustomScaleLayer":
        return float(values[0] + values[1] * scale)
    if k == "Subtract":
        return float(values[0] - values[1])
    if k == "Multiply":
        return float(math.prod(values))
    if k == "Average":
        return float(np.mean(values))
    return float(max(values) if k == "Maximum" else min(values))


def absorbs_constant(layer: Any) -> bool:
    """Whether a consumer can take a removed constant channel into its bias exactly: a Dense,
    or a convolution whose every output position sees every kernel tap (1x1 or ``valid``)."""
    k = kind(layer)
    if not getattr(layer, "use_bias", False) or getattr(layer, "groups", 1) != 1:
        return False
    if k == "Dense":
        return True
    return k in CONVS and (layer.padding == "valid" or all(s == 1 for s in layer.kernel_size))
