"""The Distiller's invariants: what keras-io's first version got wrong must stay right here."""

from __future__ import annotations

import numpy as np
import pytest

from tfcompress._keras import keras, tf
from tfcompress.distill import Distiller, logits_and_probs
from tfcompress.models import MODELS
from tfcompress.recipe import TrainSpec
from tfcompress.train import loop


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _kl(p, q):
    return np.mean(np.sum(p * np.log(p / q), axis=-1))


@pytest.fixture(scope="module")
def pair():
    """A trained digits teacher, a fresh smaller student, and their data."""
    from support import trained_digits_cnn

    teacher, data = trained_digits_cnn([8, 16], 32, epochs=3)
    keras.utils.set_random_seed(1)
    student = MODELS.get("lenet_300_100")(data.input_shape, 10, hidden=[16])
    return teacher, student, data


def _weights(model):
    return [w.copy() for w in model.get_weights()]


def test_fit_trains_the_student_and_never_the_teacher(pair):
    teacher, student, data = pair
    teacher_before, student_before = _weights(teacher), _weights(student)
    distiller = Distiller(student, teacher, alpha=1.0, temperature=4.0)
    loop.compile_model(distiller, TrainSpec(epochs=1, learning_rate=1e-2))
    history = distiller.fit(data.x_train, data.y_train, epochs=2, batch_size=32, verbose=0,
                            validation_data=(data.x_val, data.y_val))
    for a, b in zip(teacher_before, teacher.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert all(not np.array_equal(a, b) for a, b in zip(student_before, student.get_weights()))
    assert {"loss", "student_loss", "distillation_loss", "accuracy", "val_accuracy",
            "val_distillation_loss"} <= set(history.history)
    # the student the Distiller trained is the plain model it was given
    np.testing.assert_allclose(distiller.predict(data.x_val, verbose=0),
                               student.predict(data.x_val, verbose=0), rtol=1e-6)


def test_distillation_loss_is_kl_teacher_to_student_times_t_squared(pair):
    teacher, student, _ = pair
    rng = np.random.default_rng(0)
    t_logits = rng.normal(0, 3, (8, 10)).astype(np.float32)
    s_logits = rng.normal(0, 1, (8, 10)).astype(np.float32)
    for temperature in (1.0, 2.0, 5.0):
        d = Distiller(student, teacher, temperature=temperature)
        got = float(d.distillation_loss(tf.constant(t_logits), tf.constant(s_logits)))
        p_t, p_s = _softmax(t_logits / temperature), _softmax(s_logits / temperature)
        want = _kl(p_t, p_s) * temperature ** 2
        swapped = _kl(p_s, p_t) * temperature ** 2
        assert got == pytest.approx(want, rel=1e-4)
        assert abs(got - swapped) > 0.01 * want  # the asymmetry would show a swap
        assert abs(got - want / temperature ** 2) > 0.01 * want or temperature == 1.0


def test_distilled_student_moves_toward_the_teacher(pair):
    """With alpha large the student's outputs approach the teacher's: the soft targets come
    from the teacher, not from the student (keras-io #257)."""
    teacher, _, data = pair
    keras.utils.set_random_seed(2)
    student = MODELS.get("lenet_300_100")(data.input_shape, 10, hidden=[16])
    d = Distiller(student, teacher, alpha=100.0, temperature=2.0)
    loop.compile_model(d, TrainSpec(epochs=1, learning_rate=1e-2))
    t_logits = logits_and_probs(teacher)(data.x_val)[0]

    def gap() -> float:
        return float(d.distillation_loss(t_logits, logits_and_probs(student)(data.x_val)[0]))

    before = gap()
    d.fit(data.x_train, data.y_train, epochs=3, batch_size=32, verbose=0)
    assert gap() < 0.5 * before


def test_alpha_zero_is_plain_training(pair):
    teacher, _, data = pair

    def trained(distill: bool):
        keras.utils.set_random_seed(3)
        student = MODELS.get("lenet_300_100")(data.input_shape, 10, hidden=[16])
        model = Distiller(student, teacher, alpha=0.0) if distill else student
        loop.compile_model(model, TrainSpec(epochs=1))
        model.fit(data.x_train, data.y_train, epochs=1, batch_size=32, shuffle=False, verbose=0)
        return student.get_weights()

    for a, b in zip(trained(True), trained(False)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_logits_are_the_softmax_input_or_log_probabilities():
    keras.utils.set_random_seed(0)
    ours = MODELS.get("lenet_300_100")((8, 8, 1), 10, hidden=[4])
    x = np.random.default_rng(0).random((3, 8, 8, 1)).astype(np.float32)
    logits, probs = logits_and_probs(ours)(x)
    inner = keras.Model(ours.inputs, ours.get_layer("logits").output)(x)
    np.testing.assert_allclose(logits, inner, rtol=1e-6)
    dense_softmax = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                                      keras.layers.Dense(10, activation="softmax")])
    logits, probs = logits_and_probs(dense_softmax)(x)
    np.testing.assert_allclose(tf.nn.softmax(logits), probs, rtol=1e-5)


def test_bad_arguments_are_refused(pair):
    teacher, student, _ = pair
    with pytest.raises(ValueError, match="temperature"):
        Distiller(student, teacher, temperature=0)
    with pytest.raises(ValueError, match="alpha"):
        Distiller(student, teacher, alpha=-1)
    with pytest.raises(ValueError, match="different"):
        Distiller(teacher, teacher)


@pytest.mark.parametrize("alpha, temperature", [(1.0, 4.0), (0.3, 2.0)])
def test_keras3_distiller_trains_with_the_same_loss_as_the_tf_keras_one(pair, alpha,
                                                                        temperature):
    """Keras 3's own keras.distillation (KerasDistiller) on the exact twins of the pair: the
    same loss, and one SGD step moves the student to the same weights."""
    from tfcompress import flavor
    from tfcompress.distill import distiller_of
    from tfcompress.distill.keras3 import KerasDistiller
    from tfcompress.models import keras3

    teacher, _, data = pair
    keras.utils.set_random_seed(2)
    student = MODELS.get("lenet_300_100")(data.input_shape, 10, hidden=[16])
    s3, t3 = keras3.to_keras3(student), keras3.to_keras3(teacher)
    assert distiller_of(s3) is KerasDistiller and distiller_of(student) is Distiller
    x, y = data.x_train[:32], data.y_train[:32]
    d2 = Distiller(student, teacher, alpha=alpha, temperature=temperature)
    d3 = KerasDistiller(s3, t3, alpha=alpha, temperature=temperature)
    spec = TrainSpec(epochs=1, optimizer="sgd", learning_rate=0.1)
    loop.compile_model(d2, spec)
    loop.compile_model(d3, spec)
    total2 = float(d2._terms(tf.constant(x), tf.constant(y), training=False)[0])
    total3 = float(d3.compute_loss(x, y, d3(x, training=False), training=False))
    assert total3 == pytest.approx(total2, rel=1e-4)
    for d in (d2, d3):
        d.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    moved = False
    for a, b, before in zip(student.get_weights(), s3.get_weights(),
                            keras3.to_keras3(MODELS.get("lenet_300_100")(
                                data.input_shape, 10, hidden=[16])).get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
        moved = moved or not np.allclose(a, before)
    assert moved
    for a, b in zip(teacher.get_weights(), t3.get_weights()):  # neither teacher trained
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
    assert flavor.which(s3) == flavor.KERAS3
