#!/usr/bin/env python3
"""Classify images with an exported .tflite file: what to run before copying it to a phone.

Dependency-light on purpose: numpy, Pillow and ai-edge-litert only (no TensorFlow, no
tfcompress), so it can be copied next to the model and run anywhere. The preprocessing comes
from the ``<model>.json`` that tfcompress writes beside each ``<model>.tflite`` and repeats the
training pipeline's steps exactly (PIL decode, RGB or grayscale, bilinear resize; then, for a
file that does not take pixels, / pixel_max and per-channel (x - mean) / std), so the accuracy
printed here matches the report's. Files that take pixels (the card's ``input.pixels``: the
normalization is folded into them, as MediaPipe needs) are given the pixels as they are.

    python scripts/classify_tflite.py saved_models/EXP/PROFILE/tflite/int8.tflite IMAGE [IMAGE ...]
    python scripts/classify_tflite.py MODEL.tflite FOLDER     # FOLDER/<class>/*.jpg: accuracy

Exit status 2 with one line for a missing or unreadable model, card or image, a card that
does not fit the model, or an image over 50 megapixels.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif"}
#: Larger images are not decoded: a small compressed file can decode to gigabytes.
MAX_PIXELS = 50_000_000
UNREADABLE = (OSError, ValueError, SyntaxError, Image.DecompressionBombError,
              Image.DecompressionBombWarning)


def fail(message: str) -> None:
    print(f"classify_tflite: error: {message}", file=sys.stderr)
    sys.exit(2)


def read_card(path: Path) -> dict:
    """The input card, checked field by field (a bad card is one line, exit 2)."""
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        fail(f"{path} is not a readable JSON card ({type(e).__name__}: {str(e)[:120]})")
    if not isinstance(card, dict):
        fail(f"{path} must hold a JSON object; received {type(card).__name__}")

    def number(v) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)

    shape = card.get("input_shape")
    if not (isinstance(shape, list) and len(shape) == 3 and all(isinstance(v, int) and v > 0
                                                                for v in shape)
            and shape[2] in (1, 3)):
        fail(f"{path}: input_shape must be [height, width, 1 or 3]; received {shape!r}")
    classes = card.get("class_names")
    if not (isinstance(classes, list) and classes and all(isinstance(c, str) for c in classes)):
        fail(f"{path}: class_names must be a non-empty list of names; received {classes!r}")
    if not (number(card.get("pixel_max")) and card["pixel_max"] > 0):
        fail(f"{path}: pixel_max must be a positive number; received {card.get('pixel_max')!r}")
    for key in ("mean", "std"):
        v = card.get(key)
        if v is not None and not (isinstance(v, list) and len(v) == shape[2]
                                  and all(number(x) for x in v)
                                  and (key == "mean" or all(x > 0 for x in v))):
            fail(f"{path}: {key} must be none or {shape[2]} {'positive ' if key == 'std' else ''}"
                 f"number(s), one per channel; received {v!r}")
    inp = card.get("input", {"pixels": False})
    if not (isinstance(inp, dict) and isinstance(inp.get("pixels", False), bool)):
        fail(f"{path}: input must be an object whose pixels is true or false; received {inp!r}")
    return card


def load_image(path: Path, card: dict) -> np.ndarray:
    """One image as the file's float input (before integer quantization): its pixels for a
    file that takes pixels (``input.pixels`` on the card: the normalization is inside it),
    else scaled and normalized as training did."""
    height, width, channels = card["input_shape"]
    with warnings.catch_warnings(), Image.open(path) as im:
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        if im.width * im.height > MAX_PIXELS:
            raise ValueError(f"{im.width}x{im.height} pixels, over the "
                             f"{MAX_PIXELS // 1_000_000} megapixel limit")
        im = im.convert("RGB" if channels == 3 else "L")
        if im.size != (width, height):
            im = im.resize((width, height), Image.BILINEAR)
        x = np.asarray(im, dtype=np.float32)
    x = x.reshape(height, width, channels)
    if (card.get("input") or {}).get("pixels"):
        return x
    x = x / np.float32(card["pixel_max"])
    if card.get("mean") is not None:
        x -= np.asarray(card["mean"], np.float32)
    if card.get("std") is not None:
        x /= np.asarray(card["std"], np.float32)
    return x


class Classifier:
    def __init__(self, model_path: Path, card: dict):
        try:
            self.interpreter = Interpreter(model_path=str(model_path))
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as e:
            fail(f"{model_path} is not a readable .tflite model "
                 f"({' '.join(str(e).split())[:160]})")
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        want = [int(v) for v in self.input["shape"][1:]]
        if want != card["input_shape"]:
            fail(f"{model_path} takes input {want} but its card "
                 f"({model_path.with_suffix('.json')}) says input_shape "
                 f"{card['input_shape']}: the card belongs to another file")
        if int(self.output["shape"][-1]) != len(card["class_names"]):
            fail(f"{model_path} has {int(self.output['shape'][-1])} outputs but its card names "
                 f"{len(card['class_names'])} classes")

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        dtype = self.input["dtype"]
        if np.issubdtype(dtype, np.integer):  # int8/uint8 input: quantize with the file's scale
            scale, zero = self.input["quantization"]
            info = np.iinfo(dtype)
            x = np.clip(np.round(x / scale + zero), info.min, info.max)
        self.interpreter.set_tensor(self.input["index"], x[None].astype(dtype))
        self.interpreter.invoke()
        y = self.interpreter.get_tensor(self.output["index"])[0]
        if np.issubdtype(self.output["dtype"], np.integer):
            scale, zero = self.output["quantization"]
            y = (y.astype(np.float32) - zero) * scale
        return y


def images_of(target: Path, classes: list[str]) -> list[tuple[Path, int | None]]:
    """(image, label or None): a class-folder tree gives labels, single files do not."""
    if target.is_file():
        return [(target, None)]
    out = []
    for label, name in enumerate(classes):
        folder = target / name
        if folder.is_dir():
            out += [(p, label) for p in sorted(folder.iterdir())
                    if p.suffix.lower() in EXTENSIONS]
    return out


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        fail("usage: classify_tflite.py MODEL.tflite IMAGE_OR_CLASS_FOLDER [...]")
    model_path = Path(argv[1])
    card_path = model_path.with_suffix(".json")
    if not model_path.is_file():
        fail(f"model {model_path} not found")
    if not card_path.is_file():
        fail(f"{card_path} not found: it holds the preprocessing and class names, and is "
             f"written beside every .tflite that tfcompress exports")
    card = read_card(card_path)
    classes = card["class_names"]
    classifier = Classifier(model_path, card)
    targets = list(map(Path, argv[2:]))
    for target in targets:
        if not target.exists():
            fail(f"{target} not found")
    correct = total = 0
    for target in targets:
        for path, label in images_of(target, classes):
            try:
                probs = classifier.probabilities(load_image(path, card))
            except UNREADABLE as e:
                if target.is_file():  # the one image asked for
                    fail(f"{path} is not a readable image ({type(e).__name__}: "
                         f"{' '.join(str(e).split())[:120]})")
                print(f"{path}: unreadable ({e})")
                continue
            top = int(np.argmax(probs))
            verdict = "" if label is None else ("  ok" if top == label else
                                                f"  WRONG (is {classes[label]})")
            print(f"{path}: {classes[top]} {probs[top]:.3f}{verdict}")
            if label is not None:
                total += 1
                correct += top == label
    if total:
        print(f"accuracy: {correct}/{total} = {correct / total:.4f} "
              f"(the report's: {card.get('tflite_accuracy')})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
