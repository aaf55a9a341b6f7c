"""Magnitude pruning with tfmot: wrap, fine-tune with the right callbacks, strip."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tensorflow_model_optimization.python.core.sparsity.keras import (  # tfmot's own test
    prunable_layer, prune_registry)

from tfcompress import flavor
from tfcompress._keras import keras, tfmot
from tfcompress.prune import schedule

if TYPE_CHECKING:
    from tfcompress.recipe import PruneSpec

#: Layer types whose kernels are pruned and counted in ``layer_sparsity``. tfmot leaves
#: DepthwiseConv2D kernels dense (its registry lists no prunable weight for them).
PRUNABLE_TYPES = (keras.layers.Conv2D, keras.layers.Dense)


def _prunable(layer: keras.layers.Layer) -> bool:
    return isinstance(layer, (*PRUNABLE_TYPES, prunable_layer.PrunableLayer))


def apply(model: keras.Model, spec: PruneSpec, total_steps: int,
          only: set[str] | None = None, m_by_n: tuple[int, int] | None = None) -> keras.Model:
    """Wraps every prunable layer of ``model`` (nested models too) with tfmot's wrapper.

    Only layers with prunable weights are wrapped (tfmot's whole-model call would also wrap,
    and refuse, weightless layers it does not know, such as ``Rescaling``); the rest are reused
    as they are, as tfmot does for layers a pruning policy excludes.

    Args:
      only: wrap only these layer names (the recipe's policy); None: every prunable layer.
      m_by_n: tfmot's structured ``sparsity_m_by_n`` pattern, e.g. (2, 4).
    """
    pruning_schedule = schedule.build(spec, total_steps)
    extra = {"sparsity_m_by_n": tuple(m_by_n)} if m_by_n else {}

    def wrap(layer: keras.layers.Layer) -> keras.layers.Layer:
        if isinstance(layer, keras.Model):
            return keras.models.clone_model(layer, clone_function=wrap)
        if _prunable(layer) and (only is None or layer.name in only):
            return tfmot.sparsity.keras.prune_low_magnitude(
                layer, pruning_schedule=pruning_schedule, **extra)
        return layer

    return keras.models.clone_model(model, clone_function=wrap)


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
    """Layers tfmot's ``prune_low_magnitude`` cannot wrap, found before any training.

    A layer with weights tfmot does not know (``Normalization``, a custom scale) is left dense,
    as a batch norm is: ``apply`` wraps only the prunable layers (``fatal`` False). A subclassed
    model cannot be entered at all (``fatal`` True).

    Returns:
      One entry per such layer: name, type, why and fatal.
    """
    found = []

    def walk(m: keras.Model) -> None:
        for layer in m.layers:
            if isinstance(layer, keras.layers.InputLayer):
                continue  # not wrapped: clone_model recreates inputs
            if isinstance(layer, keras.Model):
                if not (layer._is_graph_network or isinstance(layer, keras.Sequential)):
                    found.append({"name": layer.name, "type": type(layer).__name__,
                                  "why": "subclassed model (only functional/Sequential)",
                                  "fatal": True})
                else:
                    walk(layer)
            elif layer.weights and not (isinstance(layer, prunable_layer.PrunableLayer)
                                        or prune_registry.PruneRegistry.supports(layer)):
                found.append({"name": layer.name, "type": type(layer).__name__,
                              "why": "has weights tfmot cannot prune (not in its prune "
                                     "registry, not a PrunableLayer): left dense",
                              "fatal": False})

    walk(model)
    return found


def layer_sparsity(model: keras.Model) -> dict[str, dict[str, Any]]:
    """Per prunable layer (nested models too): kernel size, zeros and sparsity."""
    if flavor.which(model) == flavor.KERAS3:
        from tfcompress import sparsity

        return sparsity.layer_sparsity(model)
    out = {}
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.update(layer_sparsity(layer))
        elif isinstance(layer, PRUNABLE_TYPES):
            kernel = layer.get_weights()[0]
            zeros = int(np.sum(kernel == 0))
            out[layer.name] = {"params": int(kernel.size), "zeros": zeros,
                               "sparsity": zeros / kernel.size}
    return out
