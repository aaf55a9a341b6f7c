"""The structured-pruning check on a model zoo, as Torch-Pruning checks torchvision: every
``keras.applications`` family, random weights, a small input; remove a share of every prunable
group's channels, chosen by the library's own ``filters`` selection, and check that the
smaller model computes what the model with those channels zeroed computes.

``check`` is the test of one model; ``FAMILIES`` lists one member of each family and the
smallest input it accepts. ``scripts/structured_zoo.py`` prints the table.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tfcompress.benchmark import macs
from tfcompress.structured import criteria, flatten, graph, rebuild
from tfcompress.structured.graph import kind, operations

#: family -> (constructor in keras.applications, input size)
FAMILIES: dict[str, tuple[str, int]] = {
    "ConvNeXt": ("ConvNeXtTiny", 32),
    "DenseNet": ("DenseNet121", 32),
    "EfficientNet": ("EfficientNetB0", 32),
    "EfficientNetV2": ("EfficientNetV2B0", 32),
    "InceptionResNetV2": ("InceptionResNetV2", 75),
    "InceptionV3": ("InceptionV3", 75),
    "MobileNet": ("MobileNet", 32),
    "MobileNetV2": ("MobileNetV2", 32),
    "MobileNetV3": ("MobileNetV3Small", 32),
    "NASNet": ("NASNetMobile", 32),
    "RegNet": ("RegNetX002", 32),
    "RegNetY": ("RegNetY002", 32),
    "ResNet": ("ResNet50", 32),
    "ResNetRS": ("ResNetRS50", 32),
    "ResNetV2": ("ResNet50V2", 32),
    "VGG": ("VGG16", 32),
    "Xception": ("Xception", 71),
}


def available(keras: Any) -> list[str]:
    """The families ``keras`` (tf_keras or Keras 3) has: Keras 3 has no RegNet or ResNet-RS."""
    return [f for f, (name, _) in FAMILIES.items() if hasattr(keras.applications, name)]


def build(keras: Any, family: str, seed: int = 0) -> Any:
    """One member of ``family`` from ``keras`` (tf_keras or Keras 3), random weights, 10
    classes, logits out (no final softmax)."""
    name, size = FAMILIES[family]
    keras.utils.set_random_seed(seed)
    make = getattr(keras.applications, name)
    kwargs = {"weights": None, "input_shape": (size, size, 3), "classes": 10,
              "classifier_activation": None}
    try:
        return make(**kwargs)
    except TypeError:  # families without classifier_activation
        kwargs.pop("classifier_activation")
        return make(**kwargs)


def randomize(model: Any, seed: int = 0) -> None:
    """Batch norm statistics and LayerScale factors away from their initial values (1 and
    1e-6), so that zeroing gamma and beta, and the layers after them, are really tested."""
    rng = np.random.default_rng(seed)
    for layer, _ in operations(model):
        if kind(layer) in ("BatchNormalization", "LayerScale"):
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(w.dtype)
                               for w in layer.get_weights()])


def check(model: Any, ratio: float = 0.4, seed: int = 0, samples: int = 2) -> dict[str, Any]:
    """Prunes ``ratio`` of every prunable group of ``model`` (a copy; the model is left as it
    is) and reports what happened: channels prunable of all, MACs before and after, the
    largest output difference relative to the largest output, and the layers that froze
    channels (``stopped_by``)."""
    flat = flatten.flatten(model)
    a = graph.analyse(flat)
    copy = rebuild.rebuild(flat, a, {})  # own weights, so zeroing leaves the model alone
    a = graph.analyse(copy)
    chosen = list(a.prunable())
    scored = criteria.scores(copy, a, "l1", chosen)
    keep = criteria.select(scored, ratio, "layer", split={g: a.groups[g].split for g in chosen})
    drop = {g: np.setdiff1d(np.arange(a.groups[g].size), k) for g, k in keep.items()}
    rebuild.zero_channels(copy, a, drop)
    shape = tuple(int(d) for d in copy.inputs[0].shape[1:])
    x = np.random.default_rng(seed).uniform(0, 255, (samples, *shape)).astype("float32")
    before = np.asarray(copy(x, training=False))
    small = rebuild.rebuild(copy, a, keep)
    after = np.asarray(small(x, training=False))
    scale = float(np.max(np.abs(before))) or 1.0
    made = sum(g.size for g in a.groups.values() if g.producers)
    counted = macs.count(copy)
    return {
        "channels": made,
        "prunable": sum(g.size for g in a.prunable().values()),
        "removed": int(sum(len(d) for d in drop.values())),
        "macs_before": counted["macs"],
        "macs_tensorflow": macs.profiler_macs(copy),  # blind to grouped convolutions:
        "grouped": any(int(getattr(op, "groups", 1) or 1) > 1 for op, _ in
                       graph.operations(copy)),
        "macs_after": macs.count(small)["macs"],
        "uncounted": sorted(set(counted["uncounted"])),
        "params_before": int(copy.count_params()),
        "params_after": int(small.count_params()),
        "max_rel_diff": float(np.max(np.abs(after - before)) / scale),
        "stopped_by": sorted({f"{u['type']}: {u['why']}" for u in a.unsupported}),
    }


def preserved(result: dict[str, Any], tol: float = 1e-4) -> bool:
    """The zoo's verdict: channels were removed, MACs fell, and the function did not change."""
    return (result["removed"] > 0 and result["macs_after"] < result["macs_before"]
            and result["max_rel_diff"] <= tol)
