"""Model builders: a name in a recipe -> ``build(input_shape, num_classes, **options)``."""

from tfcompress.registry import Registry

MODELS: Registry = Registry(
    "model",
    {
        "digits_cnn": "tfcompress.models.digits_cnn:build",
        "mnist_cnn": "tfcompress.models.mnist_cnn:build",
    },
)

__all__ = ["MODELS"]
