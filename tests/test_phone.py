"""Phone-ready files: pixels in (normalization folded), TFLite metadata written from the public
schema, and MediaPipe Tasks' ImageClassifier — the runtime Android, iOS and the web use — as a
real client of every shipped image-classification file."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from support import HANG, REPO, missing, shares
from tfcompress import litert, mediapipe
from tfcompress.quantize import metadata


def needs_mediapipe() -> None:
    """MediaPipe lives in its own environment (``make mediapipe-env``); ``make test`` sets
    TFCOMPRESS_REQUIRE_MEDIAPIPE (and CI sets CI), so there its tests fail rather than skip
    without it."""
    if not mediapipe.available():
        missing("MEDIAPIPE",
                f"MediaPipe's environment is missing ({mediapipe.python()}): make mediapipe-env")


def _info(**kw):
    base = dict(name="m", description="d", version="1", author="a", height=8, width=8,
                color_space="RGB", labels=("cat", "dog"), mean=0.0, std=1.0,
                input_range=(0.0, 255.0), output_description="p")
    return metadata.ImageClassifierInfo(**{**base, **kw})


def test_metadata_is_written_and_read_back_and_leaves_the_model_unchanged():
    from tfcompress._keras import keras
    from tfcompress.quantize import tflite
    from tfcompress.recipe import ExportSpec

    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 3))
    model = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(
        keras.layers.Flatten()(keras.layers.Conv2D(4, 3)(inp))))
    plain = tflite.convert(model, ExportSpec("float32"))
    assert metadata.read(plain) is None
    shipped = metadata.populate(plain, _info(labels=("cat", "dog"), mean=127.5, std=2.0))
    got = metadata.read(shipped)
    assert got["name"] == "m" and got["min_parser_version"] == "1.0.0"
    assert got["input"] == {"name": "image", "description": got["input"]["description"],
                            "color_space": "RGB", "size": [8, 8],
                            "normalization": {"mean": [127.5], "std": [2.0]},
                            "range": [0.0, 255.0]}
    assert got["output"]["associated_files"] == [{"name": "labels.txt", "type": 2}]
    assert got["packed_files"] == ["labels.txt"]
    x = np.random.default_rng(0).uniform(0, 1, (4, 8, 8, 3)).astype("float32")
    np.testing.assert_array_equal(litert.LiteModel(shipped).predict(x),
                                  litert.LiteModel(plain).predict(x))
    integer = metadata.read(metadata.populate(plain, _info(mean=None, std=None,
                                                           color_space="GRAYSCALE")))
    assert integer["input"]["normalization"] is None
    assert integer["input"]["color_space"] == "GRAYSCALE"
    with pytest.raises(ValueError, match="already"):
        metadata.populate(shipped, _info())
    import time

    time.sleep(2.1)  # the zip's 2-second clock moves on: the file must not
    assert metadata.populate(plain, _info(labels=("cat", "dog"), mean=127.5, std=2.0)) == shipped


@pytest.mark.real_data
@pytest.mark.parametrize("experiment", [
    pytest.param("resnet20_prune_quant", marks=shares("resnet20_prune_quant")),
    pytest.param("mobilenet_prune_quant",  # 80 s: make test-slow
                 marks=[pytest.mark.slow, shares("mobilenet_prune_quant")]),
])
def test_every_shipped_file_runs_in_mediapipe_as_in_the_interpreter(experiment, data_dir,
                                                                     tiny_runs):
    """The tiny profile's files: MediaPipe loads each (metadata, labels, uint8 or float32
    pixels), and its top-1 class agrees with the interpreter's on >= 99% of the test images
    (its score with the interpreter's probability, too); the card says how to feed it."""
    import tfcompress
    from tfcompress.data import load

    needs_mediapipe()
    result = tiny_runs(experiment)
    recipe = tfcompress.catalogue.experiment(experiment).for_profile("tiny")
    data = load(recipe.data, data_dir)
    files = sorted(result.tflite.values())
    rows = mediapipe.compare(files, data)
    for path in files:
        r = rows[path.stem]
        assert r["loads"], (path.name, r)
        assert r["agreement"] >= 0.99, (path.name, r)
        assert r["max_score_gap"] <= 0.02, (path.name, r)
        assert r["labels_match"], path.name  # labels.txt read from the file
        card = json.loads(path.with_suffix(".json").read_text())
        assert card["input"]["pixels"] and card["tflite_metadata"]["color_space"] == "RGB"
        assert card["mediapipe"].startswith("loads with MediaPipe")
        if "int8" in path.stem:
            assert card["input"]["dtype"] == "uint8"
            assert card["input"]["quantization"] == {"scale": 1.0, "zero_point": 0}
        else:
            assert card["input"]["dtype"] == "float32"
            assert card["tflite_metadata"]["normalization"] == {"mean": [0.0], "std": [1.0]}
    print(f"{experiment}: MediaPipe/interpreter top-1 agreement "
          f"{ {k: r['agreement'] for k, r in rows.items()} }")


@pytest.mark.real_data
def test_a_grayscale_file_is_refused_by_mediapipe_and_its_card_says_so(digits_run):
    needs_mediapipe()
    path = digits_run[2].tflite["int8"]
    said = mediapipe.classify(np.zeros((1, 8, 8, 1), np.uint8), [path])[path.name]
    assert "Only RGB" in said["error"]
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["tflite_metadata"]["color_space"] == "GRAYSCALE"
    assert card["mediapipe"].startswith("not for MediaPipe") and "RGB" in card["mediapipe"]


@pytest.mark.real_data
@shares("resnet20_prune_quant")
def test_classify_script_and_mediapipe_give_the_same_accuracy_on_the_same_file(data_dir,
                                                                             tiny_runs,
                                                                             tmp_path):
    """The same images (PNG, lossless) through scripts/classify_tflite.py (PIL + LiteRT, the
    card) and through MediaPipe: the same accuracy, that of the report on those images."""
    import tfcompress
    from PIL import Image

    from tfcompress.data import load

    needs_mediapipe()
    result = tiny_runs("resnet20_prune_quant")
    recipe = tfcompress.catalogue.experiment("resnet20_prune_quant").for_profile("tiny")
    data = load(recipe.data, data_dir)
    images = data.pixels(data.x_test).astype(np.uint8)
    folder = tmp_path / "images"
    for i, (img, label) in enumerate(zip(images, data.y_test)):
        (folder / data.class_names[label]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(folder / data.class_names[label] / f"{i:04d}.png")
    for variant in ("float32", "int8"):
        path = result.tflite[variant]
        out = subprocess.run([sys.executable, str(REPO / "scripts" / "classify_tflite.py"),
                              str(path), str(folder)], capture_output=True, text=True,
                             timeout=HANG)
        assert out.returncode == 0, out.stderr[-1500:]
        line = out.stdout.strip().splitlines()[-1]
        correct, total = map(int, line.split()[1].split("/"))
        mp = mediapipe.classify(images, [path])[path.name]
        mp_correct = int(np.sum(np.asarray(mp["top1"]) == data.y_test))
        assert (correct, total) == (mp_correct, len(images)), (variant, line)
        assert correct / total == pytest.approx(result.row(variant)["tflite_accuracy"])
