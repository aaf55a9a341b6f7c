"""Keras model -> TFLite flatbuffer, configured by export mode.

Modes (``export.mode``): ``float32``; ``float16`` (half-precision weights, float compute);
``dynamic`` (int8 weights, activations quantized on the fly); ``int8`` (full integer, per-channel
conv weights, ``export.io`` int8 / uint8 / float32 inputs and outputs); ``int16x8`` (int16
activations, int8 weights: for models whose activations int8 cannot hold); ``*_sparse``: the
same with sparse tensor encoding of pruned weights.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from tensorflow.lite.python import conversion_metadata_schema_py_generated as _conversion_metadata
from tensorflow.python.saved_model import save_options
from tf_keras.src.saving.legacy import saving_utils

from tfcompress._keras import keras, tf
from tfcompress.litert import LiteModel
from tfcompress.progress import progress
from tfcompress.quantize import CALIBRATED_MODES, EXPORT_MODES

if TYPE_CHECKING:
    from tfcompress.recipe import ExportSpec

RepresentativeDataset = Callable[[], Iterator[list[np.ndarray]]]


#: the byte range of an integer pixel input: its scale is 1 and its zero point 0 (uint8)
PIXEL_BYTES = (0.0, 255.0)


def convert(model: keras.Model, spec: ExportSpec, calibration_x: np.ndarray | None = None,
            seed: int = 0, pixels: Callable[[np.ndarray], np.ndarray] | None = None) -> bytes:
    """Converts ``model`` (a Keras model, or the path of a SavedModel) to a TFLite flatbuffer.

    Args:
      spec: the export mode and, for int8, how many calibration samples to use.
      calibration_x: training inputs to draw the representative dataset from (int8 only).
      seed: which calibration samples are drawn.
      pixels: for a model that takes pixels (``serving.wrap``), what turns ``calibration_x``
        (model inputs) into them (``Dataset.pixels``). An integer input then gets scale 1 and
        zero point 0 (uint8; int8: -128), so an image's bytes are the input as they are:
        calibration sets one pixel of its first sample to 0 and one to 255 so that the
        input's observed range is exactly the byte range; this is checked after conversion.
    """
    with tempfile.TemporaryDirectory(prefix="tfcompress-savedmodel-") as tmp:
        return _convert(_converter(model, tmp), spec, calibration_x, seed, pixels)


def _converter(model, tmp: str) -> tf.lite.TFLiteConverter:
    """The converter of ``model``: a SavedModel folder as it is; a Keras 2 model through the
    SavedModel of its serving signature alone (``keras_saved_model``), which converts to the
    same bytes as ``from_keras_model`` several times faster; a Keras 3 model by
    ``from_keras_model``."""
    if isinstance(model, (str, os.PathLike)):  # a SavedModel folder, converted as it is
        return tf.lite.TFLiteConverter.from_saved_model(str(model))
    if isinstance(model, keras.Model):
        try:
            keras_saved_model(model, tmp)
        except Exception:  # noqa: BLE001 - what from_keras_model falls back from, too
            return tf.lite.TFLiteConverter.from_keras_model(model)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        # what the file records as the model it came from: a Keras model, as from_keras_model
        converter._metadata.environment.modelType = _conversion_metadata.ModelType.KERAS_MODEL
        return converter
    return tf.lite.TFLiteConverter.from_keras_model(model)


def keras_saved_model(model: keras.Model, path: str) -> None:
    """Writes the SavedModel ``TFLiteConverter.from_keras_model`` converts a Keras 2 model
    from, without what it also writes and the converter never reads: Keras' own traces of
    every layer's call (most of a conversion's time). The serving signature is Keras' own
    (``trace_model_call``: training off, outputs named by ``model.output_names``)."""
    serve = saving_utils.trace_model_call(model)
    root = tf.Module()
    root.model_variables = list(model.variables)  # what the signature reads
    tf.saved_model.save(root, path, signatures={"serving_default": serve},
                        options=save_options.SaveOptions(save_debug_info=True))


def _convert(converter, spec: ExportSpec, calibration_x: np.ndarray | None, seed: int,
             pixels: Callable[[np.ndarray], np.ndarray] | None) -> bytes:
    rep = None
    if spec.mode in CALIBRATED_MODES:
        if calibration_x is None or len(calibration_x) == 0:
            raise ValueError(f"export mode {spec.mode!r} needs calibration data")
        rep = representative_dataset(calibration_x, spec.calibration_samples, seed, pixels)
    EXPORT_MODES.get(spec.mode)(converter, rep, spec)
    if not spec.per_channel:
        # Per-tensor weight scales, for accelerators that require them (a private switch, the
        # only one the converter has).
        converter._experimental_disable_per_channel = True
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        # "Statistics for quantized inputs were expected": int8 I/O takes its scale from
        # calibration, which is what we want. Keras 3 prints its export signature to stdout.
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
        content = converter.convert()
    if pixels is not None and rep is not None:
        check_pixel_input(content)
    return content


def check_pixel_input(content: bytes) -> None:
    """An integer pixel input has scale 1 and the zero point of byte 0 (what MediaPipe and
    Android assume: they hand over the image's bytes)."""
    inp = LiteModel(content).input
    dtype = np.dtype(inp["dtype"])
    if not np.issubdtype(dtype, np.integer):
        return
    want = (1.0, 0 if dtype == np.uint8 else -128)
    scale, zero = inp["quantization"]
    if dtype in (np.uint8, np.int8) and (abs(scale - 1.0) > 1e-6 or zero != want[1]):
        raise RuntimeError(f"the {dtype.name} pixel input got scale {scale} and zero point "
                           f"{zero}; an app's pixels need {want}")


def representative_dataset(x: np.ndarray, samples: int, seed: int,
                           pixels: Callable[[np.ndarray], np.ndarray] | None = None
                           ) -> RepresentativeDataset:
    """A generator of single training examples, the converter's calibration input; with
    ``pixels``, each turned into pixels and the first sample's first value set to 0 and its
    last to 255, so that the input's observed range is exactly the byte range."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(x), size=min(samples, len(x)), replace=False)

    def gen() -> Iterator[list[np.ndarray]]:
        for n, i in enumerate(progress(idx, desc="calibrating", unit="sample")):
            sample = x[i:i + 1].astype(np.float32)
            if pixels is not None:
                sample = np.array(pixels(sample), dtype=np.float32)
                if n == 0:
                    flat = sample.reshape(-1)
                    flat[0], flat[-1] = PIXEL_BYTES
            yield [sample]

    return gen


_IO = {"int8": tf.int8, "uint8": tf.uint8, "int16": tf.int16, "float32": tf.float32}


def _io(converter, spec: ExportSpec) -> None:
    io = _IO[spec.io_type]
    converter.inference_input_type = io
    converter.inference_output_type = io


def configure_float32(converter, rep: RepresentativeDataset | None, spec: ExportSpec) -> None:
    del converter, rep, spec  # the converter's default is float32


def configure_float16(converter, rep: RepresentativeDataset | None, spec: ExportSpec) -> None:
    """float16 weights (half the file), dequantized to float32 at load or run time."""
    del rep, spec
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]


def configure_dynamic(converter, rep: RepresentativeDataset | None, spec: ExportSpec) -> None:
    """Dynamic range: int8 weights, float activations quantized on the fly."""
    del rep, spec
    converter.optimizations = [tf.lite.Optimize.DEFAULT]


def configure_int8(converter, rep: RepresentativeDataset | None, spec: ExportSpec) -> None:
    """Full integer: int8 weights and activations, no float fallback; I/O as ``export.io``."""
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = rep
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    _io(converter, spec)


def configure_int16x8(converter, rep: RepresentativeDataset | None, spec: ExportSpec) -> None:
    """int16 activations with int8 weights (TFLite's experimental 16x8 mode)."""
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = rep
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    _io(converter, spec)


def configure_float32_sparse(converter, rep: RepresentativeDataset | None,
                             spec: ExportSpec) -> None:
    """float32 with sparse tensor encoding of pruned weights (``EXPERIMENTAL_SPARSITY``):
    smaller files; XNNPACK decides at load time whether it runs them as sparse."""
    del rep, spec
    converter.optimizations = [tf.lite.Optimize.EXPERIMENTAL_SPARSITY]


def configure_int8_sparse(converter, rep: RepresentativeDataset | None,
                          spec: ExportSpec) -> None:
    """Full int8 plus sparse tensor encoding."""
    configure_int8(converter, rep, spec)
    converter.optimizations = [tf.lite.Optimize.DEFAULT, tf.lite.Optimize.EXPERIMENTAL_SPARSITY]
