"""Building the smaller model: from a model, its channel analysis and the channels to keep
per group, a new dense Keras model with fewer filters / units and the sliced weights."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np

from tfcompress.structured.graph import PRODUCERS, Analysis, Layout, kind, operations


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


def rebuild(model: Any, a: Analysis, keep: Mapping[int, np.ndarray]) -> Any:
    """A new model of the same Keras and class (functional or Sequential) with only the kept
    channels of each group, weights copied and sliced.

    Args:
      keep: group (root id) -> sorted channel indices to keep; groups not listed stay whole.
    """
    for g in keep:
        if a.groups[a.root(g)].frozen:
            raise ValueError(f"group {g} is frozen: {a.groups[a.root(g)].frozen}")
    config = copy.deepcopy(model.get_config())
    out_idx: dict[str, np.ndarray] = {}
    for layer, _ in operations(model):
        if kind(layer) in PRODUCERS and layer.name in a.outputs:
            seg = a.outputs[layer.name].segments[0]
            out_idx[layer.name] = _keep_of(a, keep, seg.group, seg.size)
    for lc in config["layers"]:
        lc.pop("build_config", None)  # Keras 3: each layer is built again by its call
        name = lc["config"]["name"]
        if name in out_idx:
            key = "filters" if "filters" in lc["config"] else "units"
            lc["config"][key] = int(len(out_idx[name]))
    new = type(model).from_config(config)
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        target = new.get_layer(layer.name)
        ins = a.inputs.get(layer.name)
        in_idx = indices(a, ins[0], keep) if ins else None
        k = kind(layer)
        if k == "DepthwiseConv2D":
            sliced = [weights[0][:, :, in_idx, :], *[w[in_idx] for w in weights[1:]]]
        elif k == "Conv2D":
            o = out_idx[layer.name]
            sliced = [weights[0][:, :, in_idx, :][..., o], *[w[o] for w in weights[1:]]]
        elif k == "Dense":
            o = out_idx[layer.name]
            sliced = [weights[0][in_idx][:, o], *[w[o] for w in weights[1:]]]
        elif k == "BatchNormalization":
            sliced = [w[in_idx] for w in weights]
        else:  # a layer on frozen channels (the analysis froze whatever it did not know)
            sliced = weights
        target.set_weights(sliced)
    return new


def zero_channels(model: Any, a: Analysis, drop: Mapping[int, np.ndarray]) -> None:
    """Sets every weight that feeds dropped channels to zero (producers' filters and biases,
    batch norm gamma and beta, depthwise slices): the channels then carry exact zeros, so
    removing them must not change the model's outputs (the rebuild's correctness test)."""
    for g, chans in drop.items():
        grp = a.groups[a.root(g)]
        for name in grp.producers:
            layer = model.get_layer(name)
            ws = layer.get_weights()
            ws[0][..., chans] = 0
            for w in ws[1:]:
                w[chans] = 0
            layer.set_weights(ws)
        for name in grp.channelwise:
            layer = model.get_layer(name)
            ws = layer.get_weights()
            lay = a.inputs[name][0]
            offset, pos = 0, None
            for s in lay.segments:
                if a.root(s.group) == a.root(g):
                    pos = offset + np.asarray(chans)
                offset += s.size
            if kind(layer) == "DepthwiseConv2D":
                ws[0][:, :, pos, :] = 0
                for w in ws[1:]:
                    w[pos] = 0
            else:  # batch norm: gamma and beta to zero, statistics left
                ws[0][pos] = 0
                ws[1][pos] = 0
            layer.set_weights(ws)
