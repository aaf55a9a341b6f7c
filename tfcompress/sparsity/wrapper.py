"""The Keras 3 pruning wrapper: a layer's kernel times a mask, in ``keras.ops`` only.

``PruneLowMagnitude`` holds a non-trainable ``mask`` the size of the wrapped layer's kernel and
computes the layer with ``kernel * mask``, so pruned weights are exactly zero in every forward
pass and get no gradient, on any backend (TensorFlow, JAX, torch) and inside a compiled train
step. The mask changes only at the schedule's update steps, set by ``UpdatePruningStep``;
between them the wrapper costs one element-wise multiply per kernel.

Layers whose kernel Keras 3 reads through ``layer.kernel`` from ``layer._kernel`` can be
wrapped: ``Dense``, ``EinsumDense`` and the ``Conv1D/2D/3D`` family (``DepthwiseConv2D`` and
transposed convolutions keep other kernels and, as in tfmot, stay dense).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np

from tfcompress._keras3 import keras, ops
from tfcompress.errors import InputError
from tfcompress.sparsity.schedules import PruningSchedule

log = logging.getLogger("tfcompress")

_serializable = keras.saving.register_keras_serializable(package="tfcompress")
SCOPES = ("layer", "global")
#: what can be wrapped (their kernel is read through ``layer.kernel`` from ``layer._kernel``)
KERNEL_TYPES = (keras.layers.Dense, keras.layers.EinsumDense, keras.layers.Conv1D,
                keras.layers.Conv2D, keras.layers.Conv3D)


#: layers with weights that magnitude pruning leaves dense by design, as tfmot does (their
#: weights are per channel, or a depthwise kernel): no warning for them
DENSE_BY_DESIGN = (keras.layers.BatchNormalization, keras.layers.LayerNormalization,
                   keras.layers.GroupNormalization, keras.layers.Normalization,
                   keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D,
                   keras.layers.PReLU)


def why_not_prunable(layer: keras.layers.Layer) -> str | None:
    """None when ``layer`` can be wrapped, else the reason in a few words."""
    if isinstance(layer, (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)):
        return "a depthwise kernel (tfmot leaves these dense too)"
    if not isinstance(layer, KERNEL_TYPES):
        return "not a Dense, EinsumDense or Conv1D/2D/3D layer"
    if layer.built and not isinstance(getattr(layer, "_kernel", None), keras.Variable):
        return "its kernel is not a variable this wrapper can mask"
    if getattr(layer, "quantization_mode", None):
        return f"quantized ({layer.quantization_mode}); prune before model.quantize()"
    if getattr(layer, "lora_enabled", False):
        return "LoRA enabled; prune the merged kernel instead"
    return None


def is_prunable(layer: keras.layers.Layer) -> bool:
    return why_not_prunable(layer) is None


@_serializable
class PruneLowMagnitude(keras.layers.Wrapper):
    """Wraps a prunable layer for magnitude pruning on a ``pruning_schedule``.

    Args:
      layer: a ``Dense``, ``EinsumDense`` or ``Conv`` layer.
      pruning_schedule: a ``tfcompress.sparsity`` schedule (``PolynomialDecay``, ...).
      sparsity_m_by_n: e.g. ``(2, 4)``: zero the 2 smallest of every 4 consecutive
        input-channel weights (the schedule then only says when to update).
      scope: ``layer`` ranks this layer's weights alone; ``global`` ranks them together
        with every other ``global`` wrapper of the model (one threshold).
    """

    def __init__(self, layer: keras.layers.Layer,
                 pruning_schedule: PruningSchedule | None = None,
                 sparsity_m_by_n: tuple[int, int] | None = None, scope: str = "layer",
                 **kwargs: Any):
        why = why_not_prunable(layer)
        if why:
            raise InputError(f"layer {layer.name!r} ({type(layer).__name__}) cannot be "
                             f"pruned: {why}")
        if pruning_schedule is None:  # tfmot's default
            from tfcompress.sparsity.schedules import ConstantSparsity

            pruning_schedule = ConstantSparsity(0.5, 0)
        if isinstance(pruning_schedule, dict):
            pruning_schedule = keras.saving.deserialize_keras_object(pruning_schedule)
        if not isinstance(pruning_schedule, PruningSchedule):
            raise InputError(f"pruning_schedule={pruning_schedule!r} is not a "
                             "tfcompress.sparsity schedule (PolynomialDecay, ConstantSparsity, "
                             "PiecewiseSparsity)")
        if scope not in SCOPES:
            from tfcompress.errors import unknown_name

            raise unknown_name("scope", scope, SCOPES)
        if sparsity_m_by_n is not None:
            m, n = (int(v) for v in sparsity_m_by_n)
            if not 0 < m < n:
                raise InputError(f"sparsity_m_by_n={tuple(sparsity_m_by_n)}: need 0 < m < n")
            sparsity_m_by_n = (m, n)
        kwargs.setdefault("name", f"prune_low_magnitude_{layer.name}")
        kwargs.setdefault("dtype", layer.dtype_policy)
        super().__init__(layer, **kwargs)
        self.pruning_schedule = pruning_schedule
        self.sparsity_m_by_n = sparsity_m_by_n
        self.scope = scope
        self._stepped = False  # set by UpdatePruningStep.on_train_begin

    def build(self, input_shape: Any = None) -> None:
        super().build(input_shape)
        kernel = self.layer._kernel
        self.mask = self.add_weight(name="mask", shape=tuple(kernel.shape), initializer="ones",
                                    trainable=False, dtype=kernel.dtype)
        # tfmot's pruning_step: -1 until UpdatePruningStep starts training, then the number
        # of training steps run (the first is step 1). Saved with the weights, so a
        # weights-only checkpoint resumes the schedule where it stopped.
        # (A wrapper built by its first training step, in a model without an Input, starts at
        # 0: the callback has already begun.)
        self.pruning_step = self.add_weight(
            name="pruning_step", shape=(), dtype="int32", trainable=False,
            initializer=keras.initializers.Constant(0 if self._stepped else -1))
        self.built = True

    @property
    def kernel(self) -> keras.Variable:
        """The wrapped layer's kernel variable (unmasked)."""
        return self.layer._kernel

    def call(self, inputs: Any, *args: Any, training: bool | None = None, **kwargs: Any) -> Any:
        if training:  # a training step: counted in the model's state, inside the step itself
            if not self._stepped:
                raise InputError(
                    f"layer {self.name!r} is trained without its callback: pass "
                    "callbacks=[tfcompress.sparsity.UpdatePruningStep()] to fit (a custom "
                    "loop calls its on_train_begin first), or the masks never move")
            self.pruning_step.assign(self.pruning_step + 1)
        kernel = self.layer._kernel
        masked = ops.multiply(kernel, ops.cast(self.mask, kernel.dtype))
        # Keras 3 layers read ``self.kernel`` -> ``self._kernel``: for this call it is the
        # masked tensor (set without Keras's attribute tracking, restored afterwards).
        object.__setattr__(self.layer, "_kernel", masked)
        try:
            return self.layer.call(inputs, *args, **kwargs)
        finally:
            object.__setattr__(self.layer, "_kernel", kernel)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(pruning_schedule=keras.saving.serialize_keras_object(
            self.pruning_schedule), sparsity_m_by_n=self.sparsity_m_by_n, scope=self.scope)
        return config


def _walk(model: keras.Model) -> Iterator[keras.layers.Layer]:
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _walk(layer)
        else:
            yield layer


def wrappers(model: keras.Model) -> list[PruneLowMagnitude]:
    """Every pruning wrapper of ``model``, nested models included, in model order."""
    return [l for l in _walk(model) if isinstance(l, PruneLowMagnitude)]


def pruning_step(model: keras.Model) -> int | None:
    """The training steps the wrappers of ``model`` have counted (their ``pruning_step``; -1
    before training), read from the live state; None while no wrapper is built."""
    built = [w for w in wrappers(model) if w.built]
    if not built:
        return None
    sync_state(model)
    return int(np.asarray(keras.ops.convert_to_numpy(built[0].pruning_step)))


def sync_state(model: keras.Model) -> None:
    """Brings the live weights into the variables: JAX keeps them outside mid-``fit``."""
    sync = getattr(model, "jax_state_sync", None)
    if sync is not None:
        sync()


def _refuse_tf_keras(obj: Any) -> None:
    if not isinstance(obj, (keras.layers.Layer, keras.Model)):
        from tfcompress.flavor import which

        if which(obj) == "keras2":
            raise InputError(
                f"{type(obj).__name__} {getattr(obj, 'name', '')!r} is a Keras 2 (tf_keras) "
                "object; tfcompress.sparsity prunes Keras 3 models - use "
                "tfmot.sparsity.keras.prune_low_magnitude for tf_keras, or tfcompress.compress")
        raise InputError(f"cannot prune {type(obj).__name__}: pass a Keras 3 model or layer")


def prune_low_magnitude(to_prune: keras.Model | keras.layers.Layer,
                        pruning_schedule: PruningSchedule | None = None,
                        sparsity_m_by_n: tuple[int, int] | None = None, scope: str = "layer",
                        only: set[str] | None = None, **kwargs: Any) -> Any:
    """Wraps a layer, or every prunable layer of a functional or Sequential model (nested
    models too), like ``tfmot.sparsity.keras.prune_low_magnitude`` for Keras 3.

    ``pruning_schedule`` defaults to tfmot's: ``ConstantSparsity(0.5, 0)`` (an update every
    100 steps from step 100). The returned model has weights of its own (copied): fine-tuning
    it leaves ``to_prune`` as it was (tfmot's wrapped model shares them; a layer that cannot
    be re-created from its config is the one exception, kept and shared with a warning). A
    single layer is wrapped as it is (a list of layers: each); ``kwargs`` go to its wrapper
    (``input_shape=``, ``name=``). Layers that cannot be pruned (BatchNormalization,
    DepthwiseConv2D, ...) are kept as they are; pass ``only`` (layer names) to wrap fewer.
    """
    if isinstance(to_prune, (list, tuple)):  # tfmot takes a list of layers too
        return [prune_low_magnitude(layer, pruning_schedule, sparsity_m_by_n, scope, only,
                                    **kwargs) for layer in to_prune]
    _refuse_tf_keras(to_prune)
    if kwargs and isinstance(to_prune, keras.Model):
        raise InputError(f"prune_low_magnitude of a model takes no layer arguments "
                         f"({', '.join(sorted(kwargs))}); they are for wrapping one layer")
    options = {"pruning_schedule": pruning_schedule, "sparsity_m_by_n": sparsity_m_by_n,
               "scope": scope}
    if not isinstance(to_prune, keras.Model):
        return PruneLowMagnitude(to_prune, **options, **kwargs)  # e.g. input_shape=, name=
    from tfcompress._keras3 import Functional

    if not isinstance(to_prune, (Functional, keras.Sequential)):
        raise InputError(f"model {to_prune.name!r} is a subclassed model; wrap its layers "
                         "with prune_low_magnitude(layer, ...) inside it instead")
    if only is not None:
        names = {l.name for l in _walk(to_prune)}
        missing = sorted(set(only) - names)
        if missing:
            from tfcompress.errors import unknown_name

            raise unknown_name("layer", missing[0], sorted(names))

    def wrap(layer: keras.layers.Layer) -> keras.layers.Layer:
        if (not isinstance(layer, PruneLowMagnitude) and is_prunable(layer)
                and (only is None or layer.name in only)):
            return PruneLowMagnitude(_fresh(layer), **options)
        if only is None and not isinstance(layer, (PruneLowMagnitude, *DENSE_BY_DESIGN)) \
                and layer.trainable_weights and not isinstance(layer, keras.Model):
            log.warning(
                "layer %r (%s) is left dense: %s", layer.name, type(layer).__name__,
                why_not_prunable(layer))
        return _fresh_or_shared(layer)

    return _with_weights_of(to_prune, keras.models.clone_model(
        to_prune, clone_function=wrap, recursive=True))


def strip_pruning(model: keras.Model | keras.layers.Layer) -> Any:
    """The model without wrappers: each wrapped layer back in its place, its kernel multiplied
    by its mask. The result is plain Keras 3 (it saves and loads without custom objects) and,
    like the input, has weights of its own."""
    if not isinstance(model, keras.Model):
        if not isinstance(model, PruneLowMagnitude):
            return model
        layer = _fresh(model.layer)
        layer.build_from_config(model.layer.get_build_config())
        return _with_weights_of(model, layer)

    def unwrap(layer: keras.layers.Layer) -> keras.layers.Layer:
        if isinstance(layer, PruneLowMagnitude):
            return _fresh(layer.layer)
        return _fresh_or_shared(layer)

    return _with_weights_of(model, keras.models.clone_model(
        model, clone_function=unwrap, recursive=True))


def _fresh(layer: keras.layers.Layer) -> keras.layers.Layer:
    """A new layer with the same config (Keras 3's own way of cloning), no weights yet."""
    return layer.__class__.from_config(layer.get_config())


def _fresh_or_shared(layer: keras.layers.Layer) -> keras.layers.Layer:
    """A layer that is not pruned, re-created from its config (so the result has weights of
    its own); a layer that cannot be (a Lambda, a custom layer whose ``get_config`` does not
    match its ``__init__``) is kept as it is and shared with the original model, as tfmot
    keeps every layer, and a warning names it."""
    try:
        return _fresh(layer)
    except Exception as e:  # whatever the layer's own from_config raises
        log.warning(
            "layer %r (%s) cannot be re-created from its config (%s: %s); it is kept as it "
            "is and shares its weights with the original model", layer.name,
            type(layer).__name__, type(e).__name__, str(e).splitlines()[0][:120] if str(e)
            else "")
        return layer


def _with_weights_of(src: Any, dst: Any) -> Any:
    """Copies ``src``'s weights into its clone ``dst``, layer by layer: into a new wrapper's
    inner layer, or out of a removed wrapper with the mask applied to the kernel. Layers not
    built yet (a model without an ``Input``) have no weights to copy; a layer kept as it is
    (shared) has them already."""
    pairs = zip(_walk(src), _walk(dst)) if isinstance(src, keras.Model) else [(src, dst)]
    for s, d in pairs:
        if s is d or not s.weights:
            continue
        if isinstance(d, PruneLowMagnitude) and not isinstance(s, PruneLowMagnitude):
            d.layer.set_weights(s.get_weights())
        elif isinstance(s, PruneLowMagnitude) and not isinstance(d, PruneLowMagnitude):
            values = s.layer.get_weights()
            i = next(i for i, v in enumerate(s.layer.weights) if v is s.layer._kernel)
            values[i] = values[i] * np.asarray(s.mask.numpy()).astype(values[i].dtype)
            d.set_weights(values)
        else:
            d.set_weights(s.get_weights())
    return dst


def layer_sparsity(model: keras.Model) -> dict[str, dict[str, Any]]:
    """Per kernel layer (wrapped or not, nested models too): kernel size, zeros, sparsity -
    of the weights the model computes with (a wrapped kernel counts through its mask)."""
    out = {}
    for layer in _walk(model):
        if isinstance(layer, PruneLowMagnitude):
            kernel = np.asarray(layer.kernel.numpy()) * np.asarray(layer.mask.numpy())
            name = layer.layer.name
        elif isinstance(layer, KERNEL_TYPES):
            kernel, name = np.asarray(layer._kernel.numpy()), layer.name
        else:
            continue
        zeros = int(np.sum(kernel == 0))
        out[name] = {"params": int(kernel.size), "zeros": zeros,
                     "sparsity": zeros / kernel.size}
    return out
