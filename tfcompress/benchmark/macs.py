"""Multiply-accumulate counts of Keras models, dense and "effective" (non-zero weights only).

``macs`` counts the multiply-adds of Conv2D, DepthwiseConv2D and Dense layers for one input
example, the convention of the published figures (ResNet-56: 125 M). ``effective_macs``
counts only the products with a non-zero weight: what a sparse kernel could skip. The gap
between the two is the speed-up unstructured pruning promises and dense TFLite kernels do not
deliver. ``other_ops`` counts the element-wise work of batch norm, pooling and Add (one
operation per element and input), reported separately.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfcompress._keras import keras

L = keras.layers


def _spatial(shape: Any) -> int:
    """Positions a kernel is applied at: the product of all but the batch and channel dims."""
    return int(np.prod([d for d in shape[1:-1]])) if len(shape) > 2 else 1


def _elements(shape: Any) -> int:
    return int(np.prod([d for d in shape[1:]]))


def layer_macs(layer: keras.layers.Layer) -> tuple[int, int, int]:
    """(macs, effective_macs, other_ops) of one layer for a single example."""
    if isinstance(layer, L.DepthwiseConv2D):
        kernel = layer.depthwise_kernel.numpy()
        positions = _spatial(layer.output_shape)
        return kernel.size * positions, int(np.count_nonzero(kernel)) * positions, 0
    if isinstance(layer, L.Conv2D):
        kernel = layer.kernel.numpy()
        positions = _spatial(layer.output_shape)
        return kernel.size * positions, int(np.count_nonzero(kernel)) * positions, 0
    if isinstance(layer, L.Dense):
        kernel = layer.kernel.numpy()
        positions = _spatial(layer.input_shape)
        return kernel.size * positions, int(np.count_nonzero(kernel)) * positions, 0
    if isinstance(layer, (L.BatchNormalization, L.ReLU, L.Activation)):
        return 0, 0, _elements(layer.output_shape)
    if isinstance(layer, (L.MaxPooling2D, L.AveragePooling2D)):
        return 0, 0, _elements(layer.output_shape) * int(np.prod(layer.pool_size))
    if isinstance(layer, (L.GlobalAveragePooling2D, L.GlobalMaxPooling2D)):
        return 0, 0, _elements(layer.input_shape)
    if isinstance(layer, (L.Add, L.Multiply, L.Subtract, L.Average, L.Maximum, L.Minimum)):
        return 0, 0, _elements(layer.output_shape) * (len(layer.input_shape) - 1)
    return 0, 0, 0


def count(model: keras.Model) -> dict[str, Any]:
    """MACs of ``model`` per example, in total and per layer (nested models are entered)."""
    per_layer: dict[str, dict[str, int]] = {}

    def walk(m: keras.Model) -> None:
        for layer in m.layers:
            if isinstance(layer, keras.Model):
                walk(layer)
                continue
            macs, effective, other = layer_macs(layer)
            if macs or other:
                per_layer[layer.name] = {"macs": macs, "effective_macs": effective,
                                         "other_ops": other}

    walk(model)
    return {
        "macs": sum(v["macs"] for v in per_layer.values()),
        "effective_macs": sum(v["effective_macs"] for v in per_layer.values()),
        "other_ops": sum(v["other_ops"] for v in per_layer.values()),
        "per_layer": per_layer,
    }
