"""A model the user brings: loading safely, preflight checks, and the CLI round trip."""

import numpy as np
import pytest

from tfcompress._keras import keras
from tfcompress.errors import InputError
from tfcompress.models import MODELS, user_file
from tfcompress.prune import magnitude
from test_cli import error_line, run_cli


def tiny_resnet():
    keras.utils.set_random_seed(0)
    return MODELS.get("resnet")((32, 32, 3), 10, depth=8, widths=[4, 4, 4])


@pytest.mark.parametrize("suffix", [".keras", ".h5", ""])
def test_every_format_loads_and_computes_the_same_function(tmp_path, suffix):
    model = tiny_resnet()
    path = tmp_path / f"model{suffix}"
    if suffix:
        model.save(path)
    else:
        model.save(path, save_format="tf")  # SavedModel folder
    loaded = user_file.load(path)
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-5)
    assert len(user_file.file_digest(path)) == 64


def test_lambda_layers_are_refused_in_h5(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2, name="double")(inputs))
    path = tmp_path / "lambda.h5"
    model.save(path)
    with pytest.raises(InputError, match="Lambda layer.*double.*safe mode"):
        user_file.load(path)


def test_bad_model_paths_are_one_clear_line(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "folder").mkdir()
    (tmp_path / "garbled").mkdir()
    (tmp_path / "garbled" / "saved_model.pb").write_bytes(b"garbage")
    model = tiny_resnet()
    model.save_weights(tmp_path / "weights.h5")
    for path, words in [(tmp_path / "missing.keras", "does not exist"),
                        (tmp_path / "notes.txt", "not a Keras model file"),
                        (tmp_path / "folder", "saved_model.pb"),
                        (tmp_path / "garbled", "garbled/saved_model.pb is not a readable "
                                               "SavedModel"),
                        (tmp_path / "weights.h5", "weights only")]:
        with pytest.raises(InputError, match=words):
            user_file.load(path)


def test_preflight_lists_layers_pruning_cannot_handle():
    class Scale(keras.layers.Layer):  # a custom layer with weights and no pruning support
        def build(self, shape):
            self.w = self.add_weight(shape=(shape[-1],), name="w")

        def call(self, x):
            return x * self.w

    inputs = keras.Input((4,))
    x = keras.layers.Dense(4, name="fc")(inputs)
    model = keras.Model(inputs, Scale(name="my_scale")(x))
    bad = magnitude.unsupported_layers(model)
    assert [(b["name"], b["type"], b["fatal"]) for b in bad] == [("my_scale", "Scale", False)]
    assert magnitude.unsupported_layers(tiny_resnet()) == []


def test_input_shape_mismatch_exits_2_before_training(tmp_path):
    path = tmp_path / "cifar_model.keras"
    tiny_resnet().save(path)
    proc = run_cli("--experiment=user_model_prune_quant", "--profile=tiny",
                   f"--model_path={path}", "--dataset=digits", f"--output_dir={tmp_path}")
    assert proc.returncode == 2
    line = error_line(proc)
    assert "[32, 32, 3]" in line and "[8, 8, 1]" in line


def test_missing_model_bad_model_file_and_missing_folder_exit_2(tmp_path):
    proc = run_cli("--experiment=user_model_prune_quant", "--profile=tiny",
                   f"--output_dir={tmp_path}")
    line = error_line(proc)
    assert proc.returncode == 2 and "your own model: pass --model_path=" in line, line
    assert line.index("--model_path") < line.index("(Python: pass overrides=")  # CLI first
    path = tmp_path / "m.keras"
    tiny_resnet().save(path)
    proc = run_cli("--experiment=user_model_prune_quant", "--profile=tiny",
                   f"--model_path={path}", f"--dataset={tmp_path / 'no_such_folder'}",
                   f"--output_dir={tmp_path}")
    assert proc.returncode == 2 and "no_such_folder" in error_line(proc)
    proc = run_cli("--experiment=user_model_prune_quant", f"--model_path={path}",
                   "--mean=0.5,abc", f"--output_dir={tmp_path}")
    assert proc.returncode == 2 and "--mean" in error_line(proc)
    text_file = tmp_path / "model.h5"
    text_file.write_text("not a model")
    proc = run_cli("--experiment=user_model_prune_quant", f"--model_path={text_file}",
                   f"--output_dir={tmp_path}")
    assert proc.returncode == 2 and "not a Keras model file" in error_line(proc)
    # refused before TensorFlow starts, and before anything says "running"
    assert "running" not in proc.stdout + proc.stderr
    assert not (tmp_path / "user_model_prune_quant").exists()


CIFAR_MEAN = "0.4914,0.4822,0.4465"
CIFAR_STD = "0.247,0.2435,0.2616"


@pytest.mark.slow
@pytest.mark.real_data
def test_external_resnet20_round_trip_from_the_cli(data_dir, tmp_path):
    import json

    proc = run_cli("--experiment=user_model_prune_quant", "--profile=tiny",
                   f"--model_path={data_dir / 'resnet20_cifar10_external.h5'}",
                   "--dataset=cifar10", f"--mean={CIFAR_MEAN}", f"--std={CIFAR_STD}",
                   "--override=data.test_limit=500",
                   f"--data_dir={data_dir}", f"--output_dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = tmp_path / "user_model_prune_quant" / "tiny"
    rows = {r["variant"]: r for r in json.loads((run_dir / "results.json").read_text())["rows"]}
    # the data README: about 81% on this JPEG copy of CIFAR-10 (500 test images: +-4 points)
    assert 0.74 <= rows["float32"]["tflite_accuracy"] <= 0.90
    assert abs(rows["float32"]["keras_accuracy"] - rows["float32"]["tflite_accuracy"]) <= 0.004
    assert rows["pruned50_int8"]["sparsity"] > 0.45
    assert (run_dir / "tflite" / "pruned50_int8.tflite").is_file()


def test_an_image_folder_is_resized_to_the_model_input_when_no_size_is_given(tmp_path):
    """A user's 24x24 model on a folder of 30x40 images: data.image_size comes from the
    model, and the card names the resize method."""
    from PIL import Image

    from tfcompress import catalogue
    from tfcompress.data import load
    from tfcompress.pipeline import Pipeline, preflight
    from tfcompress.recipe import apply_overrides

    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(20):
            Image.fromarray(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)).save(
                tmp_path / "imgs" / c / f"{i}.png")
    inp = keras.Input((24, 24, 3))
    keras.Model(inp, keras.layers.Dense(2, activation="softmax")(
        keras.layers.GlobalAveragePooling2D()(inp))).save(tmp_path / "m.keras")
    recipe = apply_overrides(catalogue.experiment("user_model_prune_quant").for_profile("tiny"),
                             {"model.path": str(tmp_path / "m.keras"),
                              "data.name": "image_folder", "data.path": str(tmp_path / "imgs")})
    fitted = preflight.image_size_from_model(Pipeline(recipe, profile="tiny",
                                                      output_dir=tmp_path / "out").context)
    assert fitted.data.image_size == (24, 24)
    data = load(fitted.data)
    assert data.input_shape == (24, 24, 3)
    assert data.input_card()["resize"].startswith("PIL bilinear")


def test_a_python_caller_is_told_the_python_spelling_first(tmp_path):
    """The same refusal from ``tfcompress.run``: its arguments first, the flags after."""
    import tfcompress

    with pytest.raises(InputError) as e:
        tfcompress.run("user_model_prune_quant", profile="tiny", output_dir=tmp_path)
    message = str(e.value)
    assert "your own model: pass overrides={'model.path': 'model.keras'}" in message, message
    assert message.index("overrides=") < message.index("(command line: pass --model_path=")
    assert not list(tmp_path.iterdir())  # nothing written
    # the model builder behind the recipe says the same when reached without a path
    with pytest.raises(InputError, match="your own model: pass overrides="):
        user_file.needs_path((8, 8, 1), 10)

