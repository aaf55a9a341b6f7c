"""MediaPipe Tasks as a client of the shipped files: its ImageClassifier (the C++ runtime of
Android, iOS and web apps) run on the same pixels as the LiteRT interpreter, compared.

MediaPipe lives in its own environment (``make mediapipe-env``: ``.venv-mediapipe``), because
it pins ``absl-py~=2.3`` and tfmot ``absl-py~=1.2``; ``scripts/mediapipe_classify.py`` runs
there as a subprocess and imports only mediapipe and numpy.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tfcompress.errors import InputError

REPO = Path(__file__).resolve().parents[1]
PYTHON_ENV = "TFCOMPRESS_MEDIAPIPE_PYTHON"
#: seconds after which the MediaPipe subprocess is taken for hung (a guard, not a timing)
HANG = 2400


def python() -> Path:
    """The interpreter of MediaPipe's environment (``$TFCOMPRESS_MEDIAPIPE_PYTHON``, else
    ``.venv-mediapipe`` in the repository)."""
    return Path(os.environ.get(PYTHON_ENV) or REPO / ".venv-mediapipe" / "bin" / "python")


def available() -> bool:
    return python().is_file()


def classify(images: np.ndarray, files: list[Path]) -> dict[str, dict[str, Any]]:
    """MediaPipe's top-1 class, label and score for each uint8 image, per file (by name), or
    ``{"error": ...}`` for a file it refuses.

    Raises:
      InputError: MediaPipe's environment is missing.
    """
    if not available():
        raise InputError(f"MediaPipe's environment is missing ({python()}): run "
                         f"`make mediapipe-env` (or set ${PYTHON_ENV})")
    with tempfile.TemporaryDirectory(prefix="tfcompress-mediapipe-") as tmp:
        npz = Path(tmp) / "images.npz"
        np.savez(npz, images=np.asarray(images, np.uint8))
        done = subprocess.run([str(python()), str(REPO / "scripts" / "mediapipe_classify.py"),
                               str(npz), *map(str, files)], capture_output=True, text=True,
                              timeout=HANG)
    if done.returncode != 0:
        raise RuntimeError(f"mediapipe_classify.py failed: {done.stderr.strip()[-600:]}")
    return {Path(k).name: v for k, v in json.loads(done.stdout).items()}


def compare(files: list[Path], data: Any) -> dict[str, dict[str, Any]]:
    """Per file: whether MediaPipe loads it, its top-1 agreement with the interpreter on the
    test images' pixels, the largest gap between their top-1 scores, and both accuracies."""
    from tfcompress import litert

    images = data.pixels(data.x_test).astype(np.uint8)
    said = classify(images, files)
    out: dict[str, dict[str, Any]] = {}
    for path in files:
        mp = said[path.name]
        if "error" in mp:
            out[path.stem] = {"loads": False, "error": mp["error"]}
            continue
        scores = litert.LiteModel(path).predict(images.astype(np.float32))
        ours = np.argmax(scores, axis=-1)
        top1 = np.asarray(mp["top1"])
        same = top1 == ours
        names = list(data.class_names) or [str(i) for i in range(data.num_classes)]
        out[path.stem] = {
            "loads": True, "images": int(len(images)),
            "agreement": float(np.mean(same)),
            "max_score_gap": float(np.max(np.abs(np.asarray(mp["score"])[same] -
                                                 scores[np.arange(len(ours)), ours][same]),
                                          initial=0.0)),
            "labels_match": mp["label"] == [names[i] for i in top1],
            "mediapipe_accuracy": float(np.mean(top1 == data.y_test)),
            "interpreter_accuracy": float(np.mean(ours == data.y_test)),
        }
    return out
