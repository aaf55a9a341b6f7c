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

from tfcompress._keras import keras

L = keras.layers

#: layers whose output channel i depends only on input channel i (and that carry no weights
#: per channel unless listed in CHANNELWISE_WEIGHTS)
PASS_THROUGH = (L.BatchNormalization, L.ReLU, L.Activation, L.LeakyReLU, L.ELU, L.PReLU,
                L.Dropout, L.SpatialDropout2D, L.GaussianNoise, L.MaxPooling2D,
                L.AveragePooling2D, L.GlobalAveragePooling2D, L.GlobalMaxPooling2D,
                L.ZeroPadding2D, L.Cropping2D, L.UpSampling2D, L.Rescaling)
ELEMENTWISE = (L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum, L.Minimum)


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

    def refuse(self, layer: L.Layer, ins: list[Layout], why: str) -> Layout:
        self.unsupported.append({"name": layer.name, "type": type(layer).__name__, "why": why})
        for lay in ins:
            self.freeze(lay, f"{layer.name} ({type(layer).__name__})")
        return self.new(_channels(layer), frozen=f"output of {layer.name}")


def _channels(layer: L.Layer) -> int:
    shape = layer.output_shape
    if isinstance(shape, list):
        shape = shape[0]
    return int(shape[-1]) if shape and shape[-1] is not None else 0


def _inbound(layer: L.Layer) -> list[L.Layer]:
    node = layer._inbound_nodes[0]
    found = node.inbound_layers
    return list(found) if isinstance(found, (list, tuple)) else [found]


def analyse(model: keras.Model) -> Analysis:
    """The channel groups of ``model`` (a functional or Sequential model)."""
    b = _Builder()
    if not getattr(model, "_is_graph_network", False):
        raise ValueError("structured pruning needs a functional or Sequential Keras model")
    for layer in model.layers:
        name = layer.name
        if isinstance(layer, L.InputLayer):
            b.outputs[name] = b.new(_channels(layer), frozen="model input")
            continue
        if len(layer._inbound_nodes) != 1:
            ins = [b.outputs[l.name] for l in _inbound(layer)]
            b.outputs[name] = b.refuse(layer, ins, "shared layer (called more than once)")
            continue
        ins = [b.outputs[l.name] for l in _inbound(layer)]
        b.inputs[name] = ins
        b.outputs[name] = _propagate(b, layer, ins)
    for out in model.outputs:
        b.freeze(b.outputs[out._keras_history.layer.name], "model output")
    groups = {b.root(g): grp for g, grp in b.groups.items()}
    return Analysis(groups, b.inputs, b.outputs, b.unsupported, dict(b.parent))


def _propagate(b: _Builder, layer: L.Layer, ins: list[Layout]) -> Layout:
    name = layer.name
    if isinstance(layer, keras.Model):
        return b.refuse(layer, ins, "nested model: pass its layers in a flat functional model")
    if isinstance(layer, L.DepthwiseConv2D):
        if layer.depth_multiplier != 1:
            return b.refuse(layer, ins, "depth_multiplier != 1 changes the channel count")
        for s in ins[0].segments:
            b.groups[b.root(s.group)].channelwise.append(name)
        return ins[0]
    if isinstance(layer, (L.Conv2D, L.Dense)):
        if isinstance(layer, L.Conv2D) and (getattr(layer, "groups", 1) != 1
                                            or layer.data_format != "channels_last"):
            return b.refuse(layer, ins, "grouped or channels_first convolution")
        return b.new(_channels(layer), producer=name)
    if isinstance(layer, PASS_THROUGH):
        if isinstance(layer, L.BatchNormalization):
            if layer.axis not in ([-1], [3], -1, [len(layer.input_shape) - 1]):
                return b.refuse(layer, ins, "batch norm over an axis other than channels")
            for s in ins[0].segments:
                b.groups[b.root(s.group)].channelwise.append(name)
        if isinstance(layer, L.PReLU):
            return b.refuse(layer, ins, "PReLU has per-position weights")
        return ins[0]
    if isinstance(layer, L.Softmax):
        b.freeze(ins[0], f"{name} (softmax couples channels)")
        return ins[0]
    if isinstance(layer, ELEMENTWISE):
        first = ins[0]
        if not all(len(l.segments) == len(first.segments) and l.repeat == first.repeat and
                   all(a.size == c.size for a, c in zip(l.segments, first.segments))
                   for l in ins):
            return b.refuse(layer, ins, "element-wise merge of differently laid out channels")
        for other in ins[1:]:
            for a, c in zip(first.segments, other.segments):
                b.union(a.group, c.group)
        return first
    if isinstance(layer, L.Concatenate):
        if layer.axis not in (-1, len(layer.output_shape) - 1):
            return b.refuse(layer, ins, "concatenation along an axis other than channels")
        if any(l.repeat != 1 for l in ins):
            return b.refuse(layer, ins, "concatenation of flattened tensors")
        return Layout([s for l in ins for s in l.segments])
    if isinstance(layer, L.Flatten):
        spatial = int(np.prod(layer.input_shape[1:-1])) if len(layer.input_shape) > 2 else 1
        return Layout(ins[0].segments, ins[0].repeat * spatial)
    return b.refuse(layer, ins, "layer type not understood by the channel analysis")


def describe(a: Analysis) -> list[dict[str, Any]]:
    """One line per group: size, producers, whether tied (residual) and why frozen."""
    return [{"group": g, "size": grp.size, "producers": grp.producers, "tied": grp.tied,
             "frozen": sorted(set(grp.frozen))} for g, grp in a.groups.items()]
