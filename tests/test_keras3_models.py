"""Keras 3 models in and out: files and objects through the pipeline, exact tf_keras twins."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import tfcompress
from tfcompress import flavor, sparsity
from tfcompress.errors import InputError
from tfcompress.models import keras3, user_file


def functional_cnn():
    """Residual, batch norm, a nested Sequential head, logits out (as Keras 3 guides do)."""
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(16, 3, activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    y = keras.layers.Conv2D(16, 3, padding="same")(x)
    x = keras.layers.ReLU()(keras.layers.Add()([x, y]))
    x = keras.layers.GlobalAveragePooling2D()(x)
    head = keras.Sequential([keras.Input((16,)), keras.layers.Dense(10)], name="head")
    return keras.Model(inputs, head(x), name="functional_cnn")


def sequential_cnn():
    return keras.Sequential([
        keras.Input((32, 32, 3)), keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dropout(0.1),
        keras.layers.Dense(10, activation="softmax")], name="sequential_cnn")


def mobilenet_v2():
    return keras.applications.MobileNetV2(input_shape=(32, 32, 3), weights=None, classes=10)


def _randomised_batch_norm(model):
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights([w + np.random.default_rng(1).uniform(0.1, 1, w.shape)
                               .astype("float32") for w in layer.get_weights()])
    return model


@pytest.mark.parametrize("build", [functional_cnn, sequential_cnn, mobilenet_v2])
def test_twins_compute_the_same_outputs_both_ways(build):
    keras.utils.set_random_seed(0)
    model = _randomised_batch_norm(build())
    twin = keras3.to_keras2(model)
    assert flavor.which(twin) == flavor.KERAS2 and flavor.which(model) == flavor.KERAS3
    back = keras3.to_keras3(twin)
    x = np.random.default_rng(0).uniform(size=(4, 32, 32, 3)).astype("float32")
    for other in (twin, back):
        np.testing.assert_allclose(np.asarray(other(x, training=False)),
                                   np.asarray(model(x, training=False)), atol=1e-5)
    assert [w.shape for w in back.get_weights()] == [w.shape for w in model.get_weights()]


def test_a_layer_tf_keras_lacks_is_refused_by_name():
    inputs = keras.Input((8,))
    model = keras.Model(inputs, keras.layers.RMSNormalization()(keras.layers.Dense(4)(inputs)))
    with pytest.raises(InputError, match="RMSNormalization, which tf_keras does not have"):
        keras3.to_keras2(model)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("build", [functional_cnn, sequential_cnn, mobilenet_v2])
def test_keras3_files_are_recognised_and_load_as_exact_twins(tmp_path, suffix, build):
    keras.utils.set_random_seed(0)
    model = _randomised_batch_norm(build())
    path = tmp_path / f"m{suffix}"
    model.save(path)
    assert flavor.of_file(path) == flavor.KERAS3
    loaded = user_file.load(path)
    x = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-5)


def test_a_keras3_lambda_is_refused_and_an_export_folder_explained(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2)(inputs))
    model.save(tmp_path / "lam.h5")
    with pytest.raises(InputError, match="Lambda"):
        user_file.load(tmp_path / "lam.h5")
    model.save(tmp_path / "lam.keras")
    with pytest.raises(InputError, match="could not be loaded as a Keras 3 model"):
        user_file.load(tmp_path / "lam.keras")  # Keras 3's safe mode
    sequential_cnn().export(tmp_path / "exported", verbose=False)
    with pytest.raises(InputError, match="SavedModel without a Keras model.*model.export"):
        user_file.load(tmp_path / "exported")


def _trained(build, data):
    keras.utils.set_random_seed(0)
    model = build()
    logits = not model.layers[-1].get_config().get("activation") == "softmax"
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=logits))
    model.fit(data.x_train, data.y_train, epochs=2, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def cifar(data_dir):
    from tfcompress.data import load
    from tfcompress.recipe import DataSpec

    return load(DataSpec("cifar10", train_limit=1000, test_limit=500), data_dir=data_dir)


def _through_the_pipeline(build, suffix, cifar, tmp_path, data_dir):
    model = _trained(build, cifar)
    path = tmp_path / f"{model.name}{suffix}"
    model.save(path)
    result = tfcompress.run("user_model_prune_quant", profile="tiny", data_dir=data_dir,
                            output_dir=tmp_path / "out",
                            overrides={"model.path": str(path), "data.test_limit": 500})
    pruned = keras.saving.load_model(result.keras_files["pruned50_int8"])  # no custom objects
    assert flavor.which(pruned) == flavor.KERAS3
    assert (result.run_dir / "keras2" / "pruned50_int8.keras").is_file()  # the tf_keras twin
    rows = sparsity.layer_sparsity(pruned)
    zeros, params = (sum(r[k] for r in rows.values()) for k in ("zeros", "params"))
    assert zeros / params == pytest.approx(0.5, abs=0.01)
    row = result.row("pruned50_int8")
    assert abs(row["tflite_accuracy"] - row["keras_accuracy"]) <= 0.005
    # the model as it is, measured by the pipeline on its twin = measured by Keras 3 itself
    from dataclasses import replace

    from tfcompress import catalogue
    from tfcompress.data import load

    spec = catalogue.experiment("user_model_prune_quant").for_profile("tiny").data
    test = load(replace(spec, test_limit=500), data_dir=data_dir)
    own = np.mean(np.argmax(model.predict(test.x_test, verbose=0), -1) == test.y_test)
    assert result.row("float32")["keras_accuracy"] == pytest.approx(own, abs=1e-9)
    assert json.loads((result.run_dir / "results.json").read_text())["rows"]
    return result


@pytest.mark.real_data
@pytest.mark.parametrize("build, suffix", [(functional_cnn, ".keras"), (sequential_cnn, ".h5")])
def test_keras3_files_go_through_user_model_prune_quant(build, suffix, cifar, tmp_path,
                                                        data_dir):
    """Each model once, each file format once: that every model loads from either format as
    the same exact twin is test_keras3_files_are_recognised_and_load_as_exact_twins (the rest
    of the run is the same code whichever file it came from)."""
    _through_the_pipeline(build, suffix, cifar, tmp_path, data_dir)


@pytest.mark.slow
@pytest.mark.real_data
def test_keras3_mobilenet_v2_goes_through_user_model_prune_quant(cifar, tmp_path, data_dir):
    """Once, from a .keras file: that its .h5 file loads as the same exact twin is
    test_keras3_files_are_recognised_and_load_as_exact_twins (the rest of the run is the
    same code whichever file it came from)."""
    _through_the_pipeline(mobilenet_v2, ".keras", cifar, tmp_path, data_dir)


def test_a_keras3_model_object_is_compressed_from_memory(tmp_path):
    from sklearn.datasets import load_digits

    digits = load_digits()
    x, y = digits.images[..., None] / 16.0, digits.target
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(8, 3,
                              activation="relu"), keras.layers.Flatten(),
                              keras.layers.Dense(10)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x[:1400], y[:1400], epochs=3, verbose=0)
    result = tfcompress.compress(model, (x[:1400], y[:1400]), test=(x[1400:], y[1400:]),
                                 sparsity=0.7, exports=["int8"], epochs=1,
                                 output_dir=tmp_path)
    pruned = result.models["pruned70_int8"]
    assert flavor.which(pruned) == flavor.KERAS3
    rows = sparsity.layer_sparsity(pruned)
    assert all(r["sparsity"] == pytest.approx(0.7, abs=0.01) for r in rows.values())
    assert result.row("pruned70_int8")["tflite_accuracy"] > 0.5


def test_a_keras3_run_covers_every_stage_natively_or_on_the_exact_twin(tmp_path):
    """model.keras=3 on a registered model: the baseline trains in Keras 3, and so do the
    unstructured methods (gradual and 2:4 with tfcompress.sparsity; one-shot, iterative,
    lottery, SNIP with masks held by a Keras 3 callback), filter pruning and slimming (the
    channel analysis and rebuild read Keras 3 graphs), distillation (keras.distillation) and
    the sensitivity analysis; clustering and QAT (tfmot) run on the tf_keras twin. Every
    deliverable is a Keras 3 file."""
    from tfcompress.pipeline import Pipeline
    from tfcompress.recipe import (BenchmarkSpec, ClusterSpec, DataSpec, DistillSpec,
                                   ExportSpec, ModelSpec, PruneSpec, QatSpec, Recipe,
                                   SensitivitySpec, TrainSpec, Variant)

    def v(name, prune=None, export="float32", **kw):
        return Variant(name, ExportSpec(export), prune, **kw)

    recipe = Recipe(
        name="keras3_stages", description="every stage on a Keras 3 run (tiny)",
        data=DataSpec("digits", train_limit=400, test_limit=100),
        model=ModelSpec("digits_cnn", {"filters": [8, 8], "dense_units": 16,
                                       "batch_norm": True}, keras="3"),
        train=TrainSpec(epochs=2, batch_size=32), finetune=TrainSpec(epochs=2, batch_size=32),
        variants=(
            v("float32"),
            *(v(mode, export=mode) for mode in ("float16", "dynamic", "int8", "int16x8",
                                                "float32_sparse", "int8_sparse")),
            v("gradual", PruneSpec(0.8, frequency=5)),
            v("m_by_n", PruneSpec(0.5, method="m_by_n", m_by_n=(2, 4), frequency=5,
                                  skip=["first"])),
            v("oneshot", PruneSpec(0.7, method="oneshot")),
            v("lottery", PruneSpec(0.7, method="lottery")),
            v("iterative", PruneSpec(0.7, method="iterative", rounds=2)),
            v("snip", PruneSpec(0.7, method="snip", scope="global")),
            v("filters", PruneSpec(0.5, method="filters")),
            v("slimming", PruneSpec(0.5, method="slimming", scope="global")),
            v("kd", distill=DistillSpec(ModelSpec("lenet_300_100", {"hidden": [16]}))),
            v("clustered", cluster=ClusterSpec(clusters=8)),
            v("qat", export="int8", qat=QatSpec()),
        ),
        sensitivity=SensitivitySpec(ratios=(0.5, 0.9)),
        benchmark=BenchmarkSpec(threads=(1,), warmup_runs=1, min_runs=3, min_seconds=0.0,
                                throughput_batch=2))
    pipeline = Pipeline(recipe, profile="tiny", output_dir=tmp_path)
    result = pipeline.run()
    run_dir = result.run_dir
    variants = {r["variant"]: r for r in json.loads(
        (run_dir / "results.json").read_text())["variants"]}
    for name in ("float16", "dynamic", "int8", "int16x8", "float32_sparse", "int8_sparse"):
        assert variants[name]["tflite"]["tflite_accuracy"] == pytest.approx(
            variants["float32"]["tflite"]["tflite_accuracy"], abs=0.05), name  # every mode
    for name in ("gradual", "m_by_n", "oneshot", "lottery", "iterative", "snip", "filters",
                 "slimming", "kd", "clustered"):
        model = keras.saving.load_model(run_dir / "keras" / f"{name}.keras")
        assert flavor.which(model) == flavor.KERAS3, name
        # its float32 file computes what its Keras 3 model does: the same test accuracy
        # (within one of the 100 test examples)
        assert abs(variants[name]["tflite"]["tflite_accuracy"]
                   - variants[name]["source"]["keras_test_accuracy"]) <= 0.01 + 1e-9, name
    rows = sparsity.layer_sparsity(keras.saving.load_model(run_dir / "keras" / "gradual.keras"))
    assert all(r["sparsity"] == pytest.approx(0.8, abs=0.01) for r in rows.values())
    for name in ("oneshot", "lottery", "iterative", "snip"):
        rows = sparsity.layer_sparsity(keras.saving.load_model(run_dir / "keras" /
                                                               f"{name}.keras"))
        zeros, params = (sum(r[k] for r in rows.values()) for k in ("zeros", "params"))
        assert zeros / params == pytest.approx(0.7, abs=0.01), name
    native = {s.name: s for s in result.steps if s.kind == "prune"}
    assert {"oneshot70_layer", "lottery70_layer", "snip70_global"} <= set(native)
    assert {"filters50_layer", "slimming50_global"} <= set(native)
    made = [s for s in result.steps if s.kind in ("prune", "distill")]
    for step in made:  # every pruning method and the student were made by Keras 3
        saved = pipeline.context.runner.store.path(step.kind, step.key) / "model.keras"
        assert flavor.of_file(saved) == flavor.KERAS3, step.name
    assert any(s.kind == "distill" for s in made)
    assert variants["kd"]["source"]["teacher_accuracy"] == \
        variants["float32"]["source"]["keras_test_accuracy"]  # taught by the baseline
    run = json.loads((run_dir / "run.json").read_text())
    layers = run["sensitivity"]["layers"]  # analysed on the Keras 3 baseline
    assert len(layers) >= 3 and all(len(e["accuracy"]) == 2 for e in layers.values())
    assert any(e["accuracy"][1] < e["accuracy"][0] for e in layers.values())
    from tfcompress.prune.criteria import check_m_by_n

    m = keras.saving.load_model(run_dir / "keras" / "m_by_n.keras")
    assert check_m_by_n(m.get_layer("conv2").kernel.numpy(), 2, 4)
    baseline = next(s for s in result.steps if s.name == "baseline")
    saved = pipeline.context.runner.store.path(baseline.kind, baseline.key) / "model.keras"
    assert flavor.of_file(saved) == flavor.KERAS3  # trained by Keras 3
    dense = keras.saving.load_model(run_dir / "keras" / "float32.keras").count_params()
    for name in ("filters", "slimming"):
        assert keras.saving.load_model(run_dir / "keras" / f"{name}.keras").count_params() \
            < 0.8 * dense, name


@pytest.mark.real_data
def test_a_keras3_export_folder_is_converted_as_it_is_and_never_trained(tmp_path, data_dir):
    """model.export() writes a SavedModel without a Keras model: its post-training variants
    run (the graph is converted, never executed here), the training ones are left out with a
    line each; a recipe that would train it stops with one line."""
    from tfcompress.errors import InputError

    keras.utils.set_random_seed(0)
    model = sequential_cnn()
    model.export(tmp_path / "exported", verbose=False)
    result = tfcompress.run("user_model_prune_quant", profile="tiny", data_dir=data_dir,
                            output_dir=tmp_path / "out",
                            overrides={"model.path": str(tmp_path / "exported")})
    assert [r["variant"] for r in result.rows] == ["float32", "int8"]
    assert all(r["keras_accuracy"] is None and r["macs"] is None for r in result.rows)
    assert result.row("float32")["params"] == model.count_params()
    # the float32 .tflite computes what the Keras model did
    from tfcompress import litert

    x = np.random.default_rng(0).uniform(size=(3, 32, 32, 3)).astype("float32")
    lite = litert.LiteModel(result.tflite["float32"].read_bytes())
    np.testing.assert_allclose(lite.predict(x), model.predict(x, verbose=0), atol=1e-5)
    report = result.report.read_text()
    assert report.count("left out:") == 2 and "SavedModel without a Keras model" in report
    with pytest.raises(InputError, match="train.epochs must be 0"):
        tfcompress.run("user_model_prune_quant", profile="tiny", data_dir=data_dir,
                       output_dir=tmp_path / "out2",
                       overrides={"model.path": str(tmp_path / "exported"), "train.epochs": 1})
