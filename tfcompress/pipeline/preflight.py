"""What is checked before any work, so that a run stops in one line rather than after
hours: the model file or builder, each variant against the model (every layer can be
compressed as asked, every schedule reaches its target), the model against the data, and a bare
SavedModel's variants (it can only be converted)."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfcompress import flavor
from tfcompress.errors import InputError
from tfcompress.models import MODELS, check_options, pixel_range, user_file, user_path
from tfcompress.pipeline.fits import Shapes, check_fits
from tfcompress.pipeline.stages import STAGES
from tfcompress.train import freeze

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.recipe import Recipe
    from tfcompress.pipeline.context import RunContext


def model_source(ctx: RunContext) -> Recipe:
    """A missing or wrong model file is reported before any data is loaded. Returns the
    recipe to run (a bare SavedModel's: its conversions only)."""

    r = ctx.recipe
    if r.model.path:
        user_path.check(r.model.path)
        return _only_conversions(ctx)
    if r.model.name == "file":
        MODELS.get("file")((), 0)  # raises: this experiment needs --model_path
    else:
        check_options(r.model.name, r.model.options)
        for v in r.variants:
            if v.distill is not None and not v.distill.student.path:
                check_options(v.distill.student.name, v.distill.student.options,
                              f"variants.{v.name}.distill.student")
        check = getattr(MODELS.get(r.model.name), "check", None)
        if check is not None:  # e.g. pretrained weights that cannot be had
            for w in check(dict(r.model.options), r.data.image_size, ctx.data_dir,
                           ctx.offline):
                ctx.warn(w)
    return r


#: datasets whose images are resized to data.image_size
RESIZED = ("image_folder", "cats_vs_dogs")


def image_size_from_model(ctx: RunContext) -> Recipe:
    """The recipe, with ``data.image_size`` taken from the user's model input when the dataset
    resizes its images and no size is given (a 160x160 model gets 160x160 images)."""

    r = ctx.recipe
    if r.data.image_size is not None or not r.model.path or r.data.name not in RESIZED:
        return r

    path = Path(r.model.path)
    if ctx.bare_savedmodel:
        shape = list(user_file.savedmodel_signature(path)[0])
    else:
        model = (user_file.load_keras3(path) if flavor.of_file(path) == flavor.KERAS3
                 else user_file.load(path))
        shape = list(model.inputs[0].shape)
    if len(shape) != 4 or shape[1] is None or shape[2] is None:
        return r
    size = (int(shape[1]), int(shape[2]))
    logging.getLogger("tfcompress").info(
        "data.image_size %dx%d: taken from the model's input", *size)
    return dataclasses.replace(r, data=dataclasses.replace(r.data, image_size=size))


def _only_conversions(ctx: RunContext) -> Recipe:
    """A bare SavedModel can be converted, not trained: its training variants are left
    out, each with a line saying why (a recipe that trains it: exit 2)."""
    r = ctx.recipe
    if not ctx.bare_savedmodel:
        return r
    why = (f"{r.model.path} is a SavedModel without a Keras model (Keras 3 export()): it "
           "can only be converted; pass the .keras file to prune, distill, cluster or QAT "
           "it")
    if r.train.epochs or r.transfer is not None or r.sweep is not None:
        raise InputError(f"{why} (this recipe trains it; train.epochs must be 0)")
    for v in r.variants:
        if v.stages:
            ctx.warn(f"variant {v.name} left out: {why}")
    return replace(r, variants=tuple(v for v in r.variants if not v.stages))


def variants(ctx: RunContext, data: Dataset) -> None:
    """Checks what can be checked before any training: the model fits the data, and each
    stage of each variant fits the model it will receive (``Stage.check``: every layer can be
    compressed as asked, every schedule reaches its target)."""

    if ctx.bare_savedmodel:
        shape, classes = user_file.savedmodel_signature(Path(ctx.recipe.model.path))
        check_fits(Shapes(shape, classes), data)
        return
    model = ctx.initial_model(data, keras="2")  # the checks read tf_keras layers
    check_fits(model, data)

    problems: list[tuple[str, str]] = []  # (variant or "", what is wrong): all, in one go
    try:
        pixel_range.check(model, data)
    except InputError as e:
        problems.append(("", str(e)))
    if ctx.recipe.transfer is not None:
        t = ctx.recipe.transfer
        freeze.unfreeze(model, t.backbone, t.unfreeze_from)  # names checked before training
    total = ctx.finetune_steps(data)
    memo: dict[Any, Any] = {}
    sweep = ctx.recipe.sweep
    checking = replace(ctx, held=[])  # warnings said only if nothing is refused
    for v in (*ctx.recipe.variants, *([sweep.trial] if sweep is not None else [])):
        try:
            m = model
            for kind in v.stages:
                m = STAGES[kind].check(checking, data, m, v, total, memo)
        except InputError as e:
            problems.append((v.name, str(e)))
    if problems:
        raise InputError(together(problems))
    for text in checking.held:
        ctx.warn(text)


def together(problems: list[tuple[str, str]]) -> str:
    """One line for every problem the preflight found: variants with the same problem named
    together (``variants a, b: ...``), each problem once."""
    by_message: dict[str, list[str]] = {}
    for who, message in problems:
        by_message.setdefault(message, []).append(who)
    parts = []
    for message, who in by_message.items():
        names = [w for w in who if w]
        head = (f"variant {names[0]}: " if len(names) == 1 else
                f"variants {', '.join(names)}: " if names else "")
        parts.append(head + message)
    if len(parts) == 1:
        return parts[0]
    return (f"{len(parts)} problems, found before any training: "
            + "; ".join(f"({i}) {p}" for i, p in enumerate(parts, 1)))
