"""Keras 3 models <-> their tf_keras twins, exactly: same layers, same weights, same outputs.

tfmot (and so QAT, clustering and tfmot's pruning) works on tf_keras models only. A Keras 3
model goes to tf_keras by translating its config (the two formats differ in a few known places:
dtype policies, ``InputLayer`` shapes, the functional graph's node format, options one of them
lacks) and copying the weights layer by layer; it comes back through the legacy HDF5 format,
which Keras 3 reads. Every conversion runs both models on the same random batch and refuses,
in one line, to return a model whose outputs differ.

Nothing here runs code from a file: both directions work on in-memory models, and a layer
class tf_keras does not have is refused by name.
"""

from __future__ import annotations

import inspect
import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from tfcompress.errors import InputError

#: largest output difference a conversion may show (float32 round-off of the same ops)
TOLERANCE = 1e-5
#: Keras 3 options tf_keras lacks, dropped when they hold their neutral value
_NEUTRAL = (None, False, {}, [], "")


def to_keras2(model: Any) -> Any:
    """The tf_keras twin of a Keras 3 functional or Sequential model (weights copied).

    Raises:
      InputError: a layer or option tf_keras does not have, or outputs that differ.
    """
    from tfcompress._keras import keras as k2

    config = model.get_config()
    name = type(model).__name__
    if name not in ("Functional", "Sequential"):
        raise InputError(f"model {model.name!r} is a subclassed Keras 3 model ({name}); only "
                         "functional and Sequential models can be converted to tf_keras")
    if name == "Sequential":
        twin = k2.Sequential.from_config(_sequential(config))
    else:
        twin = k2.Model.from_config(_functional(config))
    _copy_weights(model, twin)
    check_same(model, twin, "Keras 3 -> tf_keras")
    return twin


def to_keras3(model: Any) -> Any:
    """The Keras 3 twin of a tf_keras model, read back by Keras 3 from the legacy HDF5 format."""
    from tfcompress._keras3 import keras

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "model.h5"
        with warnings.catch_warnings():  # "HDF5 is legacy": here it is the bridge
            warnings.simplefilter("ignore")
            model.save(path, include_optimizer=False)
        _renumber_nested(path)
        twin = keras.saving.load_model(path, compile=False)
    check_same(model, twin, "tf_keras -> Keras 3")
    return twin


def _renumber_nested(path: Path) -> None:
    """Keras 3's HDF5 reader takes Keras 2's node numbers of nested models as its own (they
    start at 1 there, at 0 here): renumbered in the file's config before it is read."""
    import h5py

    from tfcompress._keras3 import keras

    from tfcompress._keras import keras as k2

    def fix(config: dict[str, Any]) -> None:
        nested = {layer["name"] for layer in config.get("layers", []) if _has_own_input(layer)}
        for layer in config.get("layers", []):
            if layer["class_name"] in ("Functional", "Model", "Sequential"):
                fix(layer["config"])
            elif getattr(keras.layers, layer["class_name"], None) is not None:
                layer["config"] = _known_options(
                    getattr(keras.layers, layer["class_name"]), layer["config"], "Keras 3",
                    getattr(k2.layers, layer["class_name"], None))
            for node in layer.get("inbound_nodes", []):
                for ref in node:
                    ref[1] -= ref[0] in nested
        for key in ("input_layers", "output_layers"):
            for ref in config.get(key, []):
                ref[1] -= ref[0] in nested

    with h5py.File(path, "r+") as f:
        saved = json.loads(f.attrs["model_config"])
        fix(saved["config"])
        f.attrs["model_config"] = json.dumps(saved)


def check_same(a: Any, b: Any, what: str) -> None:
    """Refuses a conversion whose model computes something else than its source."""
    shape = [d or 2 for d in a.inputs[0].shape] if len(a.inputs) == 1 else None
    if shape is None:
        raise InputError(f"{what}: model {a.name!r} has {len(a.inputs)} inputs; only "
                         "single-input models are converted")
    shape[0] = 2
    x = np.random.default_rng(0).uniform(0, 1, size=shape).astype("float32")
    with warnings.catch_warnings():  # Keras 3 on a bare tensor for a one-input list
        warnings.simplefilter("ignore")
        ya, yb = (np.asarray(m(x, training=False)) for m in (a, b))
    diff = float(np.max(np.abs(ya - yb))) if ya.shape == yb.shape else float("inf")
    if diff > TOLERANCE * max(1.0, float(np.max(np.abs(ya)))):
        raise InputError(f"{what}: the converted model {a.name!r} computes different outputs "
                         f"(max difference {diff:.3g}); it cannot be converted exactly")


# --- Keras 3 config -> tf_keras config ------------------------------------------------------


def _functional(config: dict[str, Any]) -> dict[str, Any]:
    # Keras 2 numbers the nodes of a nested model with an input from 1 (its node 0, input to
    # output, is not saved); Keras 3 from 0.
    nested = {layer["name"] for layer in config["layers"] if _has_own_input(layer)}
    return {"name": config["name"], "trainable": config.get("trainable", True),
            "layers": [_graph_layer(layer, nested) for layer in config["layers"]],
            "input_layers": _ends(config["input_layers"], nested),
            "output_layers": _ends(config["output_layers"], nested)}


def _has_own_input(layer: dict[str, Any]) -> bool:
    if layer["class_name"] in ("Functional", "Model"):
        return True
    inner = layer["config"].get("layers", []) if layer["class_name"] == "Sequential" else []
    return bool(inner) and inner[0]["class_name"] == "InputLayer"


def _ends(ends: list[Any], nested: set[str]) -> list[Any]:
    """Keras 3 writes one input or output as a flat ``[layer, node, tensor]``."""
    ends = [ends] if ends and isinstance(ends[0], str) else ends
    return [_history(e, nested) for e in ends]


def _history(ref: list[Any], nested: set[str]) -> list[Any]:
    name, node, tensor = ref[:3]
    return [name, node + 1 if name in nested else node, tensor]


def _sequential(config: dict[str, Any]) -> dict[str, Any]:
    return {"name": config["name"], "layers": [_layer(layer) for layer in config["layers"]]}


def _graph_layer(node: dict[str, Any], nested: set[str]) -> dict[str, Any]:
    out = _layer(node)
    out["name"] = node["name"]
    out["inbound_nodes"] = [_inbound(n, node["name"], nested)
                            for n in node.get("inbound_nodes", [])]
    return out


def _inbound(node: dict[str, Any], layer: str, nested: set[str]) -> list[list[Any]]:
    """Keras 3's ``{"args": [...], "kwargs": {...}}`` as Keras 2's list of
    ``[layer, node_index, tensor_index, kwargs]``, one per input tensor."""
    tensors: list[list[Any]] = []

    def walk(arg: Any) -> None:
        if isinstance(arg, dict) and arg.get("class_name") == "__keras_tensor__":
            tensors.append([*_history(arg["config"]["keras_history"], nested), {}])
        elif isinstance(arg, (list, tuple)):
            for a in arg:
                walk(a)
        elif arg is not None:
            raise InputError(f"layer {layer!r} is called with a non-tensor argument "
                             f"({arg!r}); tf_keras cannot rebuild that call")

    walk(node.get("args", []))
    kwargs = node.get("kwargs", {})
    if any(isinstance(v, dict) and v.get("class_name") == "__keras_tensor__"
           for v in kwargs.values()):
        raise InputError(f"layer {layer!r} takes tensors as keyword arguments; "
                         "tf_keras cannot rebuild that call")
    if tensors:
        tensors[0][3] = dict(kwargs)
    return tensors


def _layer(node: dict[str, Any]) -> dict[str, Any]:
    from tfcompress._keras import keras as k2

    name = node["class_name"]
    config = dict(node["config"])
    if name == "Functional":
        return {"class_name": "Functional", "config": _functional(config)}
    if name == "Sequential":
        return {"class_name": "Sequential", "config": _sequential(config)}
    cls = getattr(k2.layers, name, None)
    if cls is None or node.get("registered_name") not in (None, name):
        raise InputError(f"layer {config.get('name', '?')!r} is a {name}, which tf_keras does "
                         "not have; this model cannot go through tfmot")
    if name == "InputLayer":
        config["batch_input_shape"] = config.pop("batch_shape", None)
        config.pop("optional", None)
    config = {k: _value(v) for k, v in config.items()}
    from tfcompress._keras3 import keras

    return {"class_name": name, "config": _known_options(cls, config, "tf_keras",
                                                         getattr(keras.layers, name, None))}


def _value(v: Any) -> Any:
    """A Keras 3 serialized object as tf_keras reads it."""
    if not (isinstance(v, dict) and "class_name" in v):
        return v
    if v["class_name"] in ("DTypePolicy", "FloatDTypePolicy"):
        policy = v["config"]["name"]
        return policy if not policy.startswith("mixed_") else {
            "class_name": "Policy", "config": {"name": policy}}
    from tfcompress._keras import keras as k2

    kind = {"keras.initializers": k2.initializers, "keras.regularizers": k2.regularizers,
            "keras.constraints": k2.constraints}.get(v.get("module", ""))
    cls = getattr(kind, v["class_name"], None) if kind is not None else None
    if cls is None:
        return v
    return {"class_name": v["class_name"],
            "config": _known_options(cls, dict(v.get("config", {})))}


def _parameters(cls: type) -> dict[str, inspect.Parameter]:
    params: dict[str, inspect.Parameter] = {}
    for klass in reversed(cls.__mro__):  # a subclass passes **kwargs on to its bases
        if "__init__" in vars(klass):
            params.update(inspect.signature(klass.__init__).parameters)
    return params


def _known_options(cls: type, config: dict[str, Any], other: str = "tf_keras",
                   source: type | None = None) -> dict[str, Any]:
    """``config`` without the options ``cls`` (of the ``other`` Keras) lacks; refuses a
    dropped option that is in use (not at ``source``'s default: LoRA, quantization, ...)."""
    from tfcompress._keras3 import keras

    from tfcompress._keras import keras as k2

    params = _parameters(cls)
    defaults = {k: p.default for k, p in _parameters(source).items()} if source else {}
    if issubclass(cls, (k2.layers.Layer, keras.layers.Layer)):
        allowed = set(params) | {"name", "dtype", "trainable", "input_shape",
                                 "batch_input_shape", "batch_size", "input_dim",
                                 "activity_regularizer", "autocast", "dynamic"}
    else:
        allowed = set(params)
    kept = {}
    for key, value in config.items():
        if key in allowed:
            kept[key] = value
        elif value not in _NEUTRAL and defaults.get(key, _NEUTRAL) != value:
            raise InputError(f"{cls.__name__} option {key}={value!r} has no {other} "
                             "equivalent; the model cannot be converted")
    return kept


def _copy_weights(src: Any, dst: Any) -> None:
    for layer in src.layers:
        twin = dst.get_layer(layer.name)
        if hasattr(layer, "layers") and hasattr(twin, "layers"):
            _copy_weights(layer, twin)
            continue
        values = layer.get_weights()
        if [v.shape for v in values] != [tuple(w.shape) for w in twin.weights]:
            raise InputError(f"layer {layer.name!r}: its weights do not match the tf_keras "
                             "layer's; it cannot be converted")
        twin.set_weights(values)
