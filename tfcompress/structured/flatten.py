"""A nested model (a transfer model's backbone, a Sequential inside a functional model) made
flat: the same layers, called in one functional graph, so that the channel analysis can follow
channels through the backbone and the rebuild can shrink it.

The flat model reuses the layer objects (and so the weights) of the original; ``rebuild``
then copies them into new layers. Each nested model is replaced by its layers, called with the
arguments they had inside it; a backbone called with ``training=False`` (the transfer-learning
idiom that keeps batch norms in inference mode while the top blocks train) passes
``training=False`` on to the batch norm and dropout layers inside it.
"""

from __future__ import annotations

from typing import Any

from tfcompress import flavor
from tfcompress.errors import InputError
from tfcompress.structured.graph import _tensors, is_model, kind, operations
from tfcompress.structured.layers import op_arguments


def nested(model: Any) -> list[str]:
    """Names of the models nested (at any depth) in ``model``."""
    return [op.name for op, _ in operations(model) if is_model(op)]


def flatten(model: Any) -> Any:
    """``model`` itself when nothing is nested in it, else a functional model of the same Keras
    with the nested models' layers inlined, computing the same outputs.

    Raises:
      InputError: when two inlined layers would share a name.
    """
    if not nested(model):
        return model
    names = list(_layers(model).values())
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(f"the nested models of {model.name} and the model share layer names "
                         f"{twice}; rename them to prune inside")
    values: dict[int, Any] = {id(t): t for t in model.inputs}
    _replay(model, values, None)
    outs = [values[id(t)] for t in model.outputs]
    k = flavor.module(model)
    return k.Model(model.inputs, outs if len(outs) > 1 else outs[0], name=model.name)


def _layers(model: Any) -> dict[int, str]:
    """The layers the flat model will have (each once, by identity) and their names."""
    found: dict[int, str] = {}
    for op, _ in operations(model):
        if is_model(op):
            found.update(_layers(op))
        elif kind(op) != "InputLayer":
            found[id(op)] = op.name
    return found


def _fill(args: Any, values: dict[int, Any]) -> Any:
    if isinstance(args, (list, tuple)):
        return type(args)(_fill(a, values) for a in args)
    if isinstance(args, dict):
        return {k: _fill(v, values) for k, v in args.items()}
    return values[id(args)] if hasattr(args, "_keras_history") else args


#: layers whose behaviour a ``training`` argument decides
_TRAINING = ("BatchNormalization", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
             "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout")


def _replay(model: Any, values: dict[int, Any], training: bool | None) -> None:
    """Calls every layer of ``model`` on the tensors in ``values`` (keyed by the id of the
    original tensor), nested models layer by layer; adds the results to ``values``.
    ``training``: what the enclosing call of ``model`` fixed (None: nothing)."""
    for op, nodes in operations(model):
        if kind(op) == "InputLayer":
            continue
        for node in nodes:
            args, kwargs = op_arguments(node)
            if training is not None and (is_model(op) or kind(op) in _TRAINING):
                kwargs.setdefault("training", training)
                kwargs["training"] = training if kwargs["training"] is None \
                    else kwargs["training"]
            if is_model(op):
                inner = op._functional if hasattr(op, "_functional") else op
                ins = [t for t in _flat(_fill(args, values)) if hasattr(t, "_keras_history")]
                for src, dst in zip(inner.inputs, ins):
                    values[id(src)] = dst
                _replay(op, values, kwargs.get("training"))
                new = [values[id(t)] for t in inner.outputs]
            else:
                new = _flat(op(*_fill(args, values), **_fill(kwargs, values)))
            for src, dst in zip(_tensors(node, "out"), new):
                values[id(src)] = dst


def _flat(x: Any) -> list[Any]:
    if isinstance(x, (list, tuple)):
        return [y for item in x for y in _flat(item)]
    if isinstance(x, dict):
        return [y for item in x.values() for y in _flat(item)]
    return [x]
