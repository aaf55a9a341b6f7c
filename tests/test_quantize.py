import numpy as np
import pytest

from support import trained_digits_cnn
from tfcompress import litert
from tfcompress._keras import keras
from tfcompress.quantize import coverage, tflite
from tfcompress.recipe import ExportSpec
from tfcompress.train import loop


@pytest.fixture(scope="module")
def trained():
    return trained_digits_cnn([8, 16], 32, epochs=8)


@pytest.mark.parametrize("io", [None, "int8"])
def test_int8_has_uint8_io_by_default_int8_on_request_and_no_float_ops(trained, io):
    model, data = trained
    content = tflite.convert(model, ExportSpec("int8", calibration_samples=32, io=io),
                             data.x_train)
    want = io or "uint8"  # what MediaPipe and Android take
    cov = coverage.coverage(content)
    assert cov["input_dtype"] == want and cov["output_dtype"] == want
    assert cov["float_ops"] == [] and cov["fully_quantized"]
    assert cov["ops"].get("float", 0) == 0 and cov["ops"]["quantized"] >= 5
    lite = litert.LiteModel(content)
    assert lite.input["dtype"] == np.dtype(want) and lite.output["dtype"] == np.dtype(want)


@pytest.mark.parametrize("io, zero", [(None, 0), ("int8", -128)])
def test_a_pixel_model_gets_the_byte_range_as_its_input_scale(trained, io, zero):
    """Wrapped to take pixels, an integer file's input is the image's bytes: scale 1."""
    from tfcompress.quantize import serving

    model, data = trained
    served = serving.wrap(model, data)
    serving.check_exact(model, served, data)
    content = tflite.convert(served, ExportSpec("int8", calibration_samples=16, io=io),
                             data.x_train, pixels=data.pixels)
    lite = litert.LiteModel(content)
    assert lite.input["quantization"] == (1.0, zero)
    acc = litert.accuracy(lite, data.x_test, data.y_test, prepare=data.pixels)
    keras_acc = float(np.mean(np.argmax(model.predict(data.x_test, verbose=0), -1)
                              == data.y_test))
    assert abs(acc - keras_acc) <= INT8_TOLERANCE


def test_float32_and_dynamic_are_reported_as_float(trained):
    model, data = trained
    f32 = coverage.coverage(tflite.convert(model, ExportSpec("float32")))
    dyn = coverage.coverage(tflite.convert(model, ExportSpec("dynamic")))
    assert not f32["fully_quantized"] and "CONV_2D" in f32["float_ops"]
    assert f32["ops"].get("hybrid", 0) == 0
    assert dyn["ops"].get("hybrid", 0) >= 1 and not dyn["fully_quantized"]


# Tolerances: float32 TFLite computes the same function as Keras up to float rounding, so
# predictions agree on all but a tie or two; int8 may move a few borderline examples.
FLOAT_TOLERANCE = 0.005
INT8_TOLERANCE = 0.03


def test_tflite_accuracy_matches_keras(trained):
    model, data = trained
    keras_acc = loop.accuracy(model, data.x_test, data.y_test)
    assert keras_acc > 0.5, "the fixture model must have learned something"
    f32 = litert.LiteModel(tflite.convert(model, ExportSpec("float32")))
    np.testing.assert_allclose(f32.predict(data.x_test), model.predict(data.x_test, verbose=0),
                               atol=1e-4)
    assert abs(litert.accuracy(f32, data.x_test, data.y_test) - keras_acc) <= FLOAT_TOLERANCE
    i8 = litert.LiteModel(tflite.convert(model, ExportSpec("int8", calibration_samples=64),
                                         data.x_train))
    assert abs(litert.accuracy(i8, data.x_test, data.y_test) - keras_acc) <= INT8_TOLERANCE


def test_int8_input_quantization_round_trips(trained):
    model, data = trained
    lite = litert.LiteModel(tflite.convert(model, ExportSpec("int8", calibration_samples=16),
                                           data.x_train))
    x = data.x_test[:5]
    q = lite.quantize_input(x)
    scale, zero = lite.input["quantization"]
    np.testing.assert_allclose((q.astype(np.float32) - zero) * scale, x, atol=scale)


def test_int8_export_needs_calibration_data(trained):
    model, _ = trained
    with pytest.raises(ValueError, match="calibration"):
        tflite.convert(model, ExportSpec("int8"))


@pytest.mark.parametrize("mode", ["float32_sparse", "int8_sparse"])
def test_sparse_encoded_export_runs_and_matches_the_dense_encoding(trained, mode):
    from tfcompress.prune import masks

    model, data = trained
    pruned = keras.models.clone_model(model)
    pruned.set_weights(model.get_weights())
    masks.apply(pruned, masks.magnitude(pruned, 0.8))
    dense_mode = mode.replace("_sparse", "")
    spec = ExportSpec(dense_mode, calibration_samples=32)
    dense = tflite.convert(pruned, spec, data.x_train)
    sparse = tflite.convert(pruned, ExportSpec(mode, calibration_samples=32), data.x_train)
    assert sparse != dense
    a = litert.LiteModel(dense).predict(data.x_test)
    b_model = litert.LiteModel(sparse)
    b = b_model.predict(data.x_test)
    assert isinstance(b_model.xnnpack, bool)
    assert np.mean(np.argmax(a, 1) == np.argmax(b, 1)) >= 0.98


def test_coverage_command_names_each_op_and_refuses_junk(trained, tmp_path, capsys):
    model, data = trained
    good = tmp_path / "m.tflite"
    good.write_bytes(tflite.convert(model, ExportSpec("dynamic")))
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a flatbuffer")
    assert coverage.main([str(good)]) == 0
    out = capsys.readouterr().out
    assert "NOT fully integer" in out and "CONV_2D" in out and "hybrid" in out
    assert coverage.main([str(junk)]) == 2
    assert "junk.tflite: not a readable TFLite file" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["float32", "int8"])
def test_convert_writes_the_same_bytes_as_from_keras_model(mode):
    """``convert`` writes a Keras 2 model's serving SavedModel itself (several times faster on
    models with batch norm); the file is byte for byte what ``from_keras_model`` gives
    (``scripts/conversion_parity.py`` checks every family and mode), and a model it cannot
    write that way still converts through ``from_keras_model``."""
    from unittest import mock

    from tfcompress._keras import tf
    from tfcompress.models import build

    model = build("resnet", (32, 32, 3), 10, {"depth": 8, "widths": [4, 8, 16]})
    x = np.random.default_rng(0).random((16, 32, 32, 3), "float32")
    spec = ExportSpec(mode, calibration_samples=8)
    content = tflite.convert(model, spec, x)
    with mock.patch.object(tflite, "_converter",
                           lambda m, tmp: tf.lite.TFLiteConverter.from_keras_model(m)):
        assert content == tflite.convert(model, spec, x)
    with mock.patch.object(tflite, "keras_saved_model", side_effect=ValueError("untracked")):
        assert tflite.convert(model, spec, x) == content
