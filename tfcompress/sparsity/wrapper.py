"""The Keras 3 pruning wrapper: a layer's weights times masks, in ``keras.ops`` only.

``PruneLowMagnitude`` holds a non-trainable mask the size of each weight it prunes and computes
the layer with ``weight * mask``, so pruned weights are exactly zero in every forward pass and
get no gradient, on any backend (TensorFlow, JAX, torch) and inside a compiled train step. The
masks change only at the schedule's update steps, set by ``UpdatePruningStep``; between them
the wrapper costs one element-wise multiply per pruned weight.

What is pruned are the weights tfmot's ``prune_registry`` prunes: ``Dense``, ``EinsumDense``,
``Conv1D/2D/3D`` and ``Conv1D/2D/3DTranspose``: the kernel; ``SeparableConv1D/2D``: the pointwise
kernel; ``Embedding``: the embeddings; ``GRU``, ``LSTM``, ``SimpleRNN`` and ``RNN`` of their
cells (stacked too): each cell's kernel and recurrent kernel; ``MultiHeadAttention``: the
query, key, value and output projections' kernels; a layer (or an RNN cell) of your own: the
weights its ``get_prunable_weights()`` returns (``PrunableLayer``). The wrapper finds the
attribute (of the layer or of a sub-layer) each weight is read from and, for each call, puts
the masked tensor there. ``DepthwiseConv2D`` and the normalisations stay dense, as in tfmot.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np

from tfcompress._keras3 import CallSpec, Functional, get_keras_mask, keras, ops
from tfcompress.errors import InputError, unknown_name
from tfcompress.flavor import which
from tfcompress.sparsity.schedules import ConstantSparsity, PruningSchedule

log = logging.getLogger("tfcompress")

_serializable = keras.saving.register_keras_serializable(package="tfcompress")
SCOPES = ("layer", "global")
#: layer type -> the attribute its ``call`` reads the pruned weight from (Keras 3.15)
PRUNED_WEIGHT = {
    keras.layers.Dense: "_kernel", keras.layers.EinsumDense: "_kernel",
    keras.layers.Conv1D: "_kernel", keras.layers.Conv2D: "_kernel",
    keras.layers.Conv3D: "_kernel",
    keras.layers.Conv1DTranspose: "kernel", keras.layers.Conv2DTranspose: "kernel",
    keras.layers.Conv3DTranspose: "kernel",
    keras.layers.SeparableConv1D: "pointwise_kernel",
    keras.layers.SeparableConv2D: "pointwise_kernel",
    keras.layers.Embedding: "_embeddings",
}
KERNEL_TYPES = tuple(PRUNED_WEIGHT)
#: recurrent layers: each cell's kernel and recurrent kernel (tfmot's ``_RNN_CELLS_WEIGHTS_MAP``)
RNN_TYPES = (keras.layers.RNN,)  # GRU, LSTM, SimpleRNN are RNNs
RNN_CELL_WEIGHTS = {keras.layers.GRUCell: ("kernel", "recurrent_kernel"),
                    keras.layers.LSTMCell: ("kernel", "recurrent_kernel"),
                    keras.layers.SimpleRNNCell: ("kernel", "recurrent_kernel")}
#: ``MultiHeadAttention``: its projections (sub-layers made by its build) and their kernels
MHA_WEIGHTS = (("_query_dense", "_kernel"), ("_key_dense", "_kernel"),
               ("_value_dense", "_kernel"), ("_output_dense", "_kernel"))
#: the types ``sparsity_m_by_n`` prunes (those wrapped before Embedding, transposed and
#: separable convolutions were)
M_BY_N_TYPES = (keras.layers.Dense, keras.layers.EinsumDense, keras.layers.Conv1D,
                keras.layers.Conv2D, keras.layers.Conv3D)


class PrunableLayer:
    """A layer of your own that can be pruned (tfmot's ``PrunableLayer``): subclass it beside
    ``keras.layers.Layer`` and return, from ``get_prunable_weights()``, the weights to prune
    (variables the layer holds in attributes its ``call`` reads, e.g. ``[self.kernel,
    self.bias]`` as tfmot's guide writes it). A recurrent cell of your own works the same way
    inside ``keras.layers.RNN``."""

    def get_prunable_weights(self) -> list[Any]:
        raise NotImplementedError


def _own(layer: keras.layers.Layer) -> bool:
    return callable(getattr(layer, "get_prunable_weights", None))


def _m_by_n_ok(layer: keras.layers.Layer) -> bool:
    return isinstance(layer, M_BY_N_TYPES) and not _own(layer)


#: where a pruned weight lives: the layer (the wrapped one or one of its sub-layers) and the
#: attribute its ``call`` reads the weight from
Slot = tuple[keras.layers.Layer, str]


def _cells(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    cell = layer.cell
    return list(cell.cells) if isinstance(cell, keras.layers.StackedRNNCells) else [cell]


def _cell_ok(cell: Any) -> bool:
    return _own(cell) or type(cell) in RNN_CELL_WEIGHTS


def _own_slots(layer: keras.layers.Layer) -> list[Slot]:
    """The attributes holding the weights ``get_prunable_weights()`` returns (by identity)."""
    weights = list(layer.get_prunable_weights())
    if not weights:
        raise InputError(f"layer {layer.name!r} ({type(layer).__name__}): "
                         "get_prunable_weights() returned no weight to prune")
    slots = []
    for weight in weights:
        name = next((n for n, v in vars(layer).items() if v is weight), None)
        if name is None:
            raise InputError(f"layer {layer.name!r} ({type(layer).__name__}): a weight "
                             "get_prunable_weights() returned is not held in an attribute of "
                             "the layer, so its call cannot be given the masked weight")
        slots.append((layer, name))
    return slots


def slots(layer: keras.layers.Layer) -> list[Slot]:
    """Where the weights ``layer`` prunes live, in tfmot's order (a built layer: a recurrent
    layer's cells and an attention layer's projections exist once it is built).

    Raises:
      InputError: a ``PrunableLayer`` whose weights are not held in its attributes.
    """
    if _own(layer):
        return _own_slots(layer)
    if isinstance(layer, RNN_TYPES):
        return [s for cell in _cells(layer) for s in (
            _own_slots(cell) if _own(cell) else [(cell, a) for a in RNN_CELL_WEIGHTS[type(cell)]])]
    if isinstance(layer, keras.layers.MultiHeadAttention):
        return [(getattr(layer, sub), a) for sub, a in MHA_WEIGHTS]
    cls = next(c for c in type(layer).__mro__ if c in PRUNED_WEIGHT)
    return [(layer, PRUNED_WEIGHT[cls])]


def prunable_weights(layer: keras.layers.Layer) -> list[keras.Variable]:
    """The variables a built ``layer`` prunes (``slots``), unmasked."""
    return [getattr(owner, name) for owner, name in slots(layer)]


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
    if isinstance(layer, RNN_TYPES) and not _own(layer):
        bad = [type(c).__name__ for c in _cells(layer) if not _cell_ok(c)]
        if bad:
            return (f"its cell {bad[0]} is not a GRUCell, LSTMCell or SimpleRNNCell, nor a "
                    "PrunableLayer")
    elif not isinstance(layer, (*KERNEL_TYPES, keras.layers.MultiHeadAttention)) \
            and not _own(layer):
        return ("not a Dense, EinsumDense, Conv, ConvTranspose, SeparableConv, Embedding, "
                "recurrent or MultiHeadAttention layer, nor a PrunableLayer")
    if layer.built and not _own(layer) and not all(
            isinstance(getattr(o, a, None), keras.Variable) for o, a in slots(layer)):
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
      layer: a layer tfmot prunes (``Dense``, ``EinsumDense``, ``Conv``, ``ConvTranspose``,
        ``SeparableConv``, ``Embedding``, ``GRU``/``LSTM``/``SimpleRNN``/``RNN``,
        ``MultiHeadAttention``) or a ``PrunableLayer``.
      pruning_schedule: a ``tfcompress.sparsity`` schedule (``PolynomialDecay``, ...).
      sparsity_m_by_n: e.g. ``(2, 4)``: zero the 2 smallest of every 4 consecutive
        input-channel weights (the schedule then only says when to update).
      scope: ``layer`` ranks each pruned weight alone (a recurrent layer's kernel and its
        recurrent kernel each at the schedule's sparsity, as tfmot does); ``global`` ranks
        them together with every other ``global`` wrapper's weights (one threshold).
      block_size: ``(height, width)``: prune whole blocks of a 2-D weight (squeezed: Dense
        kernels, 1x1 convolutions), ranked by their pooled magnitude, as tfmot does; ``(1, 1)``
        prunes single weights.
      block_pooling_type: how a block's magnitude is pooled: ``AVG`` or ``MAX``.
    """

    def __init__(self, layer: keras.layers.Layer,
                 pruning_schedule: PruningSchedule | None = None,
                 sparsity_m_by_n: tuple[int, int] | None = None, scope: str = "layer",
                 block_size: tuple[int, int] = (1, 1), block_pooling_type: str = "AVG",
                 **kwargs: Any):
        why = why_not_prunable(layer)
        if why:
            raise InputError(f"layer {layer.name!r} ({type(layer).__name__}) cannot be "
                             f"pruned: {why}")
        if pruning_schedule is None:  # tfmot's default
            pruning_schedule = ConstantSparsity(0.5, 0)
        if isinstance(pruning_schedule, dict):
            pruning_schedule = keras.saving.deserialize_keras_object(pruning_schedule)
        if not isinstance(pruning_schedule, PruningSchedule):
            raise InputError(f"pruning_schedule={pruning_schedule!r} is not a "
                             "tfcompress.sparsity schedule (PolynomialDecay, ConstantSparsity, "
                             "PiecewiseSparsity)")
        if scope not in SCOPES:
            raise unknown_name("scope", scope, SCOPES)
        if sparsity_m_by_n is not None:
            m, n = (int(v) for v in sparsity_m_by_n)
            if not 0 < m < n:
                raise InputError(f"sparsity_m_by_n={tuple(sparsity_m_by_n)}: need 0 < m < n")
            if not _m_by_n_ok(layer):
                raise InputError(f"layer {layer.name!r} ({type(layer).__name__}): "
                                 "sparsity_m_by_n prunes Dense, EinsumDense and Conv1D/2D/3D "
                                 "layers")
            sparsity_m_by_n = (m, n)
        block_size = _block(block_size, block_pooling_type)
        if block_size != (1, 1) and (sparsity_m_by_n is not None or scope != "layer"):
            raise InputError(f"block_size={block_size} ranks one layer's blocks: it takes "
                             "neither sparsity_m_by_n nor scope='global'")
        if getattr(layer, "_input_shape_arg", None) is not None:  # Dense(..., input_shape=)
            kwargs.setdefault("input_shape", layer._input_shape_arg)  # first in a Sequential
        kwargs.setdefault("name", f"prune_low_magnitude_{layer.name}")
        kwargs.setdefault("dtype", layer.dtype_policy)
        super().__init__(layer, **kwargs)
        self.pruning_schedule = pruning_schedule
        self.sparsity_m_by_n = sparsity_m_by_n
        self.block_size, self.block_pooling_type = block_size, block_pooling_type
        self.scope = scope
        self._stepped = False  # set by UpdatePruningStep.on_train_begin
        self._slots: list[Slot] = []  # where the pruned weights are, and their masks: once built
        self.masks: list[keras.Variable] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        first = next(iter(self.layer._call_signature.parameters))
        if not args and first in kwargs:  # mha(query=x, value=y): the first as the input
            args = (kwargs.pop(first),)
        if not self.layer.built and args:
            # the wrapped layer is built from every argument of its call, as Keras builds it
            # when called itself: MultiHeadAttention needs its query's and its value's shapes
            # (the wrapper's own build is given only the first)
            self.layer._maybe_build(CallSpec(self.layer._call_signature,
                                             self.layer._call_context_args, args, dict(kwargs)))
        return super().__call__(*args, **kwargs)

    def build(self, input_shape: Any = None) -> None:
        super().build(input_shape)
        self._slots = slots(self.layer)
        weights = self.pruned_weights
        if self.block_size != (1, 1):
            for w in weights:
                if len([d for d in w.shape if d != 1]) != 2:
                    raise InputError(f"layer {self.layer.name!r}: block_size={self.block_size} "
                                     f"needs a 2-D weight (Dense, 1x1 convolutions); its is "
                                     f"{tuple(w.shape)}")
        # one mask per pruned weight; the first is ``mask`` (a layer pruning one weight saves
        # as it did before recurrent and attention layers were pruned)
        self.masks = [self.add_weight(name="mask" if i == 0 else f"mask_{i}",
                                      shape=tuple(w.shape), initializer="ones",
                                      trainable=False, dtype=w.dtype)
                      for i, w in enumerate(weights)]
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
    def pruned_weights(self) -> list[keras.Variable]:
        """The wrapped layer's pruned weights, unmasked, in the order of ``masks``."""
        return [getattr(owner, name) for owner, name in self._slots]

    @property
    def kernel(self) -> keras.Variable:
        """The first pruned weight (a layer that prunes one: its kernel), unmasked."""
        return self.pruned_weights[0]

    @property
    def mask(self) -> keras.Variable:
        """The mask of ``kernel`` (the first of ``masks``)."""
        return self.masks[0]

    def call(self, inputs: Any, *args: Any, training: bool | None = None, **kwargs: Any) -> Any:
        if training:  # a training step: counted in the model's state, inside the step itself
            if not self._stepped:
                raise InputError(
                    f"layer {self.name!r} is trained without its callback: pass "
                    "callbacks=[tfcompress.sparsity.UpdatePruningStep()] to fit (a custom "
                    "loop calls its on_train_begin first), or the masks never move")
            self.pruning_step.assign(self.pruning_step + 1)
        if self.layer._call_has_training_arg:  # dropout of a recurrent or attention layer
            kwargs["training"] = training
        if self.layer._call_has_mask_arg and "mask" not in kwargs:
            # the input's padding mask (after Embedding(mask_zero=True)), as Keras would pass
            # it to the layer; not a parameter of the wrapper's call, which a stripped model's
            # graph would then pass to the bare layer
            if get_keras_mask(inputs) is not None:
                kwargs["mask"] = get_keras_mask(inputs)
        weights = self.pruned_weights
        # each layer's call reads its weight from an attribute (``self.kernel`` ->
        # ``self._kernel``, a cell's ``recurrent_kernel``, ...): for this call it holds the
        # masked tensor (set without Keras's attribute tracking, restored afterwards)
        for (owner, name), w, m in zip(self._slots, weights, self.masks):
            object.__setattr__(owner, name, ops.multiply(w, ops.cast(m, w.dtype)))
        try:
            return self.layer.call(inputs, *args, **kwargs)
        finally:
            for (owner, name), w in zip(self._slots, weights):
                object.__setattr__(owner, name, w)

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        return self.layer.compute_output_spec(*args, **kwargs)

    def compute_output_shape(self, *args: Any, **kwargs: Any) -> Any:
        return self.layer.compute_output_shape(*args, **kwargs)

    def get_build_config(self) -> dict[str, Any] | None:
        # the wrapped layer's own (MultiHeadAttention's holds every input's shape)
        return {**(super().get_build_config() or {}), "layer": self.layer.get_build_config()}

    def build_from_config(self, config: dict[str, Any]) -> None:
        config = dict(config or {})
        inner = config.pop("layer", None)
        if inner and not self.layer.built:
            self.layer.build_from_config(inner)
        super().build_from_config(config)
        if not self.built and self.layer.built:
            self.build(None)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return self.layer.compute_mask(inputs, mask)  # e.g. Embedding(mask_zero=True)

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Any:
        # Keras' Wrapper.from_config pops "layer" out of the config it is given: a model's
        # config read twice would lose its layers
        return super().from_config(dict(config), custom_objects)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(pruning_schedule=keras.saving.serialize_keras_object(
            self.pruning_schedule), sparsity_m_by_n=self.sparsity_m_by_n, scope=self.scope,
            block_size=self.block_size, block_pooling_type=self.block_pooling_type)
        return config


def prune_scope() -> Any:
    """tfmot's ``prune_scope()``, so its guide's ``with prune_scope(): load_model(...)`` runs as
    written. Keras 3 needs no scope to load a pruned model: the wrapper and the schedules are
    registered serializables."""
    return keras.saving.custom_object_scope({"PruneLowMagnitude": PruneLowMagnitude})


def _block(size: Any, pooling: Any) -> tuple[int, int]:
    if not (isinstance(size, (list, tuple)) and len(size) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)):
        raise InputError(f"block_size={size!r}: must be two positive integers (height, width)")
    if pooling not in ("AVG", "MAX"):
        raise unknown_name("block_pooling_type", pooling, ("AVG", "MAX"))
    return (size[0], size[1])


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
        if which(obj) == "keras2":
            raise InputError(
                f"{type(obj).__name__} {getattr(obj, 'name', '')!r} is a Keras 2 (tf_keras) "
                "object; tfcompress.sparsity prunes Keras 3 models - use "
                "tfmot.sparsity.keras.prune_low_magnitude for tf_keras, or tfcompress.compress")
        raise InputError(f"cannot prune {type(obj).__name__}: pass a Keras 3 model or layer")


def prune_low_magnitude(to_prune: keras.Model | keras.layers.Layer,
                        pruning_schedule: PruningSchedule | None = None,
                        sparsity_m_by_n: tuple[int, int] | None = None, scope: str = "layer",
                        only: set[str] | None = None, block_size: tuple[int, int] = (1, 1),
                        block_pooling_type: str = "AVG", **kwargs: Any) -> Any:
    """Wraps a layer, or every prunable layer of a functional or Sequential model (nested
    models too), like ``tfmot.sparsity.keras.prune_low_magnitude`` for Keras 3.

    ``pruning_schedule`` defaults to tfmot's: ``ConstantSparsity(0.5, 0)`` (an update every
    100 steps from step 100). The returned model has weights of its own (copied): fine-tuning
    it leaves ``to_prune`` as it was (tfmot's wrapped model shares them; a layer that cannot
    be re-created from its config is the one exception, kept and shared with a warning). A
    single layer is wrapped as it is (a list of layers: each); ``kwargs`` go to its wrapper
    (``input_shape=``, ``name=``). Layers that cannot be pruned (BatchNormalization,
    DepthwiseConv2D, ...) are kept as they are; pass ``only`` (layer names) to wrap fewer.
    ``block_size`` and ``block_pooling_type`` are tfmot's (see ``PruneLowMagnitude``).
    """
    if isinstance(to_prune, (list, tuple)):  # tfmot takes a list of layers too
        return [_wrap_listed(layer, pruning_schedule, sparsity_m_by_n, scope, only, block_size,
                             block_pooling_type, **kwargs) for layer in to_prune]
    _refuse_tf_keras(to_prune)
    if kwargs and isinstance(to_prune, keras.Model):
        raise InputError(f"prune_low_magnitude of a model takes no layer arguments "
                         f"({', '.join(sorted(kwargs))}); they are for wrapping one layer")
    options = {"pruning_schedule": pruning_schedule, "sparsity_m_by_n": sparsity_m_by_n,
               "block_size": block_size, "block_pooling_type": block_pooling_type,
               "scope": scope}
    if not isinstance(to_prune, keras.Model):
        return PruneLowMagnitude(to_prune, **options, **kwargs)  # e.g. input_shape=, name=
    if not isinstance(to_prune, (Functional, keras.Sequential)):
        raise InputError(f"model {to_prune.name!r} is a subclassed model; wrap its layers "
                         "with prune_low_magnitude(layer, ...) inside it instead")
    if only is not None:
        names = {l.name for l in _walk(to_prune)}
        missing = sorted(set(only) - names)
        if missing:
            raise unknown_name("layer", missing[0], sorted(names))

    def wrap(layer: keras.layers.Layer) -> keras.layers.Layer:
        if (not isinstance(layer, PruneLowMagnitude) and is_prunable(layer)
                and (only is None or layer.name in only)):
            if sparsity_m_by_n is None or _m_by_n_ok(layer):
                return PruneLowMagnitude(_fresh(layer), **options)
            log.warning("layer %r (%s) is left dense: sparsity_m_by_n prunes Dense, "
                        "EinsumDense and Conv1D/2D/3D layers", layer.name,
                        type(layer).__name__)
            return _fresh_or_shared(layer)
        if only is None:
            _say_if_left_dense(layer)
        return _fresh_or_shared(layer)

    return _with_weights_of(to_prune, _clone(to_prune, wrap))


def _wrap_listed(layer: Any, *args: Any, **kwargs: Any) -> Any:
    """One layer of a list given to ``prune_low_magnitude``: wrapped if it can be pruned, else
    kept as it is (with a warning if it has weights), as a whole model's layers are."""
    if isinstance(layer, keras.layers.Layer) and not isinstance(layer, keras.Model) \
            and not isinstance(layer, PruneLowMagnitude) and not is_prunable(layer):
        _say_if_left_dense(layer)
        return layer
    return prune_low_magnitude(layer, *args, **kwargs)


def _say_if_left_dense(layer: keras.layers.Layer) -> None:
    """One warning for a layer that is not pruned but has weights (or will have: a build of
    its own; Add's merges make none), unless tfmot leaves such layers dense too."""
    if isinstance(layer, (PruneLowMagnitude, keras.Model, *DENSE_BY_DESIGN)):
        return
    weighted = layer.trainable_weights if layer.built else (
        type(layer).build is not keras.layers.Layer.build
        and not isinstance(layer, keras.layers.Add))
    if weighted:
        log.warning("layer %r (%s) is left dense: %s", layer.name, type(layer).__name__,
                    why_not_prunable(layer))


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

    return _with_weights_of(model, _clone(model, unwrap))


def _clone(model: keras.Model, clone_function: Any) -> keras.Model:
    """``keras.models.clone_model`` (nested models too), a functional model's inputs keeping
    their names: Keras names the clone's inputs after its tensors (``keras_tensor``), so a
    model fed a dict by input name would no longer take it."""
    inputs = None
    if isinstance(model, Functional) and not isinstance(model, keras.Sequential):
        inputs = keras.tree.map_structure(
            lambda t: keras.Input(batch_shape=t.shape, dtype=t.dtype, sparse=t.sparse,
                                  name=t._keras_history.operation.name), model.input)
    return keras.models.clone_model(model, input_tensors=inputs, clone_function=clone_function,
                                    recursive=True)


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
            for w, m in zip(s.pruned_weights, s.masks):
                i = next(i for i, v in enumerate(s.layer.weights) if v is w)
                values[i] = values[i] * np.asarray(m.numpy()).astype(values[i].dtype)
            d.set_weights(values)
        else:
            d.set_weights(s.get_weights())
    return dst


def layer_sparsity(model: keras.Model) -> dict[str, dict[str, Any]]:
    """Per prunable layer (wrapped or not, nested models too): the size of the weights it
    prunes (a recurrent layer's kernels, an attention layer's projections: together), their
    zeros and sparsity - of the weights the model computes with (a wrapped weight counts
    through its mask)."""
    out = {}
    for layer in _walk(model):
        if isinstance(layer, PruneLowMagnitude):
            if not layer.built:
                continue
            weights = [np.asarray(w.numpy()) * np.asarray(m.numpy())
                       for w, m in zip(layer.pruned_weights, layer.masks)]
            name = layer.layer.name
        elif layer.built and (isinstance(layer, KERNEL_TYPES) or is_prunable(layer)):
            weights = [np.asarray(w.numpy()) for w in prunable_weights(layer)]
            name = layer.name
        else:
            continue
        size = sum(w.size for w in weights)
        zeros = int(sum(np.sum(w == 0) for w in weights))
        out[name] = {"params": int(size), "zeros": zeros, "sparsity": zeros / size}
    return out
