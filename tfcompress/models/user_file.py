"""Keras models that users bring: ``.keras``, ``.h5`` or a SavedModel folder, written by
Keras 2 (``tf_keras``) or Keras 3 (``keras``; ``flavor.of_file`` tells them apart).

A Keras 3 model is loaded by Keras 3 and handed on as its exact tf_keras twin
(``models/keras3.py``); the run's Keras files then come out in Keras 3 again. Loading is in safe
mode: Lambda layers (which carry arbitrary Python bytecode) are refused,
for ``.h5`` files by reading the model's JSON config before Keras sees the file. Anything that
is not a loadable Keras model is one clear line, never a traceback.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import tensorflow as tf
from google.protobuf.message import DecodeError
from tensorflow.core.protobuf import saved_model_pb2
from tf_keras.protobuf import saved_metadata_pb2  # the schema tf_keras writes

from tfcompress import flavor
from tfcompress._keras import keras
from tfcompress.errors import InputError
from tfcompress.models import keras3, user_path
from tfcompress.models.user_path import ACCEPTED, check


def needs_path(input_shape: Any, num_classes: int, **options: Any) -> keras.Model:
    """The builder behind model name ``file``: it only says what is missing."""
    del input_shape, num_classes, options
    raise InputError(user_path.needs_path())


def load(path: str | Path) -> keras.Model:
    """Loads a user's model (without its optimizer) after checking what the file is.

    Raises:
      InputError: missing path, not a Keras model, unsafe or unloadable content.
    """
    p = Path(path)
    kind = check(p)
    if kind == "h5":
        _refuse_lambda(_h5_config(p), p)
    if flavor.of_file(p) == flavor.KERAS3:
        return keras3.to_keras2(load_keras3(p))
    if kind == "savedmodel" and flavor.of_file(p) == flavor.SAVEDMODEL:
        raise InputError(
            f"{p} is a SavedModel without a Keras model in it (what Keras 3's model.export() "
            "and tf.saved_model.save write): it can only be converted to TFLite as it is "
            "(post-training export variants); pass the Keras file (model.save('model.keras')) "
            "to fine-tune, prune, distill, cluster or QAT it")
    if kind == "savedmodel":
        # tf_keras revives a SavedModel's layers from keras_metadata.pb, Lambda bytecode
        # included, and does not honour safe_mode there: refuse before Keras reads it.
        _refuse_lambda(_savedmodel_configs(p), p)
    model = _loaded(keras.models.load_model, p, "a Keras model")
    if not isinstance(model, keras.Model):
        raise InputError(f"{p} is a SavedModel without a Keras model in it; expected {ACCEPTED}")
    return model


def load_keras3(path: str | Path) -> Any:
    """A Keras 3 ``.keras`` or ``.h5`` file, read by Keras 3 in safe mode (no Lambda code)."""
    from tfcompress._keras3 import keras

    p = Path(path)
    if check(p) == "h5":
        _refuse_lambda(_h5_config(p), p)
    model = _loaded(keras.saving.load_model, p, "a Keras 3 model")
    if not isinstance(model, keras.Model):
        raise InputError(f"{p} holds no Keras 3 model; expected {ACCEPTED}")
    return model


def _loaded(load_model: Any, p: Path, what: str) -> Any:
    """``load_model`` in safe mode, its many exception types for bad files made one line."""
    try:
        return load_model(str(p), compile=False, safe_mode=True)
    except InputError:
        raise
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise InputError(f"{p} could not be loaded as {what} ({type(e).__name__}: "
                         f"{first[:200]})") from None


def savedmodel_signature(p: Path) -> tuple[list[int | None], int | None]:
    """The input shape and number of outputs of a bare SavedModel's ``serving_default``
    signature, read from ``saved_model.pb`` (nothing in the model is loaded or run).

    Raises:
      InputError: unreadable, no such signature, or not one input and one output.
    """
    saved = saved_model_pb2.SavedModel()
    try:
        saved.ParseFromString((p / "saved_model.pb").read_bytes())
    except DecodeError:
        raise InputError(f"{p}/saved_model.pb is not a readable SavedModel") from None
    sigs = [m.signature_def["serving_default"] for m in saved.meta_graphs
            if "serving_default" in m.signature_def]
    if not sigs:
        raise InputError(f"{p} has no serving_default signature to convert")
    sig = sigs[0]
    if len(sig.inputs) != 1 or len(sig.outputs) != 1:
        raise InputError(f"{p} has {len(sig.inputs)} inputs and {len(sig.outputs)} outputs; "
                         "only single-input, single-output models are supported")
    shape = next(iter(sig.inputs.values())).tensor_shape
    out = next(iter(sig.outputs.values())).tensor_shape
    dims = [None if d.size < 0 else int(d.size) for d in shape.dim]
    classes = int(out.dim[-1].size) if out.dim and out.dim[-1].size > 0 else None
    return dims, classes


def savedmodel_weights(p: Path) -> dict[str, int]:
    """Parameters and non-zeros of a bare SavedModel, read from its variables checkpoint."""
    prefix = p / "variables" / "variables"
    try:
        reader = tf.train.load_checkpoint(str(prefix))
    except Exception:  # no variables (constants only): counted as none
        return {"params": 0, "nonzero_params": 0}
    params = nonzero = 0
    names = [n for n, _ in tf.train.list_variables(str(prefix))]
    if any(n.startswith("variables/") for n in names):  # Keras 3 export() saves each twice
        names = [n for n in names if not n.startswith("_all_variables/")]
    for name in names:
        value = reader.get_tensor(name)
        if name.startswith("_CHECKPOINTABLE_OBJECT_GRAPH") or not isinstance(value, np.ndarray):
            continue
        if value.dtype.kind == "f":
            params += int(value.size)
            nonzero += int(np.count_nonzero(value))
    return {"params": params, "nonzero_params": nonzero}


def _h5_config(p: Path) -> dict[str, Any]:
    try:
        with h5py.File(p, "r") as f:
            raw = f.attrs.get("model_config")
    except OSError as e:
        raise InputError(f"{p} is not a readable HDF5 file: {e}") from None
    if raw is None:
        raise InputError(f"{p} holds weights only (no model_config); save the whole model "
                         f"with model.save(...)")
    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)


def _savedmodel_configs(p: Path) -> list[Any]:
    """The layer configs Keras stored in a SavedModel (none for a plain TF SavedModel)."""
    meta = p / "keras_metadata.pb"
    if not meta.is_file():
        return []
    saved = saved_metadata_pb2.SavedMetadata()
    try:
        saved.ParseFromString(meta.read_bytes())
        return [json.loads(node.metadata) for node in saved.nodes if node.metadata]
    except (DecodeError, ValueError) as e:
        raise InputError(f"{p} has an unreadable keras_metadata.pb ({type(e).__name__}); "
                         f"expected {ACCEPTED}") from None


def _refuse_lambda(config: Any, p: Path) -> None:
    found = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("class_name") == "Lambda":
                found.append(node.get("config", {}).get("name", "?"))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(config)
    if found:
        found = list(dict.fromkeys(found))
        raise InputError(f"{p} has Lambda layer(s) {found}, which hold arbitrary Python code; "
                         f"safe mode refuses to load them (rebuild them as regular layers)")


def file_digest(path: str | Path) -> str:
    """SHA-256 of a model file or folder: a cache key that follows the content, not the name."""
    p = Path(path)
    h = hashlib.sha256()
    files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    for q in files:
        h.update(str(q.relative_to(p) if p.is_dir() else q.name).encode())
        with open(q, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()
