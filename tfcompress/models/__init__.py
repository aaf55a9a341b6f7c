"""Model builders: a name in a recipe -> ``build(input_shape, num_classes, **options)``.

``file`` stands for a model the user brings (``model.path`` / ``--model_path``).
"""

from tfcompress.registry import Registry

MODELS: Registry = Registry(
    "model",
    {
        "digits_cnn": "tfcompress.models.digits_cnn:build",
        "file": "tfcompress.models.user_file:needs_path",
        "mnist_cnn": "tfcompress.models.mnist_cnn:build",
        "lenet_300_100": "tfcompress.models.lenet:lenet_300_100",
        "lenet5": "tfcompress.models.lenet:lenet5",
        "resnet": "tfcompress.models.resnet:build",
        "resnet20": "tfcompress.models.resnet:resnet20",
        "resnet32": "tfcompress.models.resnet:resnet32",
        "resnet44": "tfcompress.models.resnet:resnet44",
        "resnet56": "tfcompress.models.resnet:resnet56",
        "resnet110": "tfcompress.models.resnet:resnet110",
        "preact_resnet20": "tfcompress.models.resnet:preact_resnet20",
        "preact_resnet56": "tfcompress.models.resnet:preact_resnet56",
        "tiny_mobilenet": "tfcompress.models.tiny_mobilenet:build",
        "transfer": "tfcompress.models.transfer:build",
    },
)

__all__ = ["MODELS"]
