"""The quantization suite: export modes and their I/O, QAT (annotate/apply, schemes),
weight clustering, and what each leaves in the .tflite file."""

from __future__ import annotations

import numpy as np
import pytest

from support import trained_digits_cnn
from tfcompress import litert
from tfcompress._keras import keras
from tfcompress.errors import InputError
from tfcompress.prune import masks
from tfcompress.quantize import cluster, coverage, qat, tflite
from tfcompress.recipe import (ClusterSpec, DistillSpec, ExportSpec, ModelSpec, PruneSpec,
                               QatSpec, Variant)
from tfcompress.train import loop


@pytest.fixture(scope="module")
def trained():
    return trained_digits_cnn([8, 16], 32, epochs=6)


def _fit(model, data, epochs=1):
    loop.compile_model(model, _train(epochs))
    model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=32, verbose=0)
    return model


def _train(epochs=1):
    from tfcompress.recipe import TrainSpec

    return TrainSpec(epochs=epochs, learning_rate=1e-4)


@pytest.mark.parametrize("spec, io", [
    (ExportSpec("int8", io="uint8"), "uint8"),
    (ExportSpec("int8", io="float32"), "float32"),
    (ExportSpec("int16x8"), "float32"),  # what apps take, by default
    (ExportSpec("int16x8", io="int16"), "int16"),
])
def test_integer_modes_have_the_io_asked_for_and_keep_accuracy(trained, spec, io):
    model, data = trained
    content = tflite.convert(model, spec, data.x_train)
    cov = coverage.coverage(content)
    assert cov["input_dtype"] == io and cov["output_dtype"] == io
    keras_acc = loop.accuracy(model, data.x_test, data.y_test)
    lite_acc = litert.accuracy(litert.LiteModel(content), data.x_test, data.y_test)
    assert abs(lite_acc - keras_acc) <= 0.03


def test_float16_halves_the_weights_and_per_tensor_has_one_scale(trained):
    model, data = trained
    f32 = tflite.convert(model, ExportSpec("float32"))
    f16 = tflite.convert(model, ExportSpec("float16"))
    assert 0.4 < len(f16) / len(f32) < 0.65
    assert "DEQUANTIZE" in coverage.coverage(f16)["op_types"]

    def conv_scales(content):
        interp = litert.Interpreter(model_content=content)
        return [len(t["quantization_parameters"]["scales"]) for t in interp.get_tensor_details()
                if t["name"].endswith("conv1/Conv2D") or t["name"].endswith("conv1/Conv2D1")]

    per_channel = tflite.convert(model, ExportSpec("int8"), data.x_train)
    per_tensor = tflite.convert(model, ExportSpec("int8", per_channel=False), data.x_train)
    assert max(conv_scales(per_channel)) == 8  # one scale per output channel
    assert max(conv_scales(per_tensor)) == 1


def test_export_spec_refuses_impossible_combinations():
    with pytest.raises(InputError, match="export.io of mode float32"):
        ExportSpec("float32", io="uint8")
    with pytest.raises(InputError, match="int16"):
        ExportSpec("int16x8", io="int8")
    with pytest.raises(InputError, match="per_channel"):
        ExportSpec("dynamic", per_channel=False)


def test_variant_stages_are_validated():
    student = DistillSpec(ModelSpec("lenet_300_100"))
    with pytest.raises(InputError, match="after quantization-aware training"):
        Variant("v", ExportSpec("float32"), qat=QatSpec())
    with pytest.raises(InputError, match="prune stage"):
        Variant("v", ExportSpec("int8"), qat=QatSpec("pqat"))
    with pytest.raises(InputError, match="cluster stage"):
        Variant("v", ExportSpec("int8"), PruneSpec(0.5), qat=QatSpec("pcqat"))
    with pytest.raises(InputError, match="export.per_channel"):
        Variant("v", ExportSpec("int8", per_channel=False), qat=QatSpec())
    with pytest.raises(InputError, match="unless the variant is pruned"):
        Variant("v", cluster=ClusterSpec(preserve_sparsity=True))
    with pytest.raises(InputError, match="cluster.clusters"):
        ClusterSpec(1)
    with pytest.raises(InputError, match="qat.scheme"):
        QatSpec("pqta")
    with pytest.raises(InputError, match="distill.temperature"):
        DistillSpec(ModelSpec("lenet_300_100"), temperature=0)
    v = Variant("v", ExportSpec("int8"), PruneSpec(0.5), distill=student,
                cluster=ClusterSpec(8, preserve_sparsity=True), qat=QatSpec("pcqat"))
    assert v.stages == ("distill", "prune", "cluster", "qat")


def test_qat_model_is_fully_int8_and_leaves_unsupported_layers_in_float(trained):
    model, data = trained
    q, left = qat.apply(model)
    assert left == [] and qat.is_qat(q)
    _fit(q, data)
    cov = coverage.coverage(tflite.convert(q, ExportSpec("int8"), data.x_train))
    assert cov["fully_quantized"] and cov["input_dtype"] == "uint8"

    layers = keras.layers
    inputs = keras.Input((8,))
    x = layers.Dense(8, name="fc")(inputs)
    x = layers.LayerNormalization(name="norm")(x)
    out = layers.Dense(3, activation="softmax", name="out")(x)
    partial, left = qat.apply(keras.Model(inputs, out), skip=["out"])
    assert {(u["name"], u["why"]) for u in left} == {
        ("out", "qat.skip"), ("norm", "tfmot has no 8-bit quantize config for it here")}
    wrapped = {l.name for l in partial.layers if isinstance(l, qat._Q.QuantizeWrapper)}
    assert "quant_fc" in wrapped and not {"quant_out", "quant_norm"} & wrapped
    with pytest.raises(InputError, match="qat.skip"):
        qat.apply(model, skip=["nope"])


def test_pqat_keeps_the_sparsity_it_was_given(trained):
    model, data = trained
    pruned = keras.models.clone_model(model)
    pruned.set_weights(model.get_weights())
    m = masks.magnitude(pruned, 0.7, "layer", ())
    masks.apply(pruned, m)
    q, _ = qat.apply(pruned, "pqat")
    _fit(q, data, epochs=2)
    plain_q, _ = qat.apply(pruned, "default")
    _fit(plain_q, data, epochs=2)

    def file_sparsity(m):
        w = litert.weights(tflite.convert(m, ExportSpec("int8"), data.x_train))
        return sum(t["zeros"] for t in w) / sum(t["size"] for t in w)

    given = file_sparsity(pruned)
    assert given > 0.6
    assert abs(file_sparsity(q) - given) <= 0.001
    assert file_sparsity(plain_q) < given - 0.05  # what plain QAT would have lost


def test_clustering_leaves_at_most_k_values_and_a_smaller_gzip(trained):
    model, data = trained
    original = [w.copy() for w in model.get_weights()]
    clustered = _fit(cluster.apply(model, 16), data)
    for a, b in zip(original, model.get_weights()):  # the input model is left alone
        np.testing.assert_array_equal(a, b)
    plain = cluster.strip(clustered)
    uniques = cluster.unique_values(plain)
    assert uniques and all(n <= 16 for n in uniques.values())
    from tfcompress.benchmark.size import file_sizes

    before = file_sizes(tflite.convert(model, ExportSpec("float32")))["gzip_bytes"]
    after_content = tflite.convert(plain, ExportSpec("float32"))
    assert file_sizes(after_content)["gzip_bytes"] < 0.5 * before
    assert max(t["unique"] for t in litert.weights(after_content)) <= 16
    cq, _ = qat.apply(plain, "cqat")
    _fit(cq, data)
    int8 = litert.weights(tflite.convert(cq, ExportSpec("int8"), data.x_train))
    assert max(t["unique_per_channel_max"] for t in int8) <= 16
