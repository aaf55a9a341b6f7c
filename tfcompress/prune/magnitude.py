"""Magnitude pruning with tfmot: wrap, fine-tune with the right callbacks, strip."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tfcompress._keras import keras, tfmot
from tfcompress.prune import schedule

if TYPE_CHECKING:
    from tfcompress.recipe import PruneSpec

#: Layer types whose kernels are pruned and counted in ``layer_sparsity``.
PRUNABLE_TYPES = (keras.layers.Conv2D, keras.layers.Dense)


def apply(model: keras.Model, spec: PruneSpec, total_steps: int) -> keras.Model:
    """Wraps every prunable layer of ``model`` with tfmot's pruning wrapper."""
    return tfmot.sparsity.keras.prune_low_magnitude(
        model, pruning_schedule=schedule.build(spec, total_steps))


def callbacks() -> list[keras.callbacks.Callback]:
    """The callback pruning needs: without it the step counter never advances."""
    return [tfmot.sparsity.keras.UpdatePruningStep()]


def summaries(log_dir: Path) -> keras.callbacks.TensorBoard:
    """tfmot's TensorBoard callback: the usual metrics plus per-layer sparsity."""
    return tfmot.sparsity.keras.PruningSummaries(log_dir=str(log_dir), profile_batch=0,
                                                 write_graph=False)


def strip(model: keras.Model) -> keras.Model:
    """Removes the wrappers, leaving a plain model whose kernels hold the zeros."""
    return tfmot.sparsity.keras.strip_pruning(model)


def unsupported_layers(model: keras.Model) -> list[dict[str, str]]:
    """Layers tfmot's ``prune_low_magnitude`` would refuse, found before any training.

    Returns:
      One entry per offending layer: name, type and why.
    """
    from tensorflow_model_optimization.python.core.sparsity.keras import (  # tfmot's own test
        prunable_layer, prune_registry)

    found = []

    def walk(m: keras.Model) -> None:
        for layer in m.layers:
            if isinstance(layer, keras.layers.InputLayer):
                continue  # not wrapped: clone_model recreates inputs
            if isinstance(layer, keras.Model):
                if not (layer._is_graph_network or isinstance(layer, keras.Sequential)):
                    found.append({"name": layer.name, "type": type(layer).__name__,
                                  "why": "subclassed model (only functional/Sequential)"})
                else:
                    walk(layer)
            elif not (isinstance(layer, prunable_layer.PrunableLayer)
                      or hasattr(layer, "get_prunable_weights")
                      or prune_registry.PruneRegistry.supports(layer)):
                found.append({"name": layer.name, "type": type(layer).__name__,
                              "why": "not in tfmot's prune registry and not a PrunableLayer"})

    walk(model)
    return found


def layer_sparsity(model: keras.Model) -> dict[str, dict[str, Any]]:
    """Per prunable layer: kernel size, zeros and sparsity (of a stripped model)."""
    out = {}
    for layer in model.layers:
        if isinstance(layer, PRUNABLE_TYPES):
            kernel = layer.get_weights()[0]
            zeros = int(np.sum(kernel == 0))
            out[layer.name] = {"params": int(kernel.size), "zeros": zeros,
                               "sparsity": zeros / kernel.size}
    return out
