"""The file an app runs: the model with the dataset's normalization folded in, taking pixels.

Training feeds a model ``(pixel / pixel_max - mean) / std`` (per channel). A phone has pixels.
``wrap`` puts that arithmetic in front of the model as a ``Normalization`` layer, so the
``.tflite`` takes the pixels as they are: ``uint8`` 0..255 (integer files: the input tensor's
scale is 1 and zero point 0, so the bytes of the image are the input) or ``float32`` 0..255
(float files; their metadata says mean 0, std 1). MediaPipe's ImageClassifier accepts either,
where it refuses int8 inputs and per-channel normalization. The accuracy a run reports is
that of this file, fed the test images' pixels (``Dataset.pixels``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

import tfcompress
from tfcompress import flavor
from tfcompress.quantize.metadata import ImageClassifierInfo

if TYPE_CHECKING:
    from tfcompress.data import Dataset


def takes_pixels(data: Dataset, bare_savedmodel: bool) -> bool:
    """Whether a run's files take pixels: images of a known pixel scale, from a Keras model
    (a bare SavedModel is converted as it is, so it takes its own normalized input)."""
    return data.pixels_known and len(data.input_shape) == 3 and not bare_savedmodel


def prepare_for(export_meta: dict[str, Any], data: Dataset) -> Any:
    """What turns model inputs into the inputs an exported file takes (``Dataset.pixels``
    for a pixel file, None for a file that takes the model's own inputs)."""
    return data.pixels if (export_meta.get("input") or {}).get("pixels") else None


def wrap(model: Any, data: Dataset) -> Any:
    """``model`` behind a ``Normalization`` layer that maps pixels (0..pixel_max) to its
    training inputs, in the model's own Keras."""
    k = flavor.module(model)
    shape = tuple(model.inputs[0].shape[1:])
    channels = int(shape[-1])
    mean = np.broadcast_to(np.asarray(data.mean if data.mean is not None else 0.0,
                                      np.float64), (channels,))
    std = np.broadcast_to(np.asarray(data.std if data.std is not None else 1.0,
                                     np.float64), (channels,))
    norm = k.layers.Normalization(axis=-1, mean=list(mean * data.pixel_max),
                                  variance=list((std * data.pixel_max) ** 2),
                                  name="normalize_pixels")
    image = k.Input(shape=shape, name="image", dtype="float32")
    return k.Model(image, model(norm(image)), name=f"{model.name}_pixels")


def check_exact(model: Any, served: Any, data: Dataset, n: int = 8) -> None:
    """The wrapped model on pixels computes what the model computes on its inputs."""
    x = data.x_test[:n]
    # called directly, not through ``predict``: eight examples need no traced function
    a = np.asarray(model(x, training=False))
    b = np.asarray(served(data.pixels(x), training=False))
    if not np.allclose(a, b, rtol=1e-3, atol=1e-4):
        raise RuntimeError(f"the pixel input of the exported model differs from the model's "
                           f"(max |diff| {float(np.max(np.abs(a - b))):.2e})")


def metadata_info(model: Any, data: Dataset, recipe: Any, variant: Any,
                  inp: dict[str, Any]) -> Any:
    """What the file's TFLite metadata says (``metadata.ImageClassifierInfo``), given its
    input (``input_facts``)."""
    from tfcompress.train.loop import ends_in_softmax

    height, width, channels = data.input_shape
    integer = np.issubdtype(np.dtype(inp["dtype"]), np.integer)
    labels = tuple(data.class_names) or tuple(str(i) for i in range(data.num_classes))
    scores = ("Probabilities of the classes (softmax), one per label." if ends_in_softmax(model)
              else "Scores (logits) of the classes, one per label; the largest wins.")
    return ImageClassifierInfo(
        name=f"{recipe.name}/{variant.name}",
        description=f"{recipe.description} Variant {variant.name}: made by tfcompress.",
        version=tfcompress.__version__, author="tfcompress", height=int(height),
        width=int(width), color_space="RGB" if channels == 3 else "GRAYSCALE", labels=labels,
        # a float file takes pixels 0..pixel_max: an app's 0..255 pixel p becomes
        # (p - 0) / (255 / pixel_max); an integer file takes the bytes as they are
        mean=None if integer else 0.0, std=None if integer else 255.0 / data.pixel_max,
        input_range=(0.0, float(data.pixel_max)), output_description=scores)


def input_facts(content: bytes, data: Dataset) -> dict[str, Any]:
    """The input side of a pixel file, for the card: dtype, range, quantization, resize."""
    from tfcompress.litert import LiteModel

    inp = LiteModel(content).input
    scale, zero = inp["quantization"]
    return {"pixels": True, "dtype": np.dtype(inp["dtype"]).name,
            "range": [0, float(data.pixel_max)],
            "quantization": ({"scale": float(scale), "zero_point": int(zero)}
                             if scale else None),
            "tensor": inp["name"],
            "normalization": "folded into the model: give it the pixels as they are"}
