"""Conversion to TFLite, op-coverage checks, quantization-aware training and clustering."""

from tfcompress.registry import Registry

#: Export mode names -> ``f(converter, representative_dataset, spec)`` that configures a
#: converter.
EXPORT_MODES: Registry = Registry(
    "export mode",
    {
        "float32": "tfcompress.quantize.tflite:configure_float32",
        "float16": "tfcompress.quantize.tflite:configure_float16",
        "dynamic": "tfcompress.quantize.tflite:configure_dynamic",
        "int8": "tfcompress.quantize.tflite:configure_int8",
        "int16x8": "tfcompress.quantize.tflite:configure_int16x8",
        "float32_sparse": "tfcompress.quantize.tflite:configure_float32_sparse",
        "int8_sparse": "tfcompress.quantize.tflite:configure_int8_sparse",
    },
)

#: Modes whose converter needs a representative (calibration) dataset.
CALIBRATED_MODES = frozenset({"int8", "int8_sparse", "int16x8"})

#: The input/output types each mode allows (``export.io``); the first is the default: what
#: MediaPipe and Android take (uint8 pixels as they are, or float32), int8 / int16 on request.
IO_TYPES = {
    "int8": ("uint8", "int8", "float32"),
    "int8_sparse": ("uint8", "int8", "float32"),
    "int16x8": ("float32", "int16"),
}

#: Modes a quantization-aware-trained model can be exported with (integer kernels that use
#: the ranges it learned).
QAT_MODES = frozenset({"int8", "int8_sparse"})

#: QAT schemes (``qat.scheme``) -> a maker of tfmot's quantize scheme: what the fake-quantized
#: fine-tuning keeps of earlier stages.
QAT_SCHEMES: Registry = Registry(
    "qat.scheme",
    {
        "default": "tfcompress.quantize.qat:default_scheme",
        "pqat": "tfcompress.quantize.qat:prune_preserving_scheme",
        "cqat": "tfcompress.quantize.qat:cluster_preserving_scheme",
        "pcqat": "tfcompress.quantize.qat:sparse_cluster_preserving_scheme",
    },
)

#: k-means centroid initialisations of weight clustering (``cluster.init``), tfmot's names ->
#: tfmot's ``CentroidInitialization`` value.
CLUSTER_INITS: Registry = Registry(
    "cluster.init",
    {
        "kmeans_plus_plus": "tfcompress.quantize.cluster:KMEANS_PLUS_PLUS",
        "linear": "tfcompress.quantize.cluster:LINEAR",
        "density": "tfcompress.quantize.cluster:DENSITY_BASED",
        "random": "tfcompress.quantize.cluster:RANDOM",
    },
)

__all__ = ["EXPORT_MODES", "CALIBRATED_MODES", "IO_TYPES", "QAT_MODES", "QAT_SCHEMES",
           "CLUSTER_INITS"]
