"""Which layers of a transfer model learn: freezing and partly unfreezing a nested backbone.

Batch normalisation layers of the backbone stay frozen whatever else is unfrozen: in tf_keras a
non-trainable BatchNormalization runs in inference mode, so its ImageNet moving statistics
survive fine-tuning on small batches (the Keras transfer-learning guide's advice).
"""

from __future__ import annotations

from typing import Any

from tfcompress._keras import keras
from tfcompress.errors import InputError, unknown_name


def backbone_of(model: keras.Model, name: str) -> keras.Model:
    """The nested model called ``name`` (InputError naming the layers there are otherwise)."""
    try:
        layer = model.get_layer(name)
    except ValueError:
        raise unknown_name("transfer.backbone layer", name,
                           [l.name for l in model.layers]) from None
    if not isinstance(layer, keras.Model):
        raise InputError(f"transfer.backbone {name!r} is a {type(layer).__name__}, not a "
                         f"nested model")
    return layer


def freeze(model: keras.Model, backbone: str) -> keras.Model:
    """Phase 1 (feature extraction): the backbone learns nothing, the head everything."""
    backbone_of(model, backbone).trainable = False
    return model


def unfreeze(model: keras.Model, backbone: str, from_layer: str | None = None) -> keras.Model:
    """Phase 2 (fine-tuning): backbone layers from ``from_layer`` on learn (None: all of
    them); the layers before it and every batch normalisation stay frozen."""
    base = backbone_of(model, backbone)
    names = [l.name for l in base.layers]
    if from_layer is not None and from_layer not in names:
        raise unknown_name(f"transfer.unfreeze_from layer of {backbone!r}", from_layer, names)
    base.trainable = True  # recursive: sets every sublayer, batch norm too
    start = 0 if from_layer is None else names.index(from_layer)
    for i, layer in enumerate(base.layers):
        if i < start or isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    return model


def trainable_count(model: keras.Model) -> int:
    """Number of trainable weights (scalars)."""
    return int(sum(w.shape.num_elements() for w in model.trainable_weights))


def unfreeze_all(model: Any) -> None:
    """``TrainSpec.unfreeze``: every layer of ``model`` (of a distiller, its student) made
    trainable, nested models included; each batch norm keeps the trainable flag it had (a
    frozen one stays in inference mode)."""
    target = getattr(model, "student", model)
    norms = [(layer, layer.trainable) for layer in _every_layer(target)
             if type(layer).__name__ == "BatchNormalization"]
    target.trainable = True
    for layer in _every_layer(target):  # Keras 3's setter does not reach a nested model's
        layer.trainable = True          # layers; batch norms too, put back below
    for layer, trainable in norms:
        layer.trainable = trainable


def _every_layer(model: Any) -> list[Any]:
    out = []
    for layer in getattr(model, "layers", ()):
        out.append(layer)
        out.extend(_every_layer(layer))
    return out
