"""Quantization-aware training with tfmot: fake-quantized layers learn to live with int8.

``apply`` annotates the layers to quantize and applies a scheme: every layer (as
``quantize_model`` does), minus the ones the recipe leaves in float (``qat.skip``) and the
ones tfmot cannot quantize, which are reported instead of failing the run. The collaborative
schemes keep what earlier stages made: ``pqat`` a pruned model's zeros, ``cqat`` a clustered
model's shared values, ``pcqat`` both. QAT models do not survive tf_keras' save / load
(the cluster-preserving quantizers come back with other weights), so the pipeline keeps the
float model and the QAT weights, and rebuilds the QAT model with ``apply``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence

from tfcompress._keras import keras, tfmot
from tfcompress.errors import InputError, unknown_name
from tfcompress.quantize import QAT_SCHEMES

_Q = tfmot.quantization.keras
_COMBINE = tfmot.experimental.combine



# The tfmot quantize schemes ``qat.scheme`` names (``quantize.QAT_SCHEMES``).
def default_scheme() -> object:
    return _Q.default_8bit.Default8BitQuantizeScheme()


def prune_preserving_scheme() -> object:
    return _COMBINE.Default8BitPrunePreserveQuantizeScheme()


def cluster_preserving_scheme() -> object:
    return _COMBINE.Default8BitClusterPreserveQuantizeScheme(preserve_sparsity=False)


def sparse_cluster_preserving_scheme() -> object:
    return _COMBINE.Default8BitClusterPreserveQuantizeScheme(preserve_sparsity=True)


_IGNORED = (keras.layers.InputLayer,)


_UNSUPPORTED = re.compile(r"Layer (\S+?):<class '[^']*'> is not supported")


def check(model: keras.Model, skip: Sequence[str]) -> list[dict[str, str]]:
    """The layers ``apply`` leaves in float (name, type, why), found by applying tfmot's
    scheme to (a copy of) the model.

    Raises:
      InputError: a nested model (tfmot cannot quantize it), or an unknown name in ``skip``.
    """
    return apply(model, "default", skip)[1]


def apply(model: keras.Model, scheme: str = "default",
          skip: Sequence[str] = ()) -> tuple[keras.Model, list[dict[str, str]]]:
    """The QAT model of ``model`` (with its weights' values) and the layers left in float.

    Every layer is annotated but those in ``skip``; a layer tfmot then refuses (no quantize
    config, e.g. a batch norm that does not follow a convolution it can fold into, or a
    Lambda) is left in float and the model is quantized again without it.

    Args:
      model: a trained plain Keras model (pruning / clustering wrappers stripped).
      scheme: a ``quantize.QAT_SCHEMES`` name.
      skip: layer names to leave in float.

    Raises:
      InputError: a nested model, or an unknown name in ``skip``.
    """
    QAT_SCHEMES.check(scheme)
    names = [l.name for l in model.layers if not isinstance(l, _IGNORED)]
    for name in skip:
        if name not in names:
            raise unknown_name("layer in qat.skip", name, names)
    nested = [l.name for l in model.layers if isinstance(l, keras.Model)]
    if nested:
        raise InputError(f"qat: layer {nested[0]!r} is a nested model; tfmot "
                         f"quantization-aware training needs a flat model (use PTQ: export.mode "
                         f"int8 without qat)")
    left = [{"name": n, "type": type(model.get_layer(n)).__name__, "why": "qat.skip"}
            for n in skip]
    left += [{"name": l.name, "type": "Lambda", "why": "a Lambda layer: tfmot cannot see "
              "inside it"} for l in model.layers if isinstance(l, keras.layers.Lambda)]
    while True:
        floating = {u["name"] for u in left}

        def annotate(layer: keras.layers.Layer, floating=floating) -> keras.layers.Layer:
            fresh = layer.__class__.from_config(layer.get_config())
            if isinstance(layer, _IGNORED) or layer.name in floating:
                return fresh
            return _Q.quantize_annotate_layer(fresh)

        annotated = keras.models.clone_model(model, clone_function=annotate)
        annotated.set_weights(model.get_weights())
        try:
            with scope():
                return _Q.quantize_apply(annotated, QAT_SCHEMES.get(scheme)()), left
        except RuntimeError as e:
            found = _UNSUPPORTED.search(str(e))
            if not found or found.group(1) in floating:
                raise
            layer = model.get_layer(found.group(1))
            left.append({"name": layer.name, "type": type(layer).__name__,
                         "why": "tfmot has no 8-bit quantize config for it here"})


@contextlib.contextmanager
def scope() -> Iterator[None]:
    """Custom objects needed to load or clone a QAT model."""
    with _Q.quantize_scope():
        yield


def is_qat(model: keras.Model) -> bool:
    return any(isinstance(l, _Q.QuantizeWrapper) for l in model.layers)


__all__ = ["apply", "check", "scope", "is_qat"]


