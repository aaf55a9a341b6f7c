"""The ``Distiller``: a ``keras.Model`` that trains a student against a frozen teacher.

The loss of a batch is Hinton et al.'s (2015)::

    student_loss(y, student) + alpha * KL(softmax(teacher / T) || softmax(student / T)) * T**2

where the KL divergence compares logits softened by the temperature ``T``, the teacher's
distribution first (it is the target), and ``T**2`` keeps the soft targets' gradients on the
scale of the hard ones as ``T`` changes. ``alpha = 0`` is plain training of the student.
The structure follows keras-io's ``knowledge_distillation`` example, with its two historic
pitfalls tested against: the teacher is never trained, and the two are never swapped.
"""

from __future__ import annotations

from typing import Any

from tfcompress._keras import keras, tf
from tfcompress.train.loop import ends_in_softmax
import tfcompress.distill.arguments as arguments

#: The smallest probability whose log stands for a logit when a model hides its logits.
_EPS = 1e-30


def logits_and_probs(model: keras.Model) -> keras.Model:
    """A model computing ``[logits, probabilities]`` with ``model``'s own layers.

    Our models end in a ``Softmax`` layer, whose input are the logits; a model without a
    softmax at the end outputs the logits. For a model that ends in a Dense layer with a
    softmax activation, the logits are recovered as ``log(p)``
    (softmax is shift invariant, so ``softmax(log(p) / T)`` is the tempered distribution).

    Raises:
      ValueError: the model has more than one output.
    """
    if len(model.outputs) != 1:
        raise ValueError(f"distillation needs a model with one output; {model.name} has "
                         f"{len(model.outputs)}")

    last = model.layers[-1]
    if isinstance(last, keras.layers.Softmax) or (
            isinstance(last, keras.layers.Activation)
            and keras.activations.serialize(last.activation) == "softmax"):
        logits = last.input
    elif not ends_in_softmax(model):  # the model outputs logits
        return keras.Model(model.inputs, [model.output, keras.layers.Softmax(
            name="probs_of_logits")(model.output)], name=f"{model.name}_heads")
    else:
        logits = keras.layers.Lambda(lambda p: tf.math.log(tf.maximum(p, _EPS)),
                                     name="log_probs")(model.output)
    return keras.Model(model.inputs, [logits, model.output], name=f"{model.name}_heads")


class Distiller(keras.Model):
    """Trains ``student`` to match the hard labels and a frozen ``teacher``'s soft targets.

    Args:
      student: the model being trained (any of ours, a user's, pruned or slimmed); it
        outputs class probabilities.
      teacher: the trained model it learns from; set non-trainable here and always run in
        inference mode (no dropout, batch norm statistics frozen).
      alpha: weight of the distillation term (>= 0; 0 trains the student alone).
      temperature: softening temperature T (> 0).

    ``compile(optimizer, loss, metrics)`` takes the student's loss (on probabilities, as
    ``tfcompress.train.loop`` compiles every model) and metrics computed on the student.
    ``fit`` logs ``loss`` (the total), ``student_loss`` and ``distillation_loss``; calling the
    Distiller calls the student, and ``student`` is the plain model to save.
    """

    #: its ``compile`` takes the student's loss on probabilities (``train.loop.loss_for``)
    outputs_probabilities = True

    def __init__(self, student: keras.Model, teacher: keras.Model, *, alpha: float = 1.0,
                 temperature: float = 4.0, **kwargs: Any):
        super().__init__(**kwargs)
        arguments.check(student, teacher, alpha, temperature, alpha_may_be_zero=True)
        teacher.trainable = False
        self.student = student
        self.teacher = teacher
        self.alpha = float(alpha)
        self.temperature = float(temperature)
        self._student_heads = logits_and_probs(student)
        self._teacher_heads = logits_and_probs(teacher)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.student_loss_tracker = keras.metrics.Mean(name="student_loss")
        self.distillation_loss_tracker = keras.metrics.Mean(name="distillation_loss")
        self.student_loss_fn: Any = None

    def compile(self, optimizer: Any = "adam",
                loss: Any = "sparse_categorical_crossentropy",
                metrics: Any = None, **kwargs: Any) -> None:
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)
        self.student_loss_fn = keras.losses.get(loss)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        # Listed here so that Keras resets them at each epoch.
        return [self.loss_tracker, self.student_loss_tracker, self.distillation_loss_tracker,
                *self.compiled_metrics.metrics]

    def distillation_loss(self, teacher_logits: tf.Tensor, student_logits: tf.Tensor) -> tf.Tensor:
        """KL(softmax(teacher / T) || softmax(student / T)) * T**2, averaged over the batch."""
        t = self.temperature
        soft_targets = tf.nn.softmax(teacher_logits / t, axis=-1)
        soft_student = tf.nn.softmax(student_logits / t, axis=-1)
        kl = keras.losses.kl_divergence(soft_targets, soft_student)
        return tf.reduce_mean(kl) * (t ** 2)

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        return self.student(inputs, training=training)

    def _terms(self, x: tf.Tensor, y: tf.Tensor, training: bool):
        teacher_logits, _ = self._teacher_heads(x, training=False)
        student_logits, student_probs = self._student_heads(x, training=training)
        student_loss = tf.reduce_mean(self.student_loss_fn(y, student_probs))
        if training and self.student.losses:  # weight decay / activity regularisers
            student_loss += tf.add_n(self.student.losses)
        distillation = self.distillation_loss(teacher_logits, student_logits)
        return student_loss + self.alpha * distillation, student_loss, distillation, \
            student_probs

    def _update(self, y: tf.Tensor, total, student_loss, distillation, probs) -> dict[str, Any]:
        self.loss_tracker.update_state(total)
        self.student_loss_tracker.update_state(student_loss)
        self.distillation_loss_tracker.update_state(distillation)
        self.compiled_metrics.update_state(y, probs)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data: Any) -> dict[str, Any]:
        x, y = data[0], data[1]
        with tf.GradientTape() as tape:
            total, student_loss, distillation, probs = self._terms(x, y, training=True)
        variables = self.student.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(total, variables), variables))
        return self._update(y, total, student_loss, distillation, probs)

    def test_step(self, data: Any) -> dict[str, Any]:
        x, y = data[0], data[1]
        return self._update(y, *self._terms(x, y, training=False))
