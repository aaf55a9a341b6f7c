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
from tfcompress.data.dataset import default_data_dir, offline_default
from tfcompress import errors
from tfcompress.errors import InputError

L = keras.layers

#: backbone -> (keras.applications constructor, preprocessing mode, takes alpha)
BACKBONES: dict[str, tuple[str, str, bool]] = {
    "mobilenet": ("MobileNet", "tf", True),
    "mobilenet_v2": ("MobileNetV2", "tf", True),
    "vgg16": ("VGG16", "caffe", False),
    "vgg19": ("VGG19", "caffe", False),
}
IMAGENET_MEAN_RGB = (123.68, 116.779, 103.939)  # caffe mode subtracts these (in BGR order)


def weights_file(backbone: str, alpha: float, size: int) -> str:
    """The file name Keras gives ImageNet no-top weights (what it looks for in its cache)."""
    if backbone == "mobilenet":
        text = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}.get(alpha, str(alpha))
        return f"mobilenet_{text}_{size}_tf_no_top.h5"
    if backbone == "mobilenet_v2":
        return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{size}_no_top.h5"
    return f"{backbone}_weights_tf_dim_ordering_tf_kernels_notop.h5"


def keras_cache_dir() -> Path:
    """Where tf_keras' ``get_file`` keeps downloaded weights (it reads no environment)."""
    return Path.home() / ".keras" / "models"


def _weight_names(backbone: str, alpha: float, size: int) -> list[str]:
    """Acceptable ImageNet files: the one for this input size, then (MobileNets) the 224 one,
    whose no-top weights fit any input size just as well for transfer learning."""
    names = [weights_file(backbone, alpha, size)]
    if backbone.startswith("mobilenet") and size != 224:
        names.append(weights_file(backbone, alpha, 224))
    return names


def _resolve_weights(weights: str | None, backbone: str, alpha: float, size: int,
                     data_dir: str | Path | None, offline: bool | None) -> str | None:
    """A local file path, "imagenet" (Keras downloads), or None (random)."""
    if weights in (None, "none", "random"):
        return None
    needed = weights_file(backbone, alpha, size)
    if weights != "imagenet":
        if not Path(weights).is_file():
            raise InputError(f"model.options.weights: {weights!r} not found; give the "
                             f"{needed} file of {backbone}")
        return weights
    data_dir = data_dir or default_data_dir()
    folders = ([Path(data_dir)] if data_dir else []) + [keras_cache_dir()]
    for folder in folders:
        for name in _weight_names(backbone, alpha, size):
            if (folder / name).is_file():
                return str(folder / name)
    if offline_default() if offline is None else offline:
        raise InputError(
            f"ImageNet weights for {backbone} (alpha {alpha}, {size}px) are needed: put "
            f"{needed} in {keras_cache_dir()} (where Keras looks) or in the data dir "
            f"({data_dir or 'not set'}), or "
            + errors.fix(cli="pass --weights=PATH",
                         python="pass overrides={'model.options.weights': PATH}")
            + "; downloading is off (offline)")
    return "imagenet"


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
        from tfcompress.errors import unknown_name

        raise unknown_name("backbone", backbone, BACKBONES)
    ctor_name, mode, takes_alpha = BACKBONES[backbone]
    shape = tuple(input_shape)
    resolved = _resolve_weights(weights, backbone, alpha, shape[0], data_dir, offline)
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


def check(options: dict[str, Any], image_size: Sequence[int] | None,
          data_dir: str | Path | None = None, offline: bool | None = None) -> list[str]:
    """What ``build`` would refuse, found before any data is loaded: an unknown backbone or
    ImageNet weights that cannot be had.

    Returns:
      Warnings for the report (random weights: the accuracies say nothing about transfer).
    """
    backbone = options.get("backbone", "mobilenet")
    if backbone not in BACKBONES:
        from tfcompress.errors import unknown_name

        raise unknown_name("backbone", backbone, BACKBONES)
    size = image_size[0] if image_size else 224
    weights = options.get("weights", "imagenet")
    if _resolve_weights(weights, backbone, options.get("alpha", 1.0), size, data_dir,
                        offline) is None:
        return [f"The {backbone} backbone has random weights (model.options.weights="
                f"{weights!r}), not ImageNet ones: this run tests the pipeline, its accuracies "
                f"say nothing about transfer learning."]
    return []


build.check = check  # type: ignore[attr-defined]  # run by the pipeline before loading data


def fold_bgr(backbone: keras.Model) -> None:
    """Reverses the input channels of the first convolution, so RGB inputs give what the
    caffe-mode weights computed on BGR inputs."""
    first = next(l for l in backbone.layers if isinstance(l, L.Conv2D))
    kernel, *rest = first.get_weights()
    first.set_weights([kernel[:, :, ::-1, :], *rest])
