"""tfmot 0.8.1's tests of the pruning step and its callback, adapted to Keras 3 and
``tfcompress.sparsity`` (tensorflow/model-optimization,
``tensorflow_model_optimization/python/core/sparsity/keras/``: ``pruning_callbacks_test.py``
and the stop/restart tests of ``prune_integration_test.py``). The models, data, schedules and
asserted values are theirs; only Keras 3 spellings changed (``keras.Input`` instead of
``input_shape=``, ``save_weights`` to ``.weights.h5``). One deliberate difference, marked
where it is asserted: training without the callback is refused with one line (tfcompress's
``InputError``) before the first step, where tfmot raises TensorFlow's
``InvalidArgumentError`` from inside it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from tfcompress import sparsity
from tfcompress._keras3 import keras
from tfcompress.errors import InputError

BATCH_SIZE = 20


def build_simple_dense_model():
    return keras.Sequential([keras.Input((10,)),
                             keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(5, activation="softmax")])


def _pruned(schedule=None):
    keras.utils.set_random_seed(0)
    model = sparsity.prune_low_magnitude(
        build_simple_dense_model(), schedule or sparsity.ConstantSparsity(0.5, 0, -1, 1))
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    return model


def _data(n=BATCH_SIZE):
    rng = np.random.default_rng(0)
    return (rng.random((n, 10)).astype("float32"),
            keras.utils.to_categorical(rng.integers(5, size=(n, 1)), 5))


def _train(model, epochs=1, **fit):
    x, y = _data()
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=epochs, verbose=0,
              callbacks=[sparsity.UpdatePruningStep()], **fit)


def _steps(model):
    return [int(keras.ops.convert_to_numpy(w.pruning_step)) for w in sparsity.wrappers(model)]


def assert_model_sparsity(expected, model):
    for name, row in sparsity.layer_sparsity(model).items():
        assert row["sparsity"] == pytest.approx(expected, rel=1e-6, abs=1e-6), name


# pruning_callbacks_test.py

def test_update_pruning_steps_and_logs_summaries(tmp_path):
    model = _pruned()
    x, y = _data()
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=3, verbose=0,
              callbacks=[sparsity.UpdatePruningStep(),
                         sparsity.PruningSummaries(log_dir=str(tmp_path))])
    assert _steps(model) == [3, 3]
    assert os.listdir(tmp_path)  # tfmot's _assertLogsExist
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "metrics"), size_guidance={"tensors": 0})
    events.Reload()
    tags = events.Tags()["tensors"]
    names = [f"{w.layer.name}/sparsity" for w in sparsity.wrappers(model)]
    assert len(names) == 2 and set(names) <= set(tags), (names, tags)
    last = events.Tensors(names[0])[-1]
    assert float(tf_make_ndarray(last.tensor_proto)) == pytest.approx(0.5)


def tf_make_ndarray(proto):
    import tensorflow as tf

    return tf.make_ndarray(proto)


def test_pruning_summaries_refuse_a_log_dir_that_is_not_a_non_empty_string():
    for log_dir in ("", None, object()):
        with pytest.raises(ValueError):
            sparsity.PruningSummaries(log_dir=log_dir)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="a GradientTape loop")
def test_update_pruning_steps_custom_training_loop():
    model = _pruned()
    x, y = _data()
    loss, optimizer = keras.losses.categorical_crossentropy, keras.optimizers.SGD()
    step_callback = sparsity.UpdatePruningStep()
    step_callback.set_model(model)
    step_callback.on_train_begin()
    import tensorflow as tf

    for _ in range(3):
        step_callback.on_train_batch_begin(batch=-1)
        with tf.GradientTape() as tape:
            loss_value = keras.ops.mean(loss(y, model(x, training=True)))
        grads = tape.gradient(loss_value, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        step_callback.on_epoch_end(batch=-1)  # tfmot's guide passes batch=; Keras' has none
    assert _steps(model) == [3, 3]
    assert_model_sparsity(0.5, model)


def test_inference_leaves_the_step_alone():
    model = _pruned()
    model(_data()[0])
    assert _steps(model) == [-1, -1]


def test_training_without_the_callback_is_refused():
    # deliberate difference: InputError, one line, before any step (tfmot:
    # InvalidArgumentError from the first training step)
    model = _pruned()
    with pytest.raises(InputError, match="UpdatePruningStep"):
        model.fit(*_data(), verbose=0)
    with pytest.raises(InputError, match="UpdatePruningStep"):
        _pruned()(_data()[0], training=True)  # a custom loop's step without it


# prune_integration_test.py: stop and restart

def _save_restore_keras_model(model, tmp_path):
    model.save(tmp_path / "pruned.keras")
    return keras.saving.load_model(tmp_path / "pruned.keras")


def _save_restore_weights(model, tmp_path):
    """A weights-only checkpoint restored into a newly wrapped model (the step is a weight)."""
    model.save_weights(tmp_path / "pruned.weights.h5")
    fresh = _pruned(model.layers[0].pruning_schedule)
    fresh.load_weights(tmp_path / "pruned.weights.h5")
    return fresh


@pytest.mark.parametrize("save_restore", [_save_restore_keras_model, _save_restore_weights])
def test_prune_stop_and_restart_preserves_sparsity(save_restore, tmp_path):
    begin_step, end_step = 1, 4
    model = _pruned(sparsity.PolynomialDecay(0.2, 0.6, begin_step, end_step, 3, 1))
    assert_model_sparsity(0.0, model)  # not trained yet
    _train(model, epochs=1)  # 1 step: initial_sparsity
    assert_model_sparsity(0.2, model)
    model = save_restore(model, tmp_path)
    if save_restore is _save_restore_keras_model:
        model.compile(loss="categorical_crossentropy", optimizer="sgd")
    _train(model, epochs=3)  # all 4 steps: final_sparsity
    assert_model_sparsity(0.6, model)
    _check_strip_pruning_matches_original(model, 0.6)


@pytest.mark.parametrize("save_restore", [_save_restore_keras_model, _save_restore_weights])
def test_prune_with_polynomial_decay_past_end_step_preserves_sparsity(save_restore, tmp_path):
    model = _pruned(sparsity.PolynomialDecay(0.2, 0.6, 0, 2, 3, 1))
    assert_model_sparsity(0.0, model)
    _train(model, epochs=3)  # 3 steps, past end_step
    assert_model_sparsity(0.6, model)
    model = save_restore(model, tmp_path)
    assert_model_sparsity(0.6, model)
    if save_restore is _save_restore_keras_model:
        model.compile(loss="categorical_crossentropy", optimizer="sgd")
    _train(model, epochs=1)  # nothing brings it back below 0.6
    assert_model_sparsity(0.6, model)
    _check_strip_pruning_matches_original(model, 0.6)


def _check_strip_pruning_matches_original(model, expected):
    x = _data()[0]
    stripped = sparsity.strip_pruning(model)
    assert not sparsity.wrappers(stripped)
    assert_model_sparsity(expected, stripped)
    np.testing.assert_allclose(stripped.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


# issue 29's cases: tfmot's numbering, steps_per_execution

def test_the_first_step_is_step_one_and_end_step_reaches_the_final_sparsity():
    model = _pruned(sparsity.PolynomialDecay(0.0, 0.8, begin_step=0, end_step=10,
                                             frequency=1))
    _train(model, epochs=10)  # 10 batches: the last is end_step
    assert _steps(model) == [10, 10]
    assert_model_sparsity(0.8, model)


def test_steps_per_execution_counts_every_step():
    model = sparsity.prune_low_magnitude(
        build_simple_dense_model(), sparsity.PolynomialDecay(0.0, 0.8, 0, 10, frequency=1))
    model.compile(loss="categorical_crossentropy", optimizer="sgd", steps_per_execution=4)
    x, y = _data(12 * 4)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0,
              callbacks=[sparsity.UpdatePruningStep()])
    assert _steps(model) == [12, 12]
    assert_model_sparsity(0.8, model)


# wrappers built by their first training step, and layers that are not re-created

def _fits_to_80_percent(model):
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    _train(model, epochs=10)
    assert _steps(model) == [10, 10]
    assert_model_sparsity(0.8, model)
    return model


def _schedule():
    return sparsity.PolynomialDecay(0.0, 0.8, begin_step=0, end_step=10, frequency=1)


def test_the_guides_sequential_form_wrapped_at_definition_trains():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        sparsity.prune_low_magnitude(keras.layers.Dense(8, activation="relu"), _schedule(),
                                     input_shape=(10,)),
        sparsity.prune_low_magnitude(keras.layers.Dense(5, activation="softmax"),
                                     _schedule())])
    _fits_to_80_percent(model)
    assert_model_sparsity(0.8, sparsity.strip_pruning(model))


def test_a_sequential_without_input_and_a_subclassed_model_build_on_the_first_step():
    keras.utils.set_random_seed(0)
    _fits_to_80_percent(keras.Sequential([
        sparsity.prune_low_magnitude(keras.layers.Dense(8, activation="relu"), _schedule()),
        sparsity.prune_low_magnitude(keras.layers.Dense(5, activation="softmax"),
                                     _schedule())]))

    class Mine(keras.Model):
        def __init__(self):
            super().__init__()
            self.a = sparsity.prune_low_magnitude(keras.layers.Dense(8, activation="relu"),
                                                  _schedule())
            self.b = sparsity.prune_low_magnitude(keras.layers.Dense(5, activation="softmax"),
                                                  _schedule())

        def call(self, x, training=None):  # passed on, as JAX needs (TF would infer it)
            return self.b(self.a(x, training=training), training=training)

    _fits_to_80_percent(Mine())

    class Untrainable(Mine):
        def call(self, x):  # no training argument: Keras 3 trains it in inference mode
            return self.b(self.a(x))

    model = Untrainable()
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    with pytest.raises(InputError, match="subclassed model's call must take a training"):
        _train(model, epochs=1)


def test_strip_pruning_of_a_model_never_built():
    model = keras.Sequential([
        sparsity.prune_low_magnitude(keras.layers.Dense(8), _schedule())])
    stripped = sparsity.strip_pruning(model)
    assert not sparsity.wrappers(stripped)
    assert isinstance(stripped.layers[0], keras.layers.Dense)


def test_a_layer_that_cannot_be_recreated_is_kept_as_it_is(caplog):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((10,))
    x = keras.layers.Lambda(lambda t: t * 2.0, name="double")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(x))
    with caplog.at_level("WARNING", logger="tfcompress"):
        pruned = sparsity.prune_low_magnitude(model, _schedule())
    assert "'double'" in caplog.text
    assert len(sparsity.wrappers(pruned)) == 1
    x_ = _data()[0]
    np.testing.assert_allclose(pruned.predict(x_, verbose=0), model.predict(x_, verbose=0),
                               atol=1e-6)
    pruned.compile(loss="categorical_crossentropy", optimizer="sgd")
    _train(pruned, epochs=10)
    assert_model_sparsity(0.8, pruned)


def test_a_schedule_that_cannot_reach_its_target_says_so():
    import warnings

    with pytest.warns(UserWarning, match="never updates the masks"):
        sparsity.PolynomialDecay(0.5, 0.8, begin_step=0, end_step=94)  # frequency 100
    with pytest.warns(UserWarning, match=r"stops at sparsity 0\.715.*step 10"):
        sparsity.PolynomialDecay(0.0, 0.8, begin_step=0, end_step=19, frequency=10)
    with pytest.warns(UserWarning, match="never updates the masks"):
        sparsity.ConstantSparsity(0.5, begin_step=0, end_step=50)  # frequency 100
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sparsity.PolynomialDecay(0.5, 0.8, begin_step=0, end_step=940)  # 0.79998 at 900
        sparsity.PolynomialDecay(0.0, 0.8, begin_step=0, end_step=10, frequency=1)
        sparsity.ConstantSparsity(0.5, begin_step=0, end_step=-1)


def test_the_default_schedule_is_tfmots():
    pruned = sparsity.prune_low_magnitude(build_simple_dense_model())
    schedules = {type(w.pruning_schedule).__name__: w.pruning_schedule.get_config()
                 for w in sparsity.wrappers(pruned)}
    assert schedules == {"ConstantSparsity": {"target_sparsity": 0.5, "begin_step": 0,
                                              "end_step": -1, "frequency": 100}}


def test_a_layer_left_dense_is_named_unless_dense_by_design(caplog):
    inputs = keras.Input((6,), dtype="int32")
    x = keras.layers.Embedding(20, 4, name="emb")(inputs)
    x = keras.layers.LayerNormalization(name="norm")(x)
    x = keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True), name="rnn")(x)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(5, name="out")(x))
    with caplog.at_level("WARNING", logger="tfcompress"):
        pruned = sparsity.prune_low_magnitude(model)
    assert "'rnn' (Bidirectional) is left dense" in caplog.text
    assert all(f"'{n}'" not in caplog.text for n in ("emb", "norm", "out"))
    assert [w.layer.name for w in sparsity.wrappers(pruned)] == ["emb", "out"]


# pruning_impl_test.py: testBlockMaskingAvg, testBlockMaskingMax,
# testBlockMaskingWithHigherDimensionsRaisesError (their weights and expected masks; the
# schedule there is ConstantSparsity(0.5, 0))
def test_block_masking_avg():
    from tfcompress.sparsity.callback import block_mask

    weight = np.array([[0.1, 0.1, 0.2, 0.2], [0.1, 0.1, 0.2, 0.2],
                       [0.3, 0.3, 0.4, 0.4], [0.3, 0.3, 0.4, 0.4]])
    expected_mask = [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0],
                     [1., 1., 1., 1.], [1., 1., 1., 1.]]
    mask = block_mask(np.abs(weight), 0.5, (2, 2), "AVG")
    assert mask.shape == weight.shape
    np.testing.assert_array_equal(mask, expected_mask)


def test_block_masking_max():
    from tfcompress.sparsity.callback import block_mask

    weight = np.array([[0.1, 0.0, 0.2, 0.0], [0.0, -0.1, 0.0, -0.2],
                       [0.3, 0.0, 0.4, 0.0], [0.0, -0.3, 0.0, -0.4]])
    expected_mask = [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0],
                     [1., 1., 1., 1.], [1., 1., 1., 1.]]
    np.testing.assert_array_equal(block_mask(np.abs(weight), 0.5, (2, 2), "MAX"),
                                  expected_mask)


def test_block_masking_with_higher_dimensions_raises_error():
    """tfmot raises ValueError; here the wrapper refuses, in one line, a layer whose weight
    is not 2-D once squeezed (a 3x3 convolution), when it is built."""
    wrapped = sparsity.PruneLowMagnitude(keras.layers.Conv2D(4, 3, name="conv"),
                                         _schedule(), block_size=(2, 2))
    with pytest.raises(InputError, match="'conv': block_size=.2, 2. needs a 2-D weight"):
        keras.Sequential([keras.Input((6, 6, 3)), wrapped])


def test_a_list_of_layers_is_wrapped_layer_by_layer():
    layers = [keras.layers.Dense(8, activation="relu"), keras.layers.Dense(5)]
    wrapped = sparsity.prune_low_magnitude(layers, _schedule())
    assert [type(w).__name__ for w in wrapped] == ["PruneLowMagnitude"] * 2
    assert [w.layer for w in wrapped] == layers


@pytest.mark.slow  # a child process of a minute; make test runs the JAX guide already
@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="this is the JAX run")
def test_the_same_tests_pass_on_the_jax_backend():
    """Every test above but the GradientTape loop, and every test of
    ``test_sparsity_tfmot_integration.py`` and ``test_sparsity_tfmot_api.py`` but the
    ``tf.distribute`` and SavedModel ones, in a child process with KERAS_BACKEND=jax (the step
    is advanced inside JAX's jitted, stateless train step)."""
    from support import HANG

    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
         "-o", "addopts=", __file__,
         *(os.path.join(os.path.dirname(__file__), f"test_sparsity_tfmot_{part}.py")
           for part in ("integration", "api"))],
        env={**os.environ, "KERAS_BACKEND": "jax"}, capture_output=True, text=True,
        timeout=HANG, cwd=os.path.dirname(__file__))
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    assert " passed" in proc.stdout and " skipped" in proc.stdout, tail
