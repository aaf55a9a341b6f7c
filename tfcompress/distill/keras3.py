"""Distillation of Keras 3 models with Keras 3's own ``keras.distillation.Distiller``.

``keras.distillation`` (Keras 3.12+) trains a student against a frozen teacher with
``LogitsDistillation``: KL(softmax(teacher / T) || softmax(student / T)) * T**2 on the models'
*logits*, mixed with the student's loss as ``w * student + (1 - w) * distillation``. The
suite's loss (``distiller.py``, Hinton et al.) is ``student + alpha * distillation``. With
``w = 1 / (1 + alpha)`` Keras computes that loss divided by ``1 + alpha``; ``KerasDistiller``
multiplies it back, so both paths train with the same loss and the same step sizes.

Keras 3's Distiller needs models that output logits; ours end in a softmax. ``logits_model``
gives a model of the same layers (trained in place) that outputs the softmax's input, or
``log(p)`` when the softmax is a Dense layer's activation.

``LogitsDistillation``'s default ``loss="kl_divergence"`` is wrong in Keras 3.15: the string
becomes the *function* ``kl_divergence``, which fails its ``isinstance(loss, KLDivergence)``
test, so the KL divergence is taken of the tempered logits themselves (clipped to [1e-7, 1])
instead of their softmax. Passing a ``KLDivergence()`` instance takes the right branch; the
test against the tf_keras ``Distiller`` would show a regression.
"""

from __future__ import annotations

from typing import Any

from tfcompress._keras3 import keras, ops
from tfcompress.train.loop import ends_in_softmax
import tfcompress.distill.arguments as arguments

#: The smallest probability whose log stands for a logit when a model hides its logits.
_EPS = 1e-30


def logits_model(model: Any) -> Any:
    """A model sharing ``model``'s layers that outputs its logits (``model`` itself when it
    outputs logits already)."""
    if len(model.outputs) != 1:
        raise ValueError(f"distillation needs a model with one output; {model.name} has "
                         f"{len(model.outputs)}")
    if not ends_in_softmax(model):
        return model
    last = model.layers[-1]
    if isinstance(last, keras.layers.Softmax) or (
            isinstance(last, keras.layers.Activation)
            and keras.activations.serialize(last.activation) == "softmax"):
        return keras.Model(model.inputs, last.input, name=f"{model.name}_logits")
    log_p = keras.layers.Lambda(lambda p: ops.log(ops.maximum(p, _EPS)), name="log_probs")
    return keras.Model(model.inputs, log_p(model.output), name=f"{model.name}_logits")


class KerasDistiller(keras.distillation.Distiller):
    """Keras 3's ``Distiller`` with the suite's loss: ``student + alpha * distillation``.

    Args:
      student, teacher: Keras 3 models (probabilities or logits out); the teacher is frozen.
      alpha: weight of the distillation term (> 0).
      temperature: softening temperature T (> 0).

    ``compile`` takes the student's loss on logits (``loop.loss_for`` gives it); ``student``
    stays the plain model to save (``self.student`` is its logits view, same weights).
    """

    #: what ``loop.loss_for`` reads: the student's loss is computed on logits
    outputs_logits = True

    def __init__(self, student: Any, teacher: Any, *, alpha: float, temperature: float,
                 **kwargs: Any):
        arguments.check(student, teacher, alpha, temperature, alpha_may_be_zero=False)
        teacher.trainable = False
        super().__init__(
            teacher=logits_model(teacher), student=logits_model(student),
            distillation_losses=keras.distillation.LogitsDistillation(
                temperature=float(temperature), loss=keras.losses.KLDivergence()),
            student_loss_weight=1.0 / (1.0 + alpha), **kwargs)
        self.scale = 1.0 + float(alpha)

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None,
                     sample_weight: Any = None, training: bool = True) -> Any:
        total = super().compute_loss(x, y, y_pred, sample_weight, training) * self.scale
        reg = self.student.losses  # weight decay: Keras' own Distiller leaves it out
        return total + ops.sum(ops.stack(reg)) if training and reg else total
