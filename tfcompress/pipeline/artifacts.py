"""The Keras model a step saves, with the facts every row reports, and how it is read back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shutil

from tfcompress import flavor
from tfcompress.benchmark import macs
from tfcompress.benchmark.size import count_weights, file_sizes
from tfcompress.models import keras3, user_file
from tfcompress.quantize import qat
from tfcompress.train import loop

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.pipeline.runner import Artifact


def save_model(model: Any, work: Path, data: Dataset, counted: Any = None,
                **facts: Any) -> dict[str, Any]:
    """Saves ``model`` and records its accuracy, file size, MACs and weights (of
    ``counted`` when given: the plain model a QAT model fake-quantizes)."""

    keras = flavor.module(model)  # a Keras 3 model is saved by Keras 3
    # Saved without the optimizer state (Adam's would triple the file): the deployable
    # model, and the file size the published figures (12.5 MB for the MNIST CNN) refer to.
    if qat.is_qat(model):
        # tfmot's cluster-preserving quantizers do not survive save / load_model: keep
        # the weights, ``load`` rebuilds the QAT model from the float one the same way
        path = work / "qat_weights.npz"
        np.savez(path, *model.get_weights())
    else:
        plain = keras.models.clone_model(model)
        plain.set_weights(model.get_weights())
        path = work / "model.keras"
        plain.save(path)
    keras_file = file_sizes(path.read_bytes())
    counted = counted if counted is not None else model
    mac = macs.count(counted)  # either Keras
    return {"keras_test_accuracy": loop.accuracy(model, data.x_test, data.y_test),
            "keras_file_bytes": keras_file["bytes"],
            "keras_file_gzip_bytes": keras_file["gzip_bytes"],
            "macs": mac["macs"], "effective_macs": mac["effective_macs"],
            **count_weights(counted), **facts}


SAVEDMODEL = "savedmodel"


def keep_savedmodel(path: Path, work: Path) -> dict[str, Any]:
    """A bare SavedModel as the baseline: copied as it is, with the facts that can be read
    without running it (no Keras accuracy or MACs: only its .tflite files are run)."""


    shutil.copytree(path, work / SAVEDMODEL)
    blob = b"".join(q.read_bytes() for q in sorted((work / SAVEDMODEL).rglob("*"))
                    if q.is_file())
    sizes = file_sizes(blob)
    return {"keras_test_accuracy": None, "keras_file_bytes": sizes["bytes"],
            "keras_file_gzip_bytes": sizes["gzip_bytes"], "macs": None,
            "effective_macs": None, **user_file.savedmodel_weights(work / SAVEDMODEL),
            "history": {}, "model_file": str(path)}


def load(artifact: Artifact, keras: str | None = None) -> Any:
    """The Keras model a step saved, in the Keras that saved it, or as ``keras`` (``2``: the
    exact tf_keras twin of a Keras 3 model, for the steps that need tfmot; ``3``: the reverse).
    A QAT step keeps the float model it started from and the QAT weights; its model is
    rebuilt with ``qat.apply`` and given them."""

    weights = artifact.path / "qat_weights.npz"
    if not weights.is_file():
        return as_keras(flavor.load_model(artifact.path / "model.keras"), keras)
    float_model = as_keras(flavor.load_model(artifact.path / "float_model.keras"), "2")
    model, _ = qat.apply(float_model, artifact.meta["qat_scheme"],
                         artifact.meta["qat_skip"])
    with np.load(weights) as saved:
        model.set_weights([saved[f"arr_{i}"] for i in range(len(saved.files))])
    return model


def as_keras(model: Any, keras: str | None) -> Any:
    """``model`` itself, or its exact twin in the other Keras (``2`` or ``3``)."""

    kind = flavor.which(model)
    if keras == "2" and kind == flavor.KERAS3:
        return keras3.to_keras2(model)
    if keras == "3" and kind == flavor.KERAS2:
        return keras3.to_keras3(model)
    return model
