"""A model that rescales its own pixels (the Keras tutorials' ``Rescaling(1./255)`` first layer)
is never silently fed 0..1: the run stops before training with one line naming the layer and
``--pixel_range=0-255``, and with it every row keeps the model's own accuracy."""

from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest

from support import HANG, REPO
from tfcompress.data import load
from tfcompress import errors
from tfcompress.errors import InputError
from tfcompress.models import pixel_range
from tfcompress.recipe import DataSpec

TEST_LIMIT = 1000  # 1 point = 10 images


def _rescaling_cnn(first=None):
    keras.utils.set_random_seed(0)
    inp = keras.Input((28, 28, 1))
    x = inp
    for layer in [keras.layers.Rescaling(1.0 / 255, name="rescaling")] if first is None else first:
        x = layer(x)
    x = keras.layers.Conv2D(16, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(32, 3, activation="relu")(x)
    x = keras.layers.Flatten()(keras.layers.MaxPooling2D()(x))
    return keras.Model(inp, keras.layers.Dense(10, activation="softmax")(x))


def test_the_expected_range_is_read_from_the_first_layers():
    from tfcompress.models import keras3

    assert pixel_range.expected(_rescaling_cnn())["high"] == 255
    augmented = _rescaling_cnn([keras.layers.RandomFlip(), keras.layers.Rescaling(1 / 255.)])
    assert pixel_range.expected(augmented)["type"] == "Rescaling"  # augmentation skipped
    assert pixel_range.expected(_rescaling_cnn([keras.layers.Rescaling(2.0, -1.0)])) is None
    norm = keras.layers.Normalization(mean=[120.0], variance=[3600.0])
    assert pixel_range.expected(_rescaling_cnn([norm]))["type"] == "Normalization"
    assert pixel_range.expected(_rescaling_cnn([])) is None  # nothing to tell by
    twin = keras3.to_keras2(_rescaling_cnn())  # what the preflight reads
    assert pixel_range.expected(twin)["high"] == 255
    data = load(DataSpec("digits"))
    with pytest.raises(InputError, match="pixel_range=0-255") as e:
        pixel_range.check(_rescaling_cnn(), data)
    assert "mean" not in str(e.value)
    # with --mean/--std (as the README's own-model command has them) the fix drops them:
    # --pixel_range is refused beside them
    normalized = load(DataSpec("digits", mean=[0.5], std=[0.25]))
    with pytest.raises(InputError) as e:
        pixel_range.check(_rescaling_cnn(), normalized)
    # called from Python: the Python argument first, the flags after it
    message = str(e.value)
    assert "; pass pixel_range='0-255' without mean/std" in message, message
    assert message.index("pixel_range='0-255'") < message.index("drop --mean/--std")
    assert "data.mean=none" in message
    with errors.called_from("cli"), pytest.raises(InputError) as e:
        pixel_range.check(_rescaling_cnn(), normalized)
    message = str(e.value)
    assert "; drop --mean/--std (the model normalizes itself) and run with " \
           "--pixel_range=0-255 (Python: pass pixel_range='0-255'" in message, message


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory):
    """The tutorial's model: Rescaling(1/255) first, trained by Keras 3 on 0..255 MNIST,
    saved as users save; and its own accuracy on the run's 1,000 test images."""
    data = load(DataSpec("mnist", train_limit=3000, test_limit=TEST_LIMIT,
                         pixel_range="0-255"), data_dir)
    assert data.x_train.max() > 200  # the model is trained on pixels as they are
    model = _rescaling_cnn()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(data.x_train, data.y_train, epochs=3, batch_size=64, verbose=0)
    # the test images user_model_prune_quant's tiny profile draws (its train_limit is 256)
    test = load(DataSpec("mnist", train_limit=256, test_limit=TEST_LIMIT,
                         pixel_range="0-255"), data_dir)
    own = float(np.mean(np.argmax(model.predict(test.x_test, verbose=0), -1) == test.y_test))
    misfed = float(np.mean(np.argmax(model.predict(test.x_test / 255, verbose=0), -1)
                           == test.y_test))
    assert own > 0.8 and misfed < own - 0.3  # fed 0..1 it falls toward chance (0.10)
    path = tmp_path_factory.mktemp("rescaling") / "tutorial.keras"
    model.save(path)
    return model, path, own


def _cli(path, out, data_dir, *extra):
    return subprocess.run(
        [sys.executable, "-m", "tfcompress.run", "--experiment=user_model_prune_quant",
         "--profile=tiny", f"--model_path={path}", "--dataset=mnist", f"--data_dir={data_dir}",
         f"--output_dir={out}", f"--override=data.test_limit={TEST_LIMIT}", *extra],
        capture_output=True, text=True, cwd=REPO, timeout=HANG)


@pytest.mark.real_data
def test_the_cli_stops_before_training_then_keeps_the_accuracy_with_the_flag(trained, data_dir,
                                                                            tmp_path):
    _, path, own = trained
    refused = _cli(path, tmp_path / "a", data_dir)
    assert refused.returncode == 2, refused.stderr[-1500:]
    lines = [ln for ln in refused.stderr.splitlines() if ln.startswith("tfcompress")]
    assert len(lines) == 1 and "Rescaling" in lines[0] \
        and "; run with --pixel_range=0-255 (Python: " in lines[0], lines  # the CLI's spelling
    assert "Epoch" not in refused.stdout  # nothing was trained
    assert not (tmp_path / "a" / "user_model_prune_quant").exists()
    done = _cli(path, tmp_path / "b", data_dir, "--pixel_range=0-255")
    assert done.returncode == 0, done.stderr[-1500:]
    import csv

    rows = {r["variant"]: r for r in csv.DictReader(
        open(tmp_path / "b" / "user_model_prune_quant" / "tiny" / "results.csv"))}
    for name in ("float32", "int8"):
        assert abs(float(rows[name]["tflite_accuracy"]) - own) <= 0.01, (name, rows[name])
    assert abs(float(rows["float32"]["keras_accuracy"]) - own) <= 1e-9


@pytest.mark.real_data
def test_the_api_stops_then_keeps_the_accuracy_with_pixel_range(trained, data_dir, tmp_path):
    import tfcompress

    model, _, own = trained
    with pytest.raises(InputError, match="Rescaling.*; pass pixel_range='0-255' \\(command line: "):
        tfcompress.compress(model, "mnist", output_dir=tmp_path, data_dir=data_dir,
                            epochs=1, overrides={"data.train_limit": 256,
                                                 "data.test_limit": TEST_LIMIT})
    result = tfcompress.compress(model, "mnist", pixel_range="0-255", output_dir=tmp_path,
                                 data_dir=data_dir, epochs=1,
                                 overrides={"data.train_limit": 256,
                                            "data.test_limit": TEST_LIMIT})
    for name in ("float32", "int8"):
        assert abs(result.row(name)["tflite_accuracy"] - own) <= 0.01, name
