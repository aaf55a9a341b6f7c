"""The ImageNet weights of a transfer backbone: which file Keras names them, where it is looked
for, and what cannot be had, refused in one line. Nothing here imports Keras or TensorFlow:
``api.check_files`` runs ``check`` before TensorFlow starts, and ``transfer.build`` resolves
its weights through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tfcompress import errors
from tfcompress.data.dataset import default_data_dir, offline_default
from tfcompress.errors import InputError, unknown_name

#: backbone -> (keras.applications constructor, preprocessing mode, takes alpha)
BACKBONES: dict[str, tuple[str, str, bool]] = {
    "mobilenet": ("MobileNet", "tf", True),
    "mobilenet_v2": ("MobileNetV2", "tf", True),
    "vgg16": ("VGG16", "caffe", False),
    "vgg19": ("VGG19", "caffe", False),
}


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


def resolve_weights(weights: str | None, backbone: str, alpha: float, size: int,
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


def check(options: dict[str, Any], image_size: Sequence[int] | None,
          data_dir: str | Path | None = None, offline: bool | None = None) -> list[str]:
    """What ``transfer.build`` would refuse, found before any data is loaded (and before
    TensorFlow starts): an unknown backbone or ImageNet weights that cannot be had.

    Returns:
      Warnings for the report (random weights: the accuracies say nothing about transfer).
    """
    backbone = options.get("backbone", "mobilenet")
    if backbone not in BACKBONES:
        raise unknown_name("backbone", backbone, BACKBONES)
    size = image_size[0] if image_size else 224
    weights = options.get("weights", "imagenet")
    if resolve_weights(weights, backbone, options.get("alpha", 1.0), size, data_dir,
                       offline) is None:
        return [f"The {backbone} backbone has random weights (model.options.weights="
                f"{weights!r}), not ImageNet ones: this run tests the pipeline, its accuracies "
                f"say nothing about transfer learning."]
    return []
