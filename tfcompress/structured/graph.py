"""Channel dependencies of a Keras functional model: which channels must go together.

Every producer's output (Conv1D/2D/3D, their transposes, SeparableConv, Dense; and the model
input) starts a *group* of channels. Channel-wise layers (batch norm, depthwise convolution,
LayerScale, activations, pooling, padding, dropout, a one-tensor op such as ``x + 3``, a
``Reshape`` that only adds or drops size-1 axes) pass a group on; element-wise merges (Add,
Multiply, ...) tie the groups of their inputs into one (a residual stream, a squeeze-excite
gate and the features it scales); Concatenate lays groups side by side; Flatten repeats the
channel layout once per spatial position. Removing channel ``c`` of a group removes output
filter ``c`` of each producer, slice ``c`` of each channel-wise layer, and the matching input
rows of each consumer. A grouped convolution's output group keeps the same number of channels
in each of its convolution groups (``Group.split``).

A removed channel is a filter whose weights were all zero: it carries the value that zero takes
through the layers after it (0 after a ReLU, 0.5 after a sigmoid). The analysis follows that
value (``Segment.value``); where it is not 0 at a consumer, the rebuild adds it to the
consumer's bias, which is exact for a Dense and for a 1x1 or ``valid`` convolution. Elsewhere
(a ``same``-padded 3x3 convolution, a zero padding) the group is frozen.

Groups that reach the model input or output, a layer that couples channels (layer norm or
softmax over channels) or a layer this analysis does not understand are *frozen*: left whole.
Each layer that freezes channels is reported with its name, type and why
(``Analysis.unsupported``), never crashed on. A nested model is analysed through
``flatten``, which inlines its layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tfcompress import flavor
from tfcompress.structured import layers as L
from tfcompress.structured.layers import PRODUCERS, kind  # noqa: F401 (re-exported)


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
    # tf_keras nodes have an ``input_tensors`` too, but it holds only the first argument
    found = getattr(node, k3) if hasattr(node, "arguments") else getattr(node, k2)
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
    #: what a removed channel of this group carries here (None: not one known constant)
    value: float | None = 0.0


@dataclass
class Layout:
    """The channels of a tensor: segments of groups, repeated ``repeat`` times (Flatten)."""

    segments: list[Segment]
    repeat: int = 1

    @property
    def channels(self) -> int:
        return sum(s.size for s in self.segments)

    def valued(self, values: list[float | None]) -> Layout:
        return Layout([Segment(s.group, s.size, v) for s, v in zip(self.segments, values)],
                      self.repeat)


@dataclass
class Group:
    size: int
    producers: list[str] = field(default_factory=list)
    channelwise: list[str] = field(default_factory=list)  # BN, depthwise: sliced by channel
    frozen: list[str] = field(default_factory=list)  # why it cannot be pruned
    tied: bool = False  # merged through an element-wise layer (e.g. a residual Add)
    split: int = 1  # a grouped convolution's groups: keep as many channels in each


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
        self.final: set[str] = set()  # the layers that make the model's outputs

    def new(self, size: int, producer: str | None = None, frozen: str | None = None,
            split: int = 1) -> Layout:
        g = len(self.parent)
        self.parent[g] = g
        self.groups[g] = Group(size, [producer] if producer else [], [],
                               [frozen] if frozen else [], split=split)
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
        gb.split = math.lcm(gb.split, ga.split)
        gb.tied = True
        self.parent[rb] = ra

    def freeze(self, layout: Layout, why: str) -> None:
        for s in layout.segments:
            self.groups[self.root(s.group)].frozen.append(why)

    def report(self, layer: Any, why: str) -> None:
        if layer.name not in self.final:  # a model output is left whole anyway
            self.unsupported.append({"name": layer.name, "type": type(layer).__name__,
                                     "why": why})

    def refuse(self, layer: Any, ins: list[Layout], why: str) -> Layout:
        self.report(layer, why)
        for lay in ins:
            self.freeze(lay, f"{layer.name} ({type(layer).__name__})")
        return self.new(_channels(layer), frozen=f"output of {layer.name}")

    def channelwise(self, layer: Any, lay: Layout) -> None:
        for s in lay.segments:
            self.groups[self.root(s.group)].channelwise.append(layer.name)

    def consume(self, layer: Any, lay: Layout) -> None:
        """A producer reads ``lay``: removed channels must carry 0 there, or a constant the
        layer's bias can take exactly; otherwise their groups are frozen."""
        for s in lay.segments:
            if s.value == 0 or (s.value is not None and L.absorbs_constant(layer)):
                continue
            what = "no constant" if s.value is None else f"{s.value:g}"
            why = (f"{layer.name} ({type(layer).__name__}): a removed channel would carry "
                   f"{what} here, which its bias cannot take exactly")
            self.groups[self.root(s.group)].frozen.append(why)


def _channels(layer: Any) -> int:
    shape = output_shape(layer)
    return int(shape[-1]) if shape and shape[-1] is not None else 0


def is_model(layer: Any) -> bool:
    return isinstance(layer, flavor.module(layer).Model)


def analyse(model: Any) -> Analysis:
    """The channel groups of ``model`` (a functional or Sequential model, tf_keras or Keras 3;
    a nested model is frozen whole: ``flatten`` the model first to prune inside it)."""
    b = _Builder()
    b.final = {t._keras_history[0].name for t in model.outputs}
    shared: list[tuple[Any, list[Any]]] = []
    for layer, nodes in operations(model):
        name = layer.name
        if kind(layer) == "InputLayer":
            b.outputs[name] = b.new(_channels(layer), frozen="model input")
            continue
        ins = [b.outputs[l.name] for l in inbound(nodes[0])]
        if len(nodes) != 1:  # the inputs of its later calls are frozen below
            shared.append((layer, nodes))
            b.outputs[name] = b.refuse(layer, ins, "shared layer (called more than once)")
            continue
        b.inputs[name] = ins
        try:
            b.outputs[name] = _propagate(b, layer, nodes[0], ins)
        except Exception as e:  # noqa: BLE001 (a layer that breaks a rule is left whole, named)
            b.outputs[name] = b.refuse(layer, ins, f"not analysable ({type(e).__name__}: {e})")
    for layer, nodes in shared:
        for node in nodes[1:]:
            for lay in (b.outputs[l.name] for l in inbound(node)):
                b.freeze(lay, f"{layer.name} ({type(layer).__name__}), shared")
    for out in model.outputs:
        b.freeze(b.outputs[out._keras_history[0].name], "model output")
    groups = {b.root(g): grp for g, grp in b.groups.items()}
    return Analysis(groups, b.inputs, b.outputs, b.unsupported, dict(b.parent))


def _axis(value: Any) -> int:
    """A layer's ``axis`` (an int or a one-element list) as one int."""
    return int(value[0] if isinstance(value, (list, tuple)) else value)


def _last_axis(layer: Any, axis: Any) -> bool:
    """Whether ``axis`` (an int or a list of one) is the channel axis of ``layer``'s input."""
    if axis is None or (isinstance(axis, (list, tuple)) and len(axis) != 1):
        return False
    return _axis(axis) in (-1, len(input_shape(layer)) - 1)


def _propagate(b: _Builder, layer: Any, node: Any, ins: list[Layout]) -> Layout:
    k = kind(layer)
    if is_model(layer):
        return b.refuse(layer, ins, "nested model (structured pruning flattens it first)")
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        return b.refuse(layer, ins, "channels_first layout")
    if k in L.PRODUCERS:
        return _producer(b, layer, ins[0])
    if k in L.DEPTHWISE:
        if layer.depth_multiplier != 1:
            return b.refuse(layer, ins, "depth_multiplier != 1 changes the channel count")
        b.channelwise(layer, ins[0])
        return _after(b, layer, ins[0].valued([0.0] * len(ins[0].segments)))
    if k in L.SCALED:
        return _scaled(b, layer, ins[0])
    if k in L.PASS_THROUGH:
        return ins[0]
    if k in L.PADDING:
        return ins[0].valued([0.0 if s.value == 0 else None for s in ins[0].segments])
    if k in L.ACTIVATIONS and not L.couples_channels(layer):
        return ins[0].valued([L.through(layer, s.value) for s in ins[0].segments])
    if L.couples_channels(layer):
        if k in L.COUPLING and not _last_axis(layer, getattr(layer, "axis", -1)):
            return b.refuse(layer, ins, "normalises over an axis other than channels")
        b.report(layer, "mixes channels (every output channel depends on all of them)")
        b.freeze(ins[0], f"{layer.name} ({type(layer).__name__}) mixes channels")
        return ins[0]
    if k in L.ELEMENTWISE:
        return _merge(b, layer, k, ins)
    if k == "CustomScaleLayer" and len(ins) == 2:  # Inception-ResNet's ``x + r * scale``
        return _merge(b, layer, k, ins)
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
    if k == "Reshape":
        return _reshape(b, layer, ins)
    if k == "TFOpLambda" or k.startswith("op:"):
        return _operation(b, layer, node, ins)
    return b.refuse(layer, ins, "layer type not understood by the channel analysis")


def _producer(b: _Builder, layer: Any, lay: Layout) -> Layout:
    """A layer that makes new channels from ``lay``; its own activation is followed."""
    groups = int(getattr(layer, "groups", 1) or 1)
    if groups != 1:  # input channels are split among the groups: left whole
        b.freeze(lay, f"input of grouped convolution {layer.name}")
    else:  # SeparableConv's depth multiplier m: input c feeds pointwise rows c*m .. c*m+m-1
        b.consume(layer, lay)
    return _after(b, layer, b.new(_channels(layer), producer=layer.name, split=groups))


def _after(b: _Builder, layer: Any, out: Layout) -> Layout:
    """``out`` after ``layer``'s own ``activation`` (producers and depthwise convolutions)."""
    if "activation" not in layer.get_config() or kind(layer) == "Activation":
        return out
    fn = layer.get_config()["activation"]
    fn = fn.get("config") if isinstance(fn, dict) else fn
    if fn == "linear":
        return out
    if fn not in L.CHANNELWISE_FUNCTIONS:
        b.report(layer, f"activation {fn!r} is not known to act channel by channel")
        b.freeze(out, f"{layer.name} activation {fn!r}")
        return out
    return out.valued([L.through(layer.activation, s.value) for s in out.segments])


def _scaled(b: _Builder, layer: Any, lay: Layout) -> Layout:
    """Batch norm, LayerScale, Normalization, PReLU: one weight per channel, sliced with it."""
    k = kind(layer)
    if k in ("BatchNormalization", "Normalization") and not _last_axis(layer, layer.axis):
        return b.refuse(layer, [lay], f"{k} over an axis other than channels")
    if k == "PReLU" and any(int(d) != 1 for d in layer.get_weights()[0].shape[:-1]):
        return b.refuse(layer, [lay], "PReLU has per-position weights (set shared_axes)")
    b.channelwise(layer, lay)
    if k == "BatchNormalization":  # zeroed: gamma (and beta), or without gamma the mean set
        return lay.valued([0.0 if layer.scale or s.value is not None else None  # to the input
                           for s in lay.segments])
    if k == "LayerScale":
        return lay.valued([0.0] * len(lay.segments))
    if k == "PReLU":
        return lay.valued([s.value if s.value is not None and s.value >= 0 else None
                           for s in lay.segments])
    return lay.valued([None] * len(lay.segments))  # a per-channel shift: not one constant


def _merge(b: _Builder, layer: Any, k: str, ins: list[Layout]) -> Layout:
    first = ins[0]
    if not all(len(l.segments) == len(first.segments) and l.repeat == first.repeat and
               all(a.size == c.size for a, c in zip(l.segments, first.segments))
               for l in ins):
        return b.refuse(layer, ins, "element-wise merge of differently laid out channels")
    for other in ins[1:]:
        for a, c in zip(first.segments, other.segments):
            b.union(a.group, c.group)
    scale = float(getattr(layer, "scale", 1.0)) if k == "CustomScaleLayer" else 1.0
    return first.valued([L.merge(k, [l.segments[i].value for l in ins], scale)
                         for i in range(len(first.segments))])


def _reshape(b: _Builder, layer: Any, ins: list[Layout]) -> Layout:
    """A reshape that keeps the channel axis last and only adds or drops size-1 axes (the
    squeeze-excite ``Reshape((1, 1, C))``) passes channels on; any other is refused."""
    before, after = input_shape(layer)[1:], output_shape(layer)[1:]
    if before and after and before[-1] == after[-1] and \
            all(d == 1 for d in (*before[:-1], *after[:-1])):
        return ins[0]
    return b.refuse(layer, ins, "reshape that moves channels")


def _operation(b: _Builder, layer: Any, node: Any, ins: list[Layout]) -> Layout:
    """A call of a TensorFlow function (tf_keras ``TFOpLambda``) or a Keras 3 op: one tensor
    and constants that keep its shape (``x + 3``) act channel by channel; two tensors added,
    multiplied, ... are an element-wise merge."""
    args, kwargs = L.op_arguments(node)
    tensors = [x for x in (*args, *kwargs.values()) if L.is_tensor(x)]
    scalars = all(L.is_tensor(x) or x is None or isinstance(x, (int, float, str))
                  for x in (*args, *kwargs.values()))
    same = input_shape(layer)[1:] == output_shape(layer)[1:]
    name = L.op_name(layer)
    if len(ins) == 1 and len(tensors) == 1 and scalars and same and name in L.ELEMENTWISE_OPS:
        return ins[0].valued([L.op_on_constant(layer, node, s.value) for s in ins[0].segments])
    if len(ins) == 2 and len(tensors) == 2 and name in L.BINARY_OPS:
        return _merge(b, layer, L.BINARY_OPS[name], ins)
    return b.refuse(layer, ins, f"operation {name!r} not known to act channel by channel")


def describe(a: Analysis) -> list[dict[str, Any]]:
    """One line per group: size, producers, whether tied (residual) and why frozen."""
    return [{"group": g, "size": grp.size, "producers": grp.producers, "tied": grp.tied,
             "frozen": sorted(set(grp.frozen))} for g, grp in a.groups.items()]
