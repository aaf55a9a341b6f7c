"""``prune.method: resolution`` (``tfcompress/prune/methods/resolution.py``): the same layers on
a smaller image, found by a speed target, the file still taking the dense file's images.

No test depends on the machine's speed: ``structured.speed.measure`` is replaced by the ratio of
the two files' activation sizes (every tensor of the file but its weights), which falls with the
square of the side, as multiply-adds and latency do."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tfcompress
from tfcompress import ExportSpec, PruneSpec, Variant
from tfcompress.errors import InputError
from tfcompress.recipe import BenchmarkSpec, DataSpec, ModelSpec, Recipe, TrainSpec
from tfcompress.structured import speed


def _activations(tflite: bytes) -> int:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=tflite)
    it.allocate_tensors()
    constant = {d["index"] for d in it.get_tensor_details() if d["name"].endswith("kernel")}
    return sum(int(np.prod(d["shape"])) for d in it.get_tensor_details()
               if d["index"] not in constant and len(d["shape"]) == 4)


def by_activations(dense, candidate, x, bench):
    s = _activations(dense) / _activations(candidate)
    return s, s, s


def _recipe(*variants, name="resolution_t", model="tiny_mobilenet"):
    options = {"widths": [8, 16]} if model == "tiny_mobilenet" else {}
    return Recipe(
        name=name, description="resolution test",
        data=DataSpec("mnist", train_limit=600, test_limit=200),
        model=ModelSpec(model, options),
        train=TrainSpec(epochs=1, batch_size=32), finetune=TrainSpec(epochs=1, batch_size=32),
        variants=(Variant("float32", ExportSpec("float32")), *variants),
        benchmark=BenchmarkSpec(threads=(1,), warmup_runs=1, min_runs=3, min_seconds=0.0,
                                throughput_batch=2))


@pytest.mark.real_data
def test_a_speed_target_is_met_by_a_smaller_image_with_every_weight_kept(
        data_dir, cached_out, monkeypatch):
    from support import check_tiny_run
    from tfcompress import litert

    monkeypatch.setattr(speed, "measure", by_activations)
    recipe = _recipe(Variant("small_image", ExportSpec("float32"),
                             PruneSpec(0.5, method="resolution", target_speedup=1.5,
                                       round_to=4, search_steps=2)),
                     Variant("half_int8", ExportSpec("int8"),
                             PruneSpec(0.5, method="resolution", recovery="distill")))
    result = tfcompress.run(recipe, output_dir=cached_out, data_dir=data_dir)
    check_tiny_run(recipe, result.run_dir)
    saved = {v["variant"]: v for v in json.loads(
        (result.run_dir / "results.json").read_text())["variants"]}
    dense = result.row("float32")
    found = saved["small_image"]["source"]["speed_target"]
    side = saved["small_image"]["source"]["input_side"]
    assert found["target"] == 1.5 and found["reached"] >= 1.5, found
    assert side[0] == 28 and side[1] < 28 and side[1] % 4 == 0, side
    assert saved["half_int8"]["source"]["input_side"] == [28, 14]  # 1 - 0.5 of the side
    for name in ("small_image", "half_int8"):
        row = result.row(name)
        assert row.params == dense.params  # every weight kept ...
        assert row.macs < dense.macs  # ... on smaller maps
        # the file still takes the dense file's 28x28 images
        file = litert.LiteModel(result.run_dir / "tflite" / f"{name}.tflite")
        assert list(file.input["shape"]) == [1, 28, 28, 1]
    assert result.row("half_int8").macs < 0.3 * dense.macs  # a quarter of the pixels
    assert "input resolution for 1.5x" in (result.run_dir / "report.md").read_text()


@pytest.mark.real_data
def test_a_model_whose_weights_depend_on_the_image_side_is_refused_before_training(
        data_dir, tmp_path):
    recipe = _recipe(Variant("small_image", ExportSpec("float32"),
                             PruneSpec(0.5, method="resolution")),
                     name="resolution_flatten", model="mnist_cnn")
    with pytest.raises(InputError, match="cannot take a 14x14 image instead of 28x28") as e:
        tfcompress.run(recipe, output_dir=tmp_path, data_dir=data_dir)
    assert "\n" not in str(e.value)
    assert not list((tmp_path / "cache").glob("train-*"))  # refused before training


def test_resolution_fields_are_checked_where_they_enter():
    PruneSpec(0.5, method="resolution", target_speedup=2.0, round_to=8, recovery="distill")
    with pytest.raises(InputError, match="prune.skip must be unset for method resolution"):
        PruneSpec(0.5, method="resolution", skip=("conv1",))
    with pytest.raises(InputError, match="prune.scope"):
        PruneSpec(0.5, method="resolution", scope="global")
    with pytest.raises(InputError, match="criterion must be l1 unless method is filters"):
        PruneSpec(0.5, method="resolution", criterion="taylor")


@pytest.mark.parametrize("flavour", ["keras2", "keras3"])
def test_the_smaller_model_takes_the_same_images_and_keeps_every_weight(flavour):
    """On both Kerases: the input stays 28x28, a Resizing layer after it makes 12x12, every
    weight is the dense model's, and the outputs are the dense layers' on the resized image."""
    from tfcompress.prune.methods import resolution

    if flavour == "keras3":
        import keras as k
    else:
        from tfcompress._keras import keras as k
    k.utils.set_random_seed(0)
    inp = k.Input((28, 28, 1), name="image")
    x = k.layers.Conv2D(4, 3, strides=2, padding="same", name="c1")(inp)
    x = k.layers.BatchNormalization(name="bn")(x)
    x = k.layers.GlobalAveragePooling2D(name="gap")(x)
    dense = k.Model(inp, k.layers.Dense(3, name="logits")(x))
    small = resolution.at_side(dense, 12)
    assert tuple(small.inputs[0].shape) == (None, 28, 28, 1)
    assert tuple(small.get_layer("input_resize").output.shape) == (None, 12, 12, 1)
    assert all(np.array_equal(a, b) for a, b in zip(dense.get_weights(), small.get_weights()))
    images = np.random.default_rng(0).normal(size=(2, 28, 28, 1)).astype("float32")
    resized = np.asarray(k.layers.Resizing(12, 12)(images))
    twelve = k.Model.from_config(resolution.json_config(dense, 12))  # the layers at 12x12
    twelve.set_weights(dense.get_weights())
    np.testing.assert_allclose(np.asarray(small(images)), np.asarray(twelve(resized)),
                               atol=1e-5)
    with pytest.raises(InputError, match="one square image input"):
        resolution.at_side(_rectangular(k), 12)


def _rectangular(k):
    inp = k.Input((28, 14, 1))
    return k.Model(inp, k.layers.GlobalAveragePooling2D()(inp))


def test_compress_makes_a_keras3_model_faster_with_a_smaller_image(tmp_path, monkeypatch):
    """``compress(..., speedup=, method="resolution")`` on a Keras 3 model in memory: the
    search, the fine-tuning at the new side and the files, all in Keras 3."""
    import keras
    from sklearn.datasets import load_digits

    from tfcompress import flavor

    monkeypatch.setattr(speed, "measure", by_activations)
    digits = load_digits()
    x = np.repeat(np.repeat(digits.images[..., None] / 16.0, 2, axis=1), 2, axis=2)  # 16x16
    y = digits.target
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((16, 16, 1)),
                              keras.layers.Conv2D(8, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x[:1400], y[:1400], epochs=2, verbose=0)
    model.layers[0].trainable = False  # frozen, as a saved transfer model holds its backbone
    kernel = np.array(model.layers[0].kernel)
    result = tfcompress.compress(model, (x[:1400], y[:1400]), test=(x[1400:], y[1400:]),
                                 speedup=1.5, method="resolution", exports=["float32"],
                                 epochs=1, output_dir=tmp_path)
    small = result.models["speedup1_5x_float32"]
    conv = next(layer for layer in small.layers if isinstance(layer, keras.layers.Conv2D))
    assert not np.array_equal(np.array(conv.kernel), kernel)  # every layer adapts to the side
    row, dense = result.row("speedup1_5x_float32"), result.row("float32")
    assert row.params == dense.params and row.macs < dense.macs / 1.5
    assert flavor.which(result.models["speedup1_5x_float32"]) == flavor.KERAS3
    saved = json.loads((result.run_dir / "results.json").read_text())["variants"]
    side = next(v["source"]["input_side"] for v in saved if v["variant"] == row.variant)
    assert side == [16, 8]  # the only multiple of 8 below 16
