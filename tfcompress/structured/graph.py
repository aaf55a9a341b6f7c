"""Channel dependencies of a Keras functional model: which channels must go together.

Every Conv2D / Dense output (and the model input) starts a *group* of channels. Layers that act
channel by channel (BatchNormalization, DepthwiseConv2D with multiplier 1, activations, pooling,
padding, dropout) pass a group on; element-wise merges (Add, Subtract, Multiply, Average,
Maximum, Minimum) tie the groups of their inputs into one (a residual stream is one group);
Concatenate lays groups side by side; Flatten repeats the channel layout once per spatial
position, so a Dense after it sees every channel H*W times. Removing channel ``c`` of a group
removes output filter ``c`` of each producer, slice ``c`` of each channel-wise layer, and the
matching input rows of each consumer.

Groups that reach the model input or output, or a layer this analysis does not understand
(Reshape, Lambda, a nested model, a grouped convolution, ...), are *frozen*: left whole. Each
such layer is reported with its name, type and why (``Analysis.unsupported``), never crashed on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tfcompress import flavor

#: layers (by class name, the same in tf_keras and Keras 3: a subclass such as Conv2DTranspose
#: is not a Conv2D here) whose output channel i depends only on input channel i (and that
#: carry no weights per channel except BatchNormalization and PReLU)
PASS_THROUGH = frozenset({
    "BatchNormalization", "ReLU", "Activation", "LeakyReLU", "ELU", "PReLU", "Dropout",
    "SpatialDropout2D", "GaussianNoise", "MaxPooling2D", "AveragePooling2D",
    "GlobalAveragePooling2D", "GlobalMaxPooling2D", "ZeroPadding2D", "Cropping2D",
    "UpSampling2D", "Rescaling"})
ELEMENTWISE = frozenset({"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"})
#: layers that make new channels (a group each); DepthwiseConv2D is channel-wise
PRODUCERS = frozenset({"Conv2D", "Dense"})


def kind(layer: Any) -> str:
    """The class name the analysis dispatches on; Keras 3 operations that are not layers
    (``keras.ops.add`` in a functional graph) are ``op:<name>`` so they never pass for layers."""
    name = type(layer).__name__
    if flavor.which(layer) == flavor.KERAS3:
        from tfcompress._keras3 import keras as k3

        if not isinstance(layer, k3.layers.Layer):
            return f"op:{name}"
    return name


def operations(model: Any) -> list[tuple[Any, list[Any]]]:
    """The layers (Keras 3: and operations) of a functional or Sequential model in call order,
    input layers included (tf_keras and Keras 3 Sequential hide theirs from ``layers``), each
    with its calls (nodes) inside this model's graph."""
    if flavor.which(model) == flavor.KERAS3:
        inner = getattr(model, "_functional", None) or model
        if not model.built or not hasattr(inner, "_nodes_by_depth"):
            raise ValueError("structured pruning needs a built functional or Sequential "
                             "Keras model")
        ops, keys = list(inner.operations), inner._nodes
        key = lambda op, i: f"{id(op)}_ib-{i}"  # noqa: E731 (Keras 3's node key)
    else:
        if not getattr(model, "_is_graph_network", False):
            raise ValueError("structured pruning needs a functional or Sequential Keras model")
        inputs = [t._keras_history[0] for t in model.inputs]
        ops = [l for l in inputs if l not in model.layers] + list(model.layers)
        keys = model._network_nodes
        key = lambda op, i: f"{op.name}_ib-{i}"  # noqa: E731 (tf_keras's node key)
    return [(op, [n for i, n in enumerate(op._inbound_nodes) if key(op, i) in keys])
            for op in ops]


def _tensors(node: Any, side: str) -> list[Any]:
    """The input (``in``) or output (``out``) tensors of one call (node) of a layer."""
    k3, k2 = ("input_tensors", "keras_inputs") if side == "in" else ("output_tensors", "outputs")
    found = getattr(node, k3, None)  # Keras 3
    found = getattr(node, k2) if found is None else found  # tf_keras
    return list(found) if isinstance(found, (list, tuple)) else [found]


def inbound(node: Any) -> list[Any]:
    """The layers whose outputs feed one call (node) of a layer."""
    return [t._keras_history[0] for t in _tensors(node, "in")]


def output_shape(layer: Any) -> tuple:
    """The shape of ``layer``'s first output at its first call."""
    return tuple(_tensors(layer._inbound_nodes[0], "out")[0].shape)


def input_shape(layer: Any) -> tuple:
    """The shape of ``layer``'s first input at its first call."""
    return tuple(_tensors(layer._inbound_nodes[0], "in")[0].shape)


@dataclass
class Segment:
    group: int
    size: int


@dataclass
class Layout:
    """The channels of a tensor: segments of groups, repeated ``repeat`` times (Flatten)."""

    segments: list[Segment]
    repeat: int = 1

    @property
    def channels(self) -> int:
        return sum(s.size for s in self.segments)


@dataclass
class Group:
    size: int
    producers: list[str] = field(default_factory=list)
    channelwise: list[str] = field(default_factory=list)  # BN, depthwise: sliced by channel
    frozen: list[str] = field(default_factory=list)  # why it cannot be pruned
    tied: bool = False  # merged through an element-wise layer (e.g. a residual Add)


@dataclass
class Analysis:
    """The result: groups (after merging), each layer's input and output layouts."""

    groups: dict[int, Group]
    inputs: dict[str, list[Layout]]
    outputs: dict[str, Layout]
    unsupported: list[dict[str, str]]
    parent: dict[int, int]

    def root(self, g: int) -> int:
        while self.parent[g] != g:
            g = self.parent[g]
        return g

    def prunable(self) -> dict[int, Group]:
        return {g: grp for g, grp in self.groups.items() if not grp.frozen}

    def group_of(self, producer: str) -> int:
        return self.root(self.outputs[producer].segments[0].group)


class _Builder:
    def __init__(self) -> None:
        self.groups: dict[int, Group] = {}
        self.parent: dict[int, int] = {}
        self.inputs: dict[str, list[Layout]] = {}
        self.outputs: dict[str, Layout] = {}
        self.unsupported: list[dict[str, str]] = []

    def new(self, size: int, producer: str | None = None, frozen: str | None = None) -> Layout:
        g = len(self.parent)
        self.parent[g] = g
        self.groups[g] = Group(size, [producer] if producer else [], [], [frozen] if frozen else [])
        return Layout([Segment(g, size)])

    def root(self, g: int) -> int:
        while self.parent[g] != g:
            self.parent[g] = self.parent[self.parent[g]]
            g = self.parent[g]
        return g

    def union(self, a: int, b: int) -> None:
        ra, rb = self.root(a), self.root(b)
        if ra == rb:
            return
        ga, gb = self.groups.pop(rb), self.groups[ra]
        gb.producers += ga.producers
        gb.channelwise += ga.channelwise
        gb.frozen += ga.frozen
        gb.tied = True
        self.parent[rb] = ra

    def freeze(self, layout: Layout, why: str) -> None:
        for s in layout.segments:
            self.groups[self.root(s.group)].frozen.append(why)

    def refuse(self, layer: Any, ins: list[Layout], why: str) -> Layout:
        self.unsupported.append({"name": layer.name, "type": type(layer).__name__, "why": why})
        for lay in ins:
            self.freeze(lay, f"{layer.name} ({type(layer).__name__})")
        return self.new(_channels(layer), frozen=f"output of {layer.name}")


def _channels(layer: Any) -> int:
    shape = output_shape(layer)
    return int(shape[-1]) if shape and shape[-1] is not None else 0


def is_model(layer: Any) -> bool:
    return isinstance(layer, flavor.module(layer).Model)


def analyse(model: Any) -> Analysis:
    """The channel groups of ``model`` (a functional or Sequential model, tf_keras or Keras 3)."""
    b = _Builder()
    for layer, nodes in operations(model):
        name = layer.name
        if kind(layer) == "InputLayer":
            b.outputs[name] = b.new(_channels(layer), frozen="model input")
            continue
        ins = [b.outputs[l.name] for l in inbound(nodes[0])]
        if len(nodes) != 1:
            b.outputs[name] = b.refuse(layer, ins, "shared layer (called more than once)")
            continue
        b.inputs[name] = ins
        b.outputs[name] = _propagate(b, layer, ins)
    for out in model.outputs:
        b.freeze(b.outputs[out._keras_history[0].name], "model output")
    groups = {b.root(g): grp for g, grp in b.groups.items()}
    return Analysis(groups, b.inputs, b.outputs, b.unsupported, dict(b.parent))


def _axis(value: Any) -> int:
    """A layer's ``axis`` (an int or a one-element list) as one int."""
    return int(value[0] if isinstance(value, (list, tuple)) else value)


def _propagate(b: _Builder, layer: Any, ins: list[Layout]) -> Layout:
    name, k = layer.name, kind(layer)
    if is_model(layer):
        return b.refuse(layer, ins, "nested model: pass its layers in a flat functional model")
    if k == "DepthwiseConv2D":
        if layer.depth_multiplier != 1:
            return b.refuse(layer, ins, "depth_multiplier != 1 changes the channel count")
        for s in ins[0].segments:
            b.groups[b.root(s.group)].channelwise.append(name)
        return ins[0]
    if k in PRODUCERS:
        if k == "Conv2D" and (getattr(layer, "groups", 1) != 1
                              or layer.data_format != "channels_last"):
            return b.refuse(layer, ins, "grouped or channels_first convolution")
        return b.new(_channels(layer), producer=name)
    if k in PASS_THROUGH:
        if k == "BatchNormalization":
            if _axis(layer.axis) not in (-1, len(input_shape(layer)) - 1):
                return b.refuse(layer, ins, "batch norm over an axis other than channels")
            for s in ins[0].segments:
                b.groups[b.root(s.group)].channelwise.append(name)
        if k == "PReLU":
            return b.refuse(layer, ins, "PReLU has per-position weights")
        return ins[0]
    if k == "Softmax":
        b.freeze(ins[0], f"{name} (softmax couples channels)")
        return ins[0]
    if k in ELEMENTWISE:
        first = ins[0]
        if not all(len(l.segments) == len(first.segments) and l.repeat == first.repeat and
                   all(a.size == c.size for a, c in zip(l.segments, first.segments))
                   for l in ins):
            return b.refuse(layer, ins, "element-wise merge of differently laid out channels")
        for other in ins[1:]:
            for a, c in zip(first.segments, other.segments):
                b.union(a.group, c.group)
        return first
    if k == "Concatenate":
        if _axis(layer.axis) not in (-1, len(output_shape(layer)) - 1):
            return b.refuse(layer, ins, "concatenation along an axis other than channels")
        if any(l.repeat != 1 for l in ins):
            return b.refuse(layer, ins, "concatenation of flattened tensors")
        return Layout([s for l in ins for s in l.segments])
    if k == "Flatten":
        shape = input_shape(layer)
        spatial = int(np.prod(shape[1:-1])) if len(shape) > 2 else 1
        return Layout(ins[0].segments, ins[0].repeat * spatial)
    return b.refuse(layer, ins, "layer type not understood by the channel analysis")


def describe(a: Analysis) -> list[dict[str, Any]]:
    """One line per group: size, producers, whether tied (residual) and why frozen."""
    return [{"group": g, "size": grp.size, "producers": grp.producers, "tied": grp.tied,
             "frozen": sorted(set(grp.frozen))} for g, grp in a.groups.items()]
