"""Conversion to TFLite (float32, dynamic range, full int8) and op-coverage checks."""

from tfcompress.registry import Registry

#: Export mode names -> ``f(converter, representative_dataset)`` that configures a converter.
EXPORT_MODES: Registry = Registry(
    "export mode",
    {
        "float32": "tfcompress.quantize.tflite:configure_float32",
        "dynamic": "tfcompress.quantize.tflite:configure_dynamic",
        "int8": "tfcompress.quantize.tflite:configure_int8",
        "float32_sparse": "tfcompress.quantize.tflite:configure_float32_sparse",
        "int8_sparse": "tfcompress.quantize.tflite:configure_int8_sparse",
    },
)

#: Modes whose converter needs a representative (calibration) dataset.
CALIBRATED_MODES = frozenset({"int8", "int8_sparse"})

__all__ = ["EXPORT_MODES", "CALIBRATED_MODES"]
