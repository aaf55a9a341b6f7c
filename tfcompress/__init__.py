"""tfcompress: prune, distill and quantize Keras models, and measure them honestly.

    import tfcompress
    result = tfcompress.compress(model, (x_train, y_train), sparsity=0.8)

``compress`` takes the model you hold (or a file) and your arrays (or a dataset name or image
folder); ``run`` runs a recipe or a registered experiment. The public API is small; everything
else is internal. Names are imported lazily so that ``import tfcompress`` (and the CLI's
``--list``) does not start TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {
    "compress": "tfcompress.api",
    "run": "tfcompress.run",  # the CLI module, callable as the API's run (api.run)
    "Result": "tfcompress.api",
    "Recipe": "tfcompress.recipe",
    "DataSpec": "tfcompress.recipe",
    "ModelSpec": "tfcompress.recipe",
    "TrainSpec": "tfcompress.recipe",
    "PruneSpec": "tfcompress.recipe",
    "ExportSpec": "tfcompress.recipe",
    "Variant": "tfcompress.recipe",
    "DistillSpec": "tfcompress.recipe",
    "ClusterSpec": "tfcompress.recipe",
    "QatSpec": "tfcompress.recipe",
    "Distiller": "tfcompress.distill",
    "BenchmarkSpec": "tfcompress.recipe",
    "apply_overrides": "tfcompress.recipe",
    "derive": "tfcompress.recipe",
    "InputError": "tfcompress.errors",
    "experiment": "tfcompress.catalogue",
    "experiment_names": "tfcompress.catalogue",
    "register_experiment": "tfcompress.catalogue",
    "load_config": "tfcompress.catalogue",
    "register_criterion": "tfcompress.prune",
}

__all__ = sorted(_API)


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})


def __getattr__(name: str) -> Any:
    if name == "run":
        return importlib.import_module("tfcompress.run")
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'tfcompress' has no attribute {name!r}")
