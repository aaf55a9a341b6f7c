"""Which Keras a model belongs to: the one place that decides, for objects and for files.

``keras2`` is the ``tf_keras`` package (what tfmot prunes), ``keras3`` the ``keras`` package
(``import keras`` since TensorFlow 2.16). Deciding imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

KERAS2, KERAS3 = "keras2", "keras3"
#: a SavedModel with no Keras model in it (Keras 3 ``model.export()``, ``tf.saved_model.save``)
SAVEDMODEL = "savedmodel"


def which(obj: Any) -> str | None:
    """``keras2`` / ``keras3`` for a Keras model or layer object, None for anything else."""
    for cls in type(obj).__mro__:
        root = cls.__module__.split(".")[0]
        if root == "tf_keras" or cls.__module__.startswith("tensorflow.python.keras"):
            return KERAS2
        if root == "keras":
            return KERAS3
    return None


def of_file(path: str | Path) -> str:
    """``keras2`` / ``keras3`` / ``savedmodel`` for a model file or folder, read from what Keras
    wrote beside the model (never by loading it). Unknown versions count as Keras 2, the
    format this suite read before Keras 3."""
    p = Path(path)
    if p.is_dir():
        return KERAS2 if (p / "keras_metadata.pb").is_file() else SAVEDMODEL
    version = ""
    if zipfile.is_zipfile(p):
        with zipfile.ZipFile(p) as z:
            if "metadata.json" in z.namelist():
                try:
                    version = str(json.loads(z.read("metadata.json")).get("keras_version", ""))
                except ValueError:
                    version = ""
    else:
        import h5py

        try:
            with h5py.File(p, "r") as f:
                raw = f.attrs.get("keras_version", "")
        except OSError:
            raw = ""
        version = raw.decode() if isinstance(raw, bytes) else str(raw)
    return KERAS3 if version.split(".")[0] == "3" else KERAS2


def load_model(path: str | Path) -> Any:
    """A ``.keras`` file this suite wrote, opened by the Keras that wrote it."""
    if of_file(path) == KERAS3:
        from tfcompress._keras3 import keras

        return keras.saving.load_model(str(path), compile=False)
    from tfcompress._keras import keras as tf_keras

    return tf_keras.models.load_model(str(path), compile=False)


def module(obj: Any) -> Any:
    """The Keras package ``obj`` (a model, layer, or ``keras2`` / ``keras3``) belongs to."""
    kind = obj if isinstance(obj, str) else which(obj)
    if kind == KERAS3:
        from tfcompress._keras3 import keras

        return keras
    from tfcompress._keras import keras as tf_keras

    return tf_keras
