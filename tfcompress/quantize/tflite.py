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
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from tfcompress._keras import keras, tf
from tfcompress.progress import progress
from tfcompress.quantize import CALIBRATED_MODES, EXPORT_MODES

if TYPE_CHECKING:
    from tfcompress.recipe import ExportSpec

RepresentativeDataset = Callable[[], Iterator[list[np.ndarray]]]


def convert(model: keras.Model, spec: ExportSpec, calibration_x: np.ndarray | None = None,
            seed: int = 0) -> bytes:
    """Converts ``model`` (a Keras model, or the path of a SavedModel) to a TFLite flatbuffer.

    Args:
      spec: the export mode and, for int8, how many calibration samples to use.
      calibration_x: training inputs to draw the representative dataset from (int8 only).
      seed: which calibration samples are drawn.
    """
    if isinstance(model, (str, os.PathLike)):  # a SavedModel folder, converted as it is
        converter = tf.lite.TFLiteConverter.from_saved_model(str(model))
    else:
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
    rep = None
    if spec.mode in CALIBRATED_MODES:
        if calibration_x is None or len(calibration_x) == 0:
            raise ValueError(f"export mode {spec.mode!r} needs calibration data")
        rep = representative_dataset(calibration_x, spec.calibration_samples, seed)
    EXPORT_MODES.get(spec.mode)(converter, rep, spec)
    if not spec.per_channel:
        # Per-tensor weight scales, for accelerators that require them (a private switch, the
        # only one the converter has).
        converter._experimental_disable_per_channel = True
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        # "Statistics for quantized inputs were expected": int8 I/O takes its scale from
        # calibration, which is what we want. Keras 3 prints its export signature to stdout.
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
        return converter.convert()


def representative_dataset(x: np.ndarray, samples: int, seed: int) -> RepresentativeDataset:
    """A generator of single training examples, the converter's calibration input."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(x), size=min(samples, len(x)), replace=False)

    def gen() -> Iterator[list[np.ndarray]]:
        for i in progress(idx, desc="calibrating", unit="sample"):
            yield [x[i:i + 1].astype(np.float32)]

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
