"""``resolution``: the network sees a smaller image. MobileNet's second multiplier (Howard et
al. 2017, the *resolution multiplier* beside the width multiplier): every learned filter is
kept, and every convolution's multiply-adds fall with the square of the image side.

The model keeps its input (the file takes the same images as the dense one, and a phone app
feeds it the same way): a ``Resizing`` layer after the input scales them down to the side
chosen, and the layers after it are the trained ones, unchanged, on the smaller maps. With
``target_speedup`` the side is searched like ``filters``' removal level (``structured.speed``):
each candidate is exported in the variant's format and timed against the dense file; else it is
``1 - target_sparsity`` of the side. ``target_sparsity`` is the most of the side that may go;
``round_to`` rounds the side to a multiple. Then the model is fine-tuned at the new side (on
the labels, or distilled from the unpruned model: ``recovery``).

Why it is here (issue 28): removing whole channels from an ImageNet backbone loses features
that a small dataset cannot teach again (MobileNet on 1,800 Cats vs Dogs images lost 12-17
points at 2x, whatever the recovery); at the same speed a smaller image loses under one.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from tfcompress import flavor
from tfcompress.benchmark import macs
from tfcompress.errors import InputError
from tfcompress.prune.method import PruneMethod, speed_suffix
from tfcompress.prune.methods.structured import _recover, speed_search
from tfcompress.recipe.checks import _require
from tfcompress.structured import flatten, speed

if TYPE_CHECKING:
    from tfcompress.prune.methods.base import Job, Outcome
    from tfcompress.recipe import PruneSpec

log = logging.getLogger("tfcompress")

#: the smallest image side it makes
MIN_SIDE = 8


class Resolution(PruneMethod):
    """Owns ``target_speedup``, ``search_steps``, ``round_to`` (the side's multiple),
    ``recovery`` and ``finetune``; ``target_sparsity`` is the most of the side removed."""

    name = "resolution"
    owns = ("target_speedup", "search_steps", "round_to", "recovery", "finetune")
    scopes = ("layer",)
    zeros = False

    def validate(self, spec: PruneSpec) -> None:
        super().validate(spec)
        _require(not spec.skip, "prune.skip", "unset for method resolution (every layer stays)",
                 list(spec.skip))

    def preflight(self, model: Any, spec: PruneSpec, finetune_steps: int) -> None:
        """A model that cannot take a smaller image (one image input, and no layer whose
        weights depend on the side, e.g. ``Flatten`` before ``Dense``) is refused in one line;
        so is a speed target beyond what the smallest side gives in multiply-adds."""
        flat = flatten.flatten(model)
        side = _side(flat)
        smallest = at_side(flat, smallest_side(side, spec))
        if spec.target_speedup is not None:
            speed.bound(macs.count(flat)["macs"], macs.count(smallest)["macs"],
                        spec.target_speedup, spec.target_sparsity)

    def step_name(self, spec: PruneSpec) -> str:
        return f"{self.name}{round(spec.target_sparsity * 100)}" + speed_suffix(spec)

    def label(self, prune: PruneSpec) -> str:
        label = "input resolution"
        if prune.target_speedup:
            label += f" for {prune.target_speedup:g}x"
        return label + (" + KD" if prune.recovery == "distill" else "")

    def run(self, job: Job) -> Outcome:
        return resolution(job)


METHOD = Resolution()


def _side(model: Any) -> int:
    """The image side of a model with one square image input (``InputError`` otherwise)."""
    shapes = [tuple(t.shape) for t in model.inputs]
    if len(shapes) != 1 or len(shapes[0]) != 4 or shapes[0][1] != shapes[0][2] \
            or shapes[0][1] is None:
        raise InputError(f"prune.method=resolution needs one square image input "
                         f"(batch, side, side, channels); {model.name} takes "
                         f"{', '.join(str(s) for s in shapes)}")
    return int(shapes[0][1])


def side_at(side: int, level: float, round_to: int) -> int:
    """The side kept when ``level`` of it goes, rounded to a multiple of ``round_to``."""
    kept = side * (1.0 - level)
    step = max(1, round_to)
    return max(MIN_SIDE, min(side, int(round(kept / step)) * step))


def smallest_side(side: int, spec: PruneSpec) -> int:
    return side_at(side, spec.target_sparsity, spec.round_to)


def at_side(model: Any, new: int) -> Any:
    """``model`` (flat) taking its images as before, scaled to ``new`` x ``new`` by a
    ``Resizing`` layer, its own layers and weights unchanged after it.

    Raises:
      InputError: a layer's weights depend on the image side (``Flatten`` before ``Dense``).
    """
    side = _side(model)
    k = flavor.module(model)
    config = json_config(model, new)
    try:
        body = model.__class__.from_config(config) if isinstance(model, k.Sequential) \
            else k.Model.from_config(config)
        body.set_weights(model.get_weights())
    except (ValueError, TypeError) as e:
        raise InputError(f"prune.method=resolution: {model.name} cannot take a {new}x{new} "
                         f"image instead of {side}x{side} (a layer's weights depend on the "
                         f"image side, e.g. Flatten before Dense: {str(e).splitlines()[0]})"
                         ) from None
    inp = k.Input(tuple(model.inputs[0].shape[1:]), name=model.inputs[0]._keras_history[0].name)
    # ``training=None`` said aloud: Keras 3's preprocessing layers otherwise record
    # ``training=True``, which the layers after them then inherit outside ``fit``
    resized = k.layers.Resizing(new, new, name="input_resize")(inp, training=None)
    flat = flatten.flatten(k.Model(inp, body(resized), name=model.name))
    # fresh layers, each called once (the body's were called twice: ``layer.output`` would be
    # the body's own, e.g. for the distiller's logits)
    out = k.models.clone_model(flat)
    out.set_weights(flat.get_weights())
    return out


def json_config(model: Any, new: int) -> dict[str, Any]:
    """``model``'s config (a copy) with its image input ``new`` x ``new``."""
    config = json.loads(json.dumps(model.get_config()))
    for layer in config["layers"]:
        if layer["class_name"] == "InputLayer":
            for key in ("batch_input_shape", "batch_shape"):
                if key in layer["config"]:
                    shape = list(layer["config"][key])
                    layer["config"][key] = [shape[0], new, new, *shape[3:]]
    return config


def resolution(job: Job) -> Outcome:
    """The trained model at a smaller image side (searched for ``target_speedup``), then
    fine-tuned there."""
    from tfcompress.prune.methods.base import Outcome
    from tfcompress.train.loop import accuracy

    s = job.spec
    model = flatten.flatten(job.trained())
    side = _side(model)
    facts: dict[str, Any] = {}
    level = s.target_sparsity
    if s.target_speedup is not None:
        found = speed_search(job, model, s.target_sparsity,
                             lambda lv: at_side(model, side_at(side, lv, s.round_to)))
        level = found.level
        facts["speed_target"] = found.to_dict()
    new = side_at(side, level, s.round_to)
    small = at_side(model, new)
    before = accuracy(small, job.data.x_test, job.data.y_test)
    log.info("[prune] input resolution %dx%d -> %dx%d; test accuracy before fine-tuning: "
             "%.2f%%", side, side, new, new, 100 * before)
    facts.update(input_side=[side, new], accuracy_before_finetune=before)
    return Outcome(small, {"finetune": _recover(job, small, job.finetune, "finetune")},
                   facts=facts)
