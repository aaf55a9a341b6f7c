"""Keras model -> TFLite flatbuffer, configured by export mode."""

from __future__ import annotations

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
    """Converts ``model`` to a TFLite flatbuffer.

    Args:
      spec: the export mode and, for int8, how many calibration samples to use.
      calibration_x: training inputs to draw the representative dataset from (int8 only).
      seed: which calibration samples are drawn.
    """
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    rep = None
    if spec.mode in CALIBRATED_MODES:
        if calibration_x is None or len(calibration_x) == 0:
            raise ValueError(f"export mode {spec.mode!r} needs calibration data")
        rep = representative_dataset(calibration_x, spec.calibration_samples, seed)
    EXPORT_MODES.get(spec.mode)(converter, rep)
    with warnings.catch_warnings():
        # "Statistics for quantized inputs were expected": int8 I/O takes its scale from
        # calibration, which is what we want.
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


def configure_float32(converter, rep: RepresentativeDataset | None) -> None:
    del converter, rep  # the converter's default is float32


def configure_dynamic(converter, rep: RepresentativeDataset | None) -> None:
    """Dynamic range: int8 weights, float activations quantized on the fly."""
    del rep
    converter.optimizations = [tf.lite.Optimize.DEFAULT]


def configure_int8(converter, rep: RepresentativeDataset | None) -> None:
    """Full integer: int8 weights and activations, int8 input and output, no float fallback."""
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = rep
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8


def configure_float32_sparse(converter, rep: RepresentativeDataset | None) -> None:
    """float32 with sparse tensor encoding of pruned weights (``EXPERIMENTAL_SPARSITY``):
    smaller files; XNNPACK decides at load time whether it runs them as sparse."""
    del rep
    converter.optimizations = [tf.lite.Optimize.EXPERIMENTAL_SPARSITY]


def configure_int8_sparse(converter, rep: RepresentativeDataset | None) -> None:
    """Full int8 plus sparse tensor encoding."""
    configure_int8(converter, rep)
    converter.optimizations = [tf.lite.Optimize.DEFAULT, tf.lite.Optimize.EXPERIMENTAL_SPARSITY]
