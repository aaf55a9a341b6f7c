"""Multiply-accumulate counts of Keras models, dense and "effective" (non-zero weights only).

``macs`` counts the multiply-adds of every convolution (1D/2D/3D, grouped, depthwise,
separable, transposed) and Dense layer for one input example, the convention of the published
figures (ResNet-56: 125 M). A layer with a kernel it does not count (attention, recurrent
layers, a custom layer) is named in ``uncounted``. ``effective_macs``
counts only the products with a non-zero weight: what a sparse kernel could skip. The gap
between the two is the speed-up unstructured pruning promises and dense TFLite kernels do not
deliver. ``other_ops`` counts the element-wise work of batch norm, pooling and Add (one
operation per element and input), reported separately.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfcompress.structured import layers as L
from tfcompress.structured.graph import inbound, input_shape, is_model, kind, output_shape


def _spatial(shape: Any) -> int:
    """Positions a kernel is applied at: the product of all but the batch and channel dims."""
    return int(np.prod([d for d in shape[1:-1]])) if len(shape) > 2 else 1


def _elements(shape: Any) -> int:
    return int(np.prod([d for d in shape[1:]]))


def _kernel(kernel: np.ndarray, positions: int) -> tuple[int, int]:
    return kernel.size * positions, int(np.count_nonzero(kernel)) * positions


def layer_macs(layer: Any) -> tuple[int, int, int]:
    """(macs, effective_macs, other_ops) of one layer (tf_keras or Keras 3) for one example."""
    k = kind(layer)
    if k in L.CONVS | L.DEPTHWISE | L.SEPARABLE:  # applied at every output position
        positions = _spatial(output_shape(layer))
        parts = [_kernel(w, positions) for w in layer.get_weights()[:2 if k in L.SEPARABLE
                                                                      else 1]]
        return sum(p[0] for p in parts), sum(p[1] for p in parts), 0
    if k in L.TRANSPOSED or k == "Dense":  # every input position is multiplied once
        return (*_kernel(layer.get_weights()[0], _spatial(input_shape(layer))), 0)
    if k in ("BatchNormalization", "ReLU", "Activation"):
        return 0, 0, _elements(output_shape(layer))
    if k in ("MaxPooling2D", "AveragePooling2D"):
        return 0, 0, _elements(output_shape(layer)) * int(np.prod(layer.pool_size))
    if k in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        return 0, 0, _elements(input_shape(layer))
    if k in ("Add", "Multiply", "Subtract", "Average", "Maximum", "Minimum"):
        return 0, 0, _elements(output_shape(layer)) * (len(inbound(layer._inbound_nodes[0])) - 1)
    return 0, 0, 0


def count(model: Any) -> dict[str, Any]:
    """MACs of ``model`` per example, in total and per layer (nested models are entered)."""
    per_layer: dict[str, dict[str, int]] = {}
    uncounted: list[str] = []

    def walk(m: Any) -> None:
        for layer in m.layers:
            if is_model(layer):
                walk(layer)
                continue
            macs, effective, other = layer_macs(layer)
            if not macs and any(len(w.shape) > 1 for w in layer.weights):
                uncounted.append(f"{layer.name} ({type(layer).__name__})")
            if macs or other:
                per_layer[layer.name] = {"macs": macs, "effective_macs": effective,
                                         "other_ops": other}

    walk(model)
    return {
        "macs": sum(v["macs"] for v in per_layer.values()),
        "effective_macs": sum(v["effective_macs"] for v in per_layer.values()),
        "other_ops": sum(v["other_ops"] for v in per_layer.values()),
        "per_layer": per_layer,
        "uncounted": uncounted,
    }


#: the TensorFlow ops whose multiply-adds ``count`` counts (a Conv1D runs as Conv2D, a
#: transposed convolution as Conv2DBackpropInput, a Dense on a 4-D tensor as a tensordot)
_PROFILED_OPS = ["Conv2D", "Conv3D", "DepthwiseConv2dNative", "MatMul", "BatchMatMulV2",
                 "Conv2DBackpropInput", "Conv3DBackpropInputV2"]


def profiler_macs(model: Any) -> int:
    """TensorFlow's own count of the multiply-adds of ``model``'s convolutions and matrix
    products for one example (its profiler, on the frozen graph; FLOPs / 2): the independent
    check of ``count`` (tests, ``scripts/structured_zoo.py``). Either Keras, TensorFlow
    backend. It does not count grouped convolutions, which both Kerases run as a nested
    function the profiler does not enter."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2)

    fn = tf.function(lambda x: model(x, training=False))
    shape = [1, *[int(d) for d in model.inputs[0].shape[1:]]]
    frozen = convert_variables_to_constants_v2(
        fn.get_concrete_function(tf.TensorSpec(shape, tf.float32)))
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options.update(output="none", account_type_regexes=_PROFILED_OPS)
    profile = tf.compat.v1.profiler.profile(graph=frozen.graph, options=options)
    return int(profile.total_float_ops) // 2
