"""Building the smaller model: from a model, its channel analysis and the channels to keep
per group, a new dense Keras model with fewer filters / units and the sliced weights."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np

from tfcompress import flavor
from tfcompress.errors import InputError
from tfcompress.structured import layers as L
from tfcompress.structured.graph import Analysis, Layout, input_shape, kind, operations


def _keep_of(a: Analysis, keep: Mapping[int, np.ndarray], group: int, size: int) -> np.ndarray:
    return np.asarray(keep.get(a.root(group), np.arange(size)), dtype=np.int64)


def indices(a: Analysis, layout: Layout, keep: Mapping[int, np.ndarray]) -> np.ndarray:
    """Positions of the kept channels in a tensor laid out as ``layout`` (Flatten: channels
    are the fastest-moving index of each spatial position)."""
    parts, offset = [], 0
    for s in layout.segments:
        parts.append(offset + _keep_of(a, keep, s.group, s.size))
        offset += s.size
    one = np.concatenate(parts) if parts else np.arange(0)
    if layout.repeat == 1:
        return one
    return np.concatenate([p * offset + one for p in range(layout.repeat)])


def removed_values(a: Analysis, layout: Layout, keep: Mapping[int, np.ndarray]) -> np.ndarray:
    """Per input position of a consumer: the constant a removed channel carries there (0 for
    kept channels). The analysis froze every group whose removed channels carry no constant."""
    one = np.concatenate([np.full(s.size, s.value or 0.0) for s in layout.segments])
    out = np.tile(one, layout.repeat)
    out[indices(a, layout, keep)] = 0.0
    return out


def _producer_weights(layer: Any, weights: list[np.ndarray], in_idx: np.ndarray | None,
                      out: np.ndarray, const: np.ndarray | None) -> list[np.ndarray]:
    """A producer's kernel (and bias) with only the kept input and output channels; removed
    inputs that carry a constant are added to the bias first."""
    k = kind(layer)
    if k in L.SEPARABLE:
        depthwise, pointwise, *rest = weights
        if in_idx is not None:
            dm = depthwise.shape[-1]
            depthwise = depthwise[..., in_idx, :]
            pointwise = pointwise[..., (in_idx[:, None] * dm + np.arange(dm)).ravel(), :]
        return [depthwise, pointwise[..., out], *[w[out] for w in rest]]
    kernel, *rest = weights
    i_ax, o_ax = L.kernel_axes(k)
    if const is not None and const.any() and rest:  # only consumers that absorb exactly
        summed = kernel.reshape(-1, kernel.shape[-2], kernel.shape[-1]).sum(axis=0)
        rest[0] = rest[0] + (const @ summed).astype(rest[0].dtype)
    if in_idx is not None and int(getattr(layer, "groups", 1) or 1) == 1:
        kernel = np.take(kernel, in_idx, axis=i_ax)
    return [np.take(kernel, out, axis=o_ax), *[w[out] for w in rest]]


def _sliced(layer: Any, weights: list[np.ndarray], in_idx: np.ndarray | None,
            out: np.ndarray | None, const: np.ndarray | None) -> list[np.ndarray]:
    k = kind(layer)
    if out is not None:
        return _producer_weights(layer, weights, in_idx, out, const)
    if in_idx is None:
        return weights
    if k in L.DEPTHWISE:
        return [weights[0][..., in_idx, :], *[w[in_idx] for w in weights[1:]]]
    if k in L.SCALED:
        width = int(input_shape(layer)[-1])
        return [w[..., in_idx] if w.ndim and w.shape[-1] == width else w for w in weights]
    return weights  # a layer on frozen channels (the analysis froze whatever it did not know)


def check_keep(a: Analysis, keep: Mapping[int, np.ndarray]) -> None:
    """Refuses, in one line, a keep set the model cannot be rebuilt with: a frozen group, an
    index out of range or repeated, a group left empty, or a grouped convolution's group
    (``Group.split``) keeping unequal counts in its parts (Keras: "filters must be divisible
    by groups"; ``criteria.select(..., split=)`` keeps them equal)."""
    for g, kept in keep.items():
        grp = a.groups[a.root(g)]
        kept = np.asarray(kept)
        where = f"channel group {g} ({', '.join(grp.producers) or 'no producer'})"
        if grp.frozen:
            raise ValueError(f"{where} is frozen: {grp.frozen}")
        if kept.size == 0:
            raise InputError(f"{where}: keeps no channel; every group keeps at least one")
        if (kept.ndim != 1 or kept.min() < 0 or kept.max() >= grp.size
                or len(np.unique(kept)) != kept.size):
            raise InputError(f"{where}: keep must be distinct channel indices in "
                             f"[0, {grp.size}); received {kept.tolist()}")
        if grp.split > 1:
            counts = np.bincount(kept // (grp.size // grp.split), minlength=grp.split)
            if len(set(counts.tolist())) > 1:
                raise InputError(
                    f"{where}: its {grp.size} channels feed a grouped convolution of "
                    f"{grp.split} groups, which must keep equally many each; kept "
                    f"{counts.tolist()} (select with split={{group: {grp.split}}})")


def rebuild(model: Any, a: Analysis, keep: Mapping[int, np.ndarray]) -> Any:
    """A new model of the same Keras and class (functional or Sequential) with only the kept
    channels of each group, weights copied and sliced.

    Args:
      keep: group (root id) -> sorted channel indices to keep; groups not listed stay whole.
    """
    check_keep(a, keep)
    out_idx: dict[str, np.ndarray] = {}
    changes: dict[str, dict[str, Any]] = {}  # layer -> config entries that hold its width
    for layer, _ in operations(model):
        k = kind(layer)
        if k in L.PRODUCERS and layer.name in a.inputs:
            seg = a.outputs[layer.name].segments[0]
            out_idx[layer.name] = _keep_of(a, keep, seg.group, seg.size)
            changes[layer.name] = {"units" if k == "Dense" else "filters":
                                   int(len(out_idx[layer.name]))}
        elif k in ("LayerScale", "Reshape") and layer.name in a.inputs:
            width = int(len(indices(a, a.inputs[layer.name][0], keep)))
            changes[layer.name] = {"projection_dim": width} if k == "LayerScale" else \
                {"target_shape": [*layer.get_config()["target_shape"][:-1], width]}
    new = _remade(model, changes)
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        ins = a.inputs.get(layer.name)
        in_idx = indices(a, ins[0], keep) if ins else None
        const = removed_values(a, ins[0], keep) if ins else None
        sliced = _sliced(layer, weights, in_idx, out_idx.get(layer.name), const)
        new.get_layer(layer.name).set_weights(sliced)
    return new


def _remade(model: Any, changes: dict[str, dict[str, Any]]) -> Any:
    """A new, untrained model of the same Keras and class with the ``changes`` made to its
    layers' configs. tf_keras: through the model's config. Keras 3: by cloning, which calls
    its ``keras.ops`` operations again (rebuilding them from the config fails for ``x + 3.0``
    in Keras 3.15: "Only input tensors may be passed as positional arguments")."""
    if flavor.which(model) == flavor.KERAS3:
        from tfcompress._keras3 import keras as k3

        def remake(layer: Any) -> Any:
            return type(layer).from_config({**layer.get_config(), **changes.get(layer.name, {})})

        return k3.models.clone_model(model, clone_function=remake)
    config = copy.deepcopy(model.get_config())
    for lc in config["layers"]:
        lc.pop("build_config", None)  # each layer is built again, at its new width, by its call
        lc["config"].update(changes.get(lc["config"]["name"], {}))
    # the classes of the model's own layers (already imported: nothing is loaded from a file)
    classes = {type(op).__name__: type(op) for op, _ in operations(model)}
    return type(model).from_config(config, custom_objects=classes)


def zero_channels(model: Any, a: Analysis, drop: Mapping[int, np.ndarray]) -> None:
    """Sets every weight that feeds dropped channels to zero (producers' filters and biases,
    batch norm gamma and beta, LayerScale, depthwise slices): each such channel then carries
    what a removed one does (``Segment.value``), so removing them must not change the model's
    outputs (the rebuild's correctness test)."""
    for g, chans in drop.items():
        grp = a.groups[a.root(g)]
        for name in grp.producers:
            layer = model.get_layer(name)
            ws = layer.get_weights()
            o_ax = -1 if kind(layer) in L.SEPARABLE else L.kernel_axes(kind(layer))[1]
            k_at = 1 if kind(layer) in L.SEPARABLE else 0
            index = [slice(None)] * ws[k_at].ndim
            index[o_ax] = chans
            ws[k_at][tuple(index)] = 0
            for w in ws[k_at + 1:]:
                w[chans] = 0
            layer.set_weights(ws)
        for name in grp.channelwise:
            layer = model.get_layer(name)
            ws = layer.get_weights()
            offset, pos = 0, None
            for s in a.inputs[name][0].segments:
                if a.root(s.group) == a.root(g):
                    pos = offset + np.asarray(chans)
                offset += s.size
            k = kind(layer)
            if k in L.DEPTHWISE:
                ws[0][..., pos, :] = 0
                for w in ws[1:]:
                    w[pos] = 0
            elif k == "BatchNormalization":  # gamma and beta to zero, statistics left
                for w in ws[:int(layer.scale) + int(layer.center)]:
                    w[pos] = 0
                if not layer.scale:  # no gamma: the mean takes the input's constant
                    seg = next(s for s in a.inputs[name][0].segments
                               if a.root(s.group) == a.root(g))
                    ws[int(layer.center)][pos] = seg.value
            elif k == "LayerScale":
                ws[0][..., pos] = 0
            layer.set_weights(ws)
