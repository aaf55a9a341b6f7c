"""scripts/classify_tflite.py reproduces the report's TFLite accuracy from the JPEG files."""

import json
import subprocess
import sys

import numpy as np

from support import HANG, REPO
from test_image_data import make_folder
from tfcompress import catalogue
from tfcompress._keras import keras
from tfcompress.models import MODELS
from tfcompress.pipeline import Pipeline
from tfcompress.recipe import apply_overrides

SCRIPT = REPO / "scripts" / "classify_tflite.py"


def test_script_matches_the_report_on_the_same_images(tmp_path):
    folder = make_folder(tmp_path / "pets", per_class=12, size=(16, 16))
    keras.utils.set_random_seed(0)
    model_path = tmp_path / "m.keras"
    MODELS.get("resnet")((16, 16, 3), 2, depth=8, widths=[2, 2, 2]).save(model_path)
    recipe = apply_overrides(
        catalogue.experiment("user_model_prune_quant").for_profile("tiny"),
        {"model.path": str(model_path), "data.name": "image_folder", "data.path": str(folder),
         "data.mean": [0.5, 0.5, 0.5], "data.std": [0.25, 0.25, 0.25],
         "benchmark.threads": [1], "finetune.batch_size": 4})
    result = Pipeline(recipe, profile="tiny", output_dir=tmp_path / "out").run()
    rows = {r["variant"]: r for r in result.rows}
    for variant in ("float32", "pruned50_int8"):
        tflite = result.run_dir / "tflite" / f"{variant}.tflite"
        card = json.loads(tflite.with_suffix(".json").read_text())
        assert card["class_names"] == ["cat", "dog"]
        if card["input"]["pixels"]:  # the normalization is inside: nothing for an app to apply
            assert "mean" not in card and "std" not in card
            assert card["input"]["normalization_inside_the_file"]["mean"] == [0.5, 0.5, 0.5]
        else:
            assert card["mean"] == [0.5, 0.5, 0.5]
        proc = subprocess.run([sys.executable, str(SCRIPT), str(tflite), str(folder / "test")],
                              capture_output=True, text=True, timeout=HANG)
        assert proc.returncode == 0, proc.stderr
        last = proc.stdout.strip().splitlines()[-1]
        correct, total = map(int, last.split()[1].split("/"))
        assert total == 24
        assert np.isclose(correct / total, rows[variant]["tflite_accuracy"]), last


def test_script_errors_are_one_line(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"x")
    proc = subprocess.run([sys.executable, str(SCRIPT), str(model), str(tmp_path)],
                          capture_output=True, text=True, timeout=HANG)
    assert proc.returncode == 2 and "m.json not found" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
