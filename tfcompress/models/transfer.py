"""Transfer learning: a Keras application backbone with a new classifier head.

The model takes RGB pixels in 0..1 (what the data pipeline and ``classify_tflite.py`` give)
and does the backbone's own preprocessing inside, so the exported .tflite needs nothing else:
MobileNet/MobileNetV2 map to [-1, 1]; VGG16/VGG19 ("caffe" mode) scale to 0..255 and subtract
the ImageNet mean, with the RGB->BGR flip folded into the first convolution's kernel.

``weights``: a local ``.h5`` file, ``"imagenet"`` (Keras' file name in the data dir or in Keras'
cache ``~/.keras/models/``, else Keras' download when online), or None for random weights
(test profiles only; the report says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tfcompress._keras import keras
from tfcompress.errors import InputError, unknown_name
from tfcompress.models import imagenet
from tfcompress.models.imagenet import BACKBONES, keras_cache_dir, weights_file

L = keras.layers

IMAGENET_MEAN_RGB = (123.68, 116.779, 103.939)  # caffe mode subtracts these (in BGR order)


def build(input_shape: Sequence[int], num_classes: int, *, backbone: str = "mobilenet",
          alpha: float = 1.0, weights: str | None = "imagenet", dropout: float = 0.2,
          data_dir: str | Path | None = None, offline: bool | None = None) -> keras.Model:
    """Backbone (``name="backbone"``, a nested model) + global pooling + dropout + dense head.

    ``weights="imagenet"`` looks for Keras' file name in ``data_dir`` (default
    ``$TFCOMPRESS_DATA_DIR``), then in Keras' cache, then lets Keras download it (online only).

    Raises:
      InputError: unknown backbone, or weights that cannot be had (names the file needed).
    """
    if backbone not in BACKBONES:
        raise unknown_name("backbone", backbone, BACKBONES)
    ctor_name, mode, takes_alpha = BACKBONES[backbone]
    shape = tuple(input_shape)
    resolved = imagenet.resolve_weights(weights, backbone, alpha, shape[0], data_dir, offline)
    kwargs: dict[str, Any] = {"include_top": False, "input_shape": shape, "weights": resolved}
    if takes_alpha:
        kwargs["alpha"] = alpha
    try:
        base = getattr(keras.applications, ctor_name)(**kwargs)
    except InputError:
        raise
    except Exception as e:  # Keras: download refused, bad file, unsupported alpha/size
        raise InputError(f"{backbone} backbone could not be built with weights={weights!r}: "
                         f"{str(e).strip().splitlines()[0][:200]} (the file Keras needs: "
                         f"{weights_file(backbone, alpha, shape[0])} in {keras_cache_dir()})"
                         ) from None
    base = keras.Model(base.inputs, base.outputs, name="backbone")
    inputs = keras.Input(shape=shape, name="image")
    if mode == "tf":
        x = L.Rescaling(2.0, offset=-1.0, name="to_minus1_1")(inputs)
    else:
        fold_bgr(base)
        x = L.Rescaling(255.0, name="to_0_255")(inputs)
        x = L.Normalization(mean=IMAGENET_MEAN_RGB, variance=(1.0, 1.0, 1.0),
                            name="imagenet_mean")(x)
    # The backbone's batch norm stays in inference mode when its layers are unfrozen for
    # fine-tuning (small CPU batches would wreck the ImageNet statistics). Freezing the BN
    # layers does that; calling base(x, training=False) would too, but would also stop
    # tfmot's pruning wrappers inside the backbone from ever updating their masks.
    for layer in base.layers:
        if isinstance(layer, L.BatchNormalization):
            layer.trainable = False
    x = base(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    if dropout:
        x = L.Dropout(dropout, name="dropout")(x)
    x = L.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, L.Softmax(name="probs")(x), name=f"{backbone}_transfer")


build.check = imagenet.check  # type: ignore[attr-defined]  # run by the pipeline before loading data


def fold_bgr(backbone: keras.Model) -> None:
    """Reverses the input channels of the first convolution, so RGB inputs give what the
    caffe-mode weights computed on BGR inputs."""
    first = next(l for l in backbone.layers if isinstance(l, L.Conv2D))
    kernel, *rest = first.get_weights()
    first.set_weights([kernel[:, :, ::-1, :], *rest])
