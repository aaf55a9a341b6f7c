"""The deliverables of a run, copied into its (temporary) folder before it is swapped in: the
.tflite files with their input cards, the Keras models they came from, TensorBoard links."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tfcompress import atomic, flavor
from tfcompress.models import keras3

if TYPE_CHECKING:
    from tfcompress.pipeline.context import RunContext
    from tfcompress.report.variant import VariantResult


def publish(ctx: RunContext, run_dir: Path, variants: list[VariantResult],
            input_card: dict[str, Any], final_dir: Path) -> None:
    """Copies the deliverables into the (temporary) run folder ``run_dir``, which becomes
    ``final_dir``: TFLite files with their input cards, Keras models (``keras/``: in the Keras
    the recipe's model is in; a Keras 3 run also keeps the tf_keras twins tfmot worked on, in
    ``keras2/``), links to each step's TensorBoard logs."""
    keras3 = ctx.recipe.model.keras_out() == "3"
    for v in variants:
        dst = run_dir / "tflite" / f"{v.variant}.tflite"
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(v.tflite_path, dst)
        atomic.write_json(dst.with_suffix(".json"), card(input_card, v))
        v.tflite_file = str(dst.relative_to(run_dir))
        if v.keras_path:  # the compressed Keras model (a QAT one has none)
            keras_file = run_dir / "keras" / f"{v.variant}.keras"
            keras_file.parent.mkdir(exist_ok=True)
            if keras3:
                twin = run_dir / "keras2" / f"{v.variant}.keras"
                twin.parent.mkdir(exist_ok=True)
                shutil.copyfile(v.keras_path, twin)
                _as_keras3(Path(v.keras_path), keras_file)
            else:
                shutil.copyfile(v.keras_path, keras_file)  # a copy: the cache stays as made
            v.keras_file = str(keras_file.relative_to(run_dir))
    tb = run_dir / "tensorboard"
    tb.mkdir(exist_ok=True)
    for step in ctx.runner.records:
        logs = ctx.runner.store.path(step.kind, step.key) / "logs"
        link = tb / step.name
        if link.is_symlink():  # two steps of one name (e.g. over seeds): tell them apart
            link = tb / f"{step.name}_{step.key}"
        if logs.is_dir():
            link.symlink_to(os.path.relpath(logs, final_dir / "tensorboard"))


def card(input_card: dict[str, Any], v: VariantResult) -> dict[str, Any]:
    """The JSON card beside a .tflite: how to feed it (the data's preprocessing; for a pixel
    file its input dtype, range, scale / zero point and resize), what its metadata says, and
    the accuracy it was measured at."""
    out = {**input_card, "variant": v.variant, "tflite_accuracy": v.tflite.tflite_accuracy}
    inp = v.tflite.input or {"pixels": False}
    out["input"] = {**inp, "resize": input_card.get("resize")}
    if inp.get("pixels"):  # the training's mean/std are inside the file: not for the app
        inside = {k: out.pop(k) for k in ("mean", "std")}
        if any(x is not None for x in inside.values()):
            out["input"]["normalization_inside_the_file"] = inside
    meta = v.tflite.metadata
    out["tflite_metadata"] = None if meta is None else {
        "name": meta["name"], "version": meta["version"],
        "color_space": meta["input"]["color_space"],
        "normalization": meta["input"]["normalization"],
        "labels": "labels.txt (packed in the file)"}
    out["mediapipe"] = (
        "loads with MediaPipe Tasks' ImageClassifier (metadata, labels and a uint8 or float32 "
        "pixel input)" if meta is not None and meta["input"]["color_space"] == "RGB" else
        "not for MediaPipe's ImageClassifier: " + (
            "its ImageClassifier runs RGB models only ('Only RGB color space is supported "
            "for now', MediaPipe 1.2.2); run it with the LiteRT interpreter"
            if meta is not None else
            "no pixel input or metadata (the file takes the model's normalized inputs)"))
    return out


def _as_keras3(src: Path, dst: Path) -> None:
    """``src`` (a tf_keras ``.keras``) saved by Keras 3, checked output-exact
    (``models/keras3.py``): a file ``keras.saving.load_model`` opens without custom objects."""

    if flavor.of_file(src) == flavor.KERAS3:  # made by Keras 3 already: a copy
        shutil.copyfile(src, dst)
    else:
        keras3.to_keras3(flavor.load_model(src)).save(dst)
