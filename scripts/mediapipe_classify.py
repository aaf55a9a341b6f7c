#!/usr/bin/env python3
"""Classify images with MediaPipe Tasks' ImageClassifier: the runtime Android, iOS and the web
use, here in Python. What a phone app would get from a shipped ``.tflite``, with no code of
ours in between (it reads the file's TFLite metadata and labels itself).

Runs in its own environment (``make mediapipe-env``: ``.venv-mediapipe``), because mediapipe
pins ``absl-py~=2.3`` and tfmot ``absl-py~=1.2``; it imports only mediapipe and numpy.

    .venv-mediapipe/bin/python scripts/mediapipe_classify.py IMAGES.npz MODEL.tflite [...]

``IMAGES.npz`` holds ``images``: uint8 (N, height, width, 3 or 1) pixels. Prints one JSON object:
``{model: {"top1": [...], "label": [...], "score": [...]}}`` or ``{model: {"error": "..."}}``
when MediaPipe refuses the file (its message, on one line).
"""

from __future__ import annotations

import json
import sys

import numpy as np


def classify(model: str, images: np.ndarray) -> dict:
    from mediapipe import Image, ImageFormat
    from mediapipe.tasks.python import BaseOptions
    from mediapipe.tasks.python.vision import ImageClassifier, ImageClassifierOptions

    options = ImageClassifierOptions(base_options=BaseOptions(model_asset_path=model),
                                     max_results=1)
    try:
        classifier = ImageClassifier.create_from_options(options)
    except (RuntimeError, ValueError) as e:
        return {"error": " ".join(str(e).split())[:300]}
    fmt = ImageFormat.SRGB if images.shape[-1] == 3 else ImageFormat.GRAY8
    top1, labels, scores = [], [], []
    with classifier:
        for img in images:
            data = np.ascontiguousarray(img if images.shape[-1] == 3 else img[..., 0])
            result = classifier.classify(Image(image_format=fmt, data=data))
            best = result.classifications[0].categories[0]
            top1.append(int(best.index))
            labels.append(best.category_name)
            scores.append(float(best.score))
    return {"top1": top1, "label": labels, "score": scores}


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print("usage: mediapipe_classify.py IMAGES.npz MODEL.tflite [...]", file=sys.stderr)
        return 2
    with np.load(argv[1]) as f:
        images = f["images"]
    if images.dtype != np.uint8 or images.ndim != 4:
        print(f"mediapipe_classify: error: images must be uint8 (N, H, W, C); received "
              f"{images.dtype} {images.shape}", file=sys.stderr)
        return 2
    print(json.dumps({m: classify(m, images) for m in argv[2:]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
