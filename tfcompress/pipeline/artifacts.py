"""The Keras model a step saves, with the facts every row reports, and how it is read back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.pipeline.runner import Artifact


def save_model(model: Any, work: Path, data: Dataset, counted: Any = None,
                **facts: Any) -> dict[str, Any]:
    """Saves ``model`` and records its accuracy, file size, MACs and weights (of
    ``counted`` when given: the plain model a QAT model fake-quantizes)."""
    from tfcompress.benchmark import macs
    from tfcompress.benchmark.size import count_weights, file_sizes
    from tfcompress.quantize import qat
    from tfcompress.train import loop

    from tfcompress._keras import keras

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
    mac = macs.count(counted)
    return {"keras_test_accuracy": loop.accuracy(model, data.x_test, data.y_test),
            "keras_file_bytes": keras_file["bytes"],
            "keras_file_gzip_bytes": keras_file["gzip_bytes"],
            "macs": mac["macs"], "effective_macs": mac["effective_macs"],
            **count_weights(counted), **facts}


def load(artifact: Artifact) -> Any:
    """The Keras model a step saved. A QAT step keeps the float model it started from
    and the QAT weights; its model is rebuilt with ``qat.apply`` and given them."""
    from tfcompress._keras import keras
    from tfcompress.quantize import qat

    weights = artifact.path / "qat_weights.npz"
    if not weights.is_file():
        return keras.models.load_model(artifact.path / "model.keras")
    float_model = keras.models.load_model(artifact.path / "float_model.keras")
    model, _ = qat.apply(float_model, artifact.meta["qat_scheme"],
                         artifact.meta["qat_skip"])
    with np.load(weights) as saved:
        model.set_weights([saved[f"arr_{i}"] for i in range(len(saved.files))])
    return model
