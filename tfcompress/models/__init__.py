"""Model builders: a name in a recipe -> ``build(input_shape, num_classes, **options)``.

``file`` stands for a model the user brings (``model.path`` / ``--model_path``).
"""

import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tfcompress.errors import InputError, unknown_name
from tfcompress.registry import Registry

MODELS: Registry = Registry(
    "model",
    {
        "conv2": "tfcompress.models.conv:conv2",
        "conv4": "tfcompress.models.conv:conv4",
        "conv6": "tfcompress.models.conv:conv6",
        "digits_cnn": "tfcompress.models.digits_cnn:build",
        "file": "tfcompress.models.user_file:needs_path",
        "mnist_cnn": "tfcompress.models.mnist_cnn:build",
        "lenet_300_100": "tfcompress.models.lenet:lenet_300_100",
        "lenet5": "tfcompress.models.lenet:lenet5",
        "resnet": "tfcompress.models.resnet:build",
        "resnet18": "tfcompress.models.resnet:resnet18",
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

#: Arguments the pipeline passes to builders that look for files; not recipe options.
CONTEXT = ("data_dir", "offline")


def options_of(name: str) -> list[str] | None:
    """The options builder ``name`` takes (None: it takes any keyword)."""
    params = list(inspect.signature(MODELS.get(name)).parameters.values())[2:]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.name not in CONTEXT]


def check_options(name: str, options: Mapping[str, Any], where: str = "model") -> None:
    """Every option is one the builder takes.

    Raises:
      InputError: an unknown option, naming the close matches and every option.
    """
    allowed = options_of(name)
    if allowed is None:
        return
    for key in options:
        if key not in allowed:
            raise unknown_name(f"{where}.options key of model {name!r}", key, allowed)


def build(name: str, input_shape: Sequence[int], num_classes: int,
          options: Mapping[str, Any], *, data_dir: str | Path | None = None,
          offline: bool | None = None, where: str = "model") -> Any:
    """Builds registered model ``name`` with the recipe's ``options``.

    Raises:
      InputError: an unknown option, or a value the builder or Keras refuses.
    """
    check_options(name, options, where)
    builder = MODELS.get(name)
    wanted = inspect.signature(builder).parameters
    context = {k: v for k, v in (("data_dir", data_dir), ("offline", offline)) if k in wanted}
    try:
        return builder(tuple(input_shape), num_classes, **options, **context)
    except InputError:
        raise
    except (TypeError, ValueError, IndexError) as e:  # a bad option value, e.g. filters=[-4]
        reason = " ".join(str(e).split())[:200]
        raise InputError(f"{where}.options {dict(options)} cannot build model {name!r}: "
                         f"{type(e).__name__}: {reason}") from None


__all__ = ["MODELS", "build", "check_options"]
