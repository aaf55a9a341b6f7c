"""What pixel range a model expects, read from its first layers, against what the data gives.

A model that rescales its own pixels (the Keras tutorials' ``Rescaling(1./255)`` first layer,
``keras.applications`` models with their preprocessing inside) takes 0..255; fed this suite's
default 0..1 it sees near-black images and scores at chance, with no error anywhere. The
check runs before any training and stops with one line naming the layer and the flag.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tfcompress import errors
from tfcompress.errors import InputError

if TYPE_CHECKING:
    from tfcompress.data import Dataset

#: layers before the preprocessing that do not change the pixel scale
_SKIPPED = ("InputLayer", "Resizing", "CenterCrop")


def _first_layers(model: Any) -> Any:
    """The model's layers from the input on, nested models entered, augmentation skipped."""
    for layer in model.layers:
        if getattr(layer, "layers", None) is not None and hasattr(layer, "inputs"):
            yield from _first_layers(layer)
            return
        name = type(layer).__name__
        if name in _SKIPPED or name.startswith("Random"):
            continue
        yield layer
        return


def expected(model: Any) -> dict[str, Any] | None:
    """``{"layer", "type", "high", "why"}`` when the model's first layer shows the pixel scale
    it expects (``high``: 255 for pixels as they are), else None (it cannot be told)."""
    for layer in _first_layers(model):
        name = type(layer).__name__
        if name == "Rescaling":
            scale = float(np.max(np.abs(np.asarray(layer.scale, dtype=np.float64))))
            if scale <= 1 / 100:
                return {"layer": layer.name, "type": name, "high": 255.0,
                        "why": f"Rescaling(scale={scale:.6g}) first"}
        if name == "Normalization":
            mean = getattr(layer, "mean", None)  # given, or adapted (a weight)
            weights = layer.get_weights()
            mean = np.asarray(mean if mean is not None else weights[0] if weights else 0.0,
                              dtype=np.float64)
            if float(np.max(np.abs(mean))) > 2.0:
                return {"layer": layer.name, "type": name, "high": 255.0,
                        "why": f"Normalization(mean up to {float(np.max(mean)):.4g}) first"}
    return None


def data_high(data: Dataset) -> float:
    """The largest value the data gives the model (its white pixel)."""
    mean = np.asarray(data.mean if data.mean is not None else 0.0, np.float64)
    std = np.asarray(data.std if data.std is not None else 1.0, np.float64)
    return float(np.max((1.0 - mean) / std))


def check(model: Any, data: Dataset) -> None:
    """Stops when the model expects 0..255 pixels and the data gives it 0..1 (or the like).

    Raises:
      InputError: naming the layer, both ranges and the flag that fixes it.
    """
    if not data.pixels_known:
        return
    want = expected(model)
    if want is None:
        return
    high = data_high(data)
    if high < want["high"] / 10:
        normalized = data.mean is not None or data.std is not None
        if normalized:
            how = errors.fix(
                cli="drop --mean/--std (the model normalizes itself) and run with "
                    "--pixel_range=0-255",
                python="pass pixel_range='0-255' without mean/std (the model normalizes "
                       "itself)",
                recipe="data.pixel_range=0-255, data.mean=none, data.std=none")
        else:
            how = errors.fix(cli="run with --pixel_range=0-255",
                             python="pass pixel_range='0-255'", recipe="data.pixel_range=0-255")
        raise InputError(
            f"the model starts with {want['why']} (layer {want['layer']}): it expects pixels "
            f"0..{want['high']:g}, but the data gives it values up to {high:.4g} "
            f"({data.preprocessing}); {how}")
