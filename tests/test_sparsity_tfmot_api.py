"""tfmot 0.8.1's tests of the pruning API, the wrapper, the schedules and distributed pruning
(``prune_test.py``, ``pruning_wrapper_test.py``, ``pruning_schedule_test.py``,
``prune_distributed_test.py``; tensorflow/model-optimization,
``tensorflow_model_optimization/python/core/sparsity/keras/``), adapted to Keras 3 and
``tfcompress.sparsity``. Their models, parameters and asserted values are tfmot's; Keras 3
spellings changed: ``.keras`` and ``.weights.h5`` files, ``keras.models.model_from_json``,
``keras.saving.serialize_keras_object``; a schedule is called with a Python int (the callback
reads the step from the model's state) where tfmot's takes a ``tf.Variable``; tfmot's
``pruning_vars`` are the wrapper's ``masks``, ``collect_prunable_layers`` is ``wrappers``.

Deliberate differences, each marked where it is asserted:

- **A layer with nothing to prune is not wrapped** (Dropout, MaxPooling, Flatten, Add,
  BatchNormalization): a whole model or a list keeps it as it is; wrapping it alone is refused
  in one line. tfmot wraps it with no weight to prune.
- **A layer it cannot prune in a whole model is left dense with a one-line warning** naming
  it (ConvLSTM2D); tfmot raises. Wrapped alone it is refused, as in tfmot.
- **A subclass of a prunable layer is pruned as its base is** (a ``Dense`` subclass prunes
  its kernel); tfmot's registry matches exact classes and refuses it.
- **The pruned model has layers and weights of its own**: an already wrapped layer is copied,
  not shared; tfmot's pruned model shares the objects.
- **Keras 3 loads a pruned model without ``prune_scope``** (the wrapper and schedules are
  registered serializables); the scope exists, so tfmot's code runs as written.
- **Errors are one line of tfcompress's own wording** (``InputError``, a ``ValueError``).
- **``PolynomialDecay`` with ``end_step == begin_step`` is refused**: its decay divides by
  ``end_step - begin_step`` (tfmot's computes NaN there).
- **``sparsity_m_by_n`` prunes a Conv3D kernel** along its input channels as it does Conv1D/2D;
  tfmot prunes only rank-2 and rank-4 weights with it and leaves Conv3D dense.

Not applicable to Keras 3: TensorFlow-format checkpoints (``.tf``) and TF1 SavedModels.
"""

from __future__ import annotations

import numpy as np
import pytest

from tfcompress import sparsity
from tfcompress._keras3 import keras
from tfcompress.errors import InputError

layers = keras.layers
Prune = sparsity.PruneLowMagnitude


def build_simple_dense_model():  # tfmot's keras test_utils
    return keras.Sequential([keras.Input((10,)), layers.Dense(8, activation="relu"),
                             layers.Dense(5, activation="softmax")])


def _params():
    return {"pruning_schedule": sparsity.ConstantSparsity(0.5, 0), "block_size": (1, 1),
            "block_pooling_type": "AVG"}


class TestSubclassedModel(keras.Model):
    def __init__(self):
        super().__init__(name="test_model")
        self.layer1 = layers.Dense(10, activation="relu")

    def call(self, inputs):
        return self.layer1(inputs)


class CustomPrunableLayer(layers.Dense, sparsity.PrunableLayer):
    def get_prunable_weights(self):
        return [self.kernel]


class CustomNonPrunableLayer(layers.Dense):
    pass


def _validate_pruned_layer(original_layer, wrapped_layer, params):
    assert isinstance(wrapped_layer, Prune)
    assert type(wrapped_layer.layer) is type(original_layer)
    assert wrapped_layer.layer.name == original_layer.name
    assert wrapped_layer.pruning_schedule.get_config() == \
        params["pruning_schedule"].get_config()
    assert wrapped_layer.block_size == params["block_size"]
    assert wrapped_layer.block_pooling_type == params["block_pooling_type"]


def _count_pruned_layers(model):
    return len(sparsity.wrappers(model))


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)
    np.random.seed(0)


# prune_test.py

def test_prune_keras_prunable_layer():
    params, layer = _params(), layers.Dense(10)
    wrapped = sparsity.prune_low_magnitude(layer, **params)
    model = keras.Sequential([wrapped])
    model.build(input_shape=(10, 1))
    _validate_pruned_layer(layer, wrapped, params)
    assert wrapped.layer is layer  # a layer is wrapped as it is


def test_prune_keras_non_prunable_layer_is_refused():
    # deliberate difference: tfmot wraps Dropout with nothing to prune
    with pytest.raises(InputError, match="'dropout' .Dropout. cannot be pruned"):
        sparsity.prune_low_magnitude(layers.Dropout(0.4, name="dropout"), **_params())


def test_prune_keras_unsupported_layer():
    with pytest.raises(ValueError):
        sparsity.prune_low_magnitude(layers.ConvLSTM2D(2, (5, 5)), **_params())


def test_prune_custom_prunable_layer():
    params, layer = _params(), CustomPrunableLayer(10)
    wrapped = sparsity.prune_low_magnitude(layer, **params)
    model = keras.Sequential([wrapped])
    model.build(input_shape=(10, 1))
    _validate_pruned_layer(layer, wrapped, params)
    assert [wrapped.layer.kernel] == wrapped.layer.get_prunable_weights()
    assert wrapped.pruned_weights == [wrapped.layer.kernel]


def test_prune_custom_non_prunable_layer_is_pruned_as_its_base():
    # deliberate difference: tfmot refuses a Dense subclass that is no PrunableLayer
    layer = CustomNonPrunableLayer(10)
    wrapped = sparsity.prune_low_magnitude(layer, **_params())
    keras.Sequential([wrapped]).build(input_shape=(10, 1))
    assert wrapped.pruned_weights == [layer.kernel]


def test_prune_model_valid_layers_successful():
    params = _params()
    model = keras.Sequential([layers.Dense(10), layers.Dropout(0.4), CustomPrunableLayer(10)])
    pruned_model = sparsity.prune_low_magnitude(model, **params)
    pruned_model.build(input_shape=(1, 28, 28, 1))
    assert len(model.layers) == len(pruned_model.layers)
    for layer, pruned_layer in zip(model.layers, pruned_model.layers):
        if isinstance(layer, layers.Dropout):  # deliberate difference: kept as it is
            assert type(pruned_layer) is layers.Dropout
        else:
            _validate_pruned_layer(layer, pruned_layer, params)


def test_prune_model_unsupported_keras_layer_is_named_and_left_dense(caplog):
    # deliberate difference: tfmot raises; a warning names the layer left dense
    with caplog.at_level("WARNING", logger="tfcompress"):
        pruned = sparsity.prune_low_magnitude(keras.Sequential([
            keras.Input((4, 8, 8, 1)), layers.ConvLSTM2D(2, (5, 5), name="convlstm"),
            layers.Flatten(), layers.Dense(10), CustomPrunableLayer(10)]), **_params())
    assert "layer 'convlstm' (ConvLSTM2D) is left dense" in caplog.text
    assert _count_pruned_layers(pruned) == 2


def test_prune_model_does_not_wrap_already_wrapped_layer():
    params = _params()
    model = keras.Sequential([layers.Dense(10),
                              sparsity.prune_low_magnitude(layers.Dense(10), **params)])
    pruned_model = sparsity.prune_low_magnitude(model, **params)
    pruned_model.build(input_shape=(10, 1))
    assert len(model.layers) == len(pruned_model.layers)
    _validate_pruned_layer(model.layers[0], pruned_model.layers[0], params)
    # the second is used as it is (deliberate difference: a copy, not the same object)
    second = pruned_model.layers[1]
    assert isinstance(second, Prune) and not isinstance(second.layer, Prune)
    assert second.layer.name == model.layers[1].layer.name


def test_prune_valid_layers_list_successful():
    params = _params()
    model_layers = [layers.Dense(10), layers.Dropout(0.4), CustomPrunableLayer(10)]
    pruned_layers = sparsity.prune_low_magnitude(model_layers, **params)
    assert len(model_layers) == len(pruned_layers)
    for layer, pruned_layer in zip(model_layers, pruned_layers):
        if isinstance(layer, layers.Dropout):  # deliberate difference: kept as it is
            assert pruned_layer is layer
        else:
            _validate_pruned_layer(layer, pruned_layer, params)


def test_prune_inference_works_pruning_step_callback_not_required():
    model = sparsity.prune_low_magnitude(keras.Sequential([
        layers.Dense(10, activation="relu", input_shape=(100,)),
        layers.Dense(2, activation="sigmoid")]), **_params())
    model.compile(loss=keras.losses.categorical_crossentropy,
                  optimizer=keras.optimizers.SGD(), metrics=["accuracy"])
    model.predict(np.random.rand(1000, 100), verbose=0)
    model.evaluate(np.random.rand(1000, 100),
                   keras.utils.to_categorical(np.random.randint(2, size=(1000, 1))), verbose=0)


def test_prune_sequential_model():
    model = keras.Sequential([layers.Dense(10), layers.Dense(10)])  # no InputLayer
    assert _count_pruned_layers(sparsity.prune_low_magnitude(model, **_params())) == 2
    model = keras.Sequential([layers.Dense(10, input_shape=(10,)), layers.Dense(10)])
    assert _count_pruned_layers(sparsity.prune_low_magnitude(model, **_params())) == 2


def test_prune_sequential_model_preserves_built_state():
    model = keras.Sequential([layers.Dense(10), layers.Dense(10)])  # no InputLayer
    _assert_built_state_preserved(model, False)
    model = keras.Sequential([layers.Dense(10, input_shape=(10,)), layers.Dense(10)])
    _assert_built_state_preserved(model, True)


def _assert_built_state_preserved(model, built):
    """tfmot's steps: the model's built state, unchanged by pruning, and across serialization."""
    assert model.built is built
    pruned_model = sparsity.prune_low_magnitude(model, **_params())
    assert model.built is built
    with sparsity.prune_scope():
        loaded_model = keras.models.model_from_json(pruned_model.to_json())
    assert loaded_model.built is built


def _two_input_model():
    i1, i2 = keras.Input(shape=(10,)), keras.Input(shape=(10,))
    outputs = layers.Add()([layers.Dense(10)(i1), layers.Dense(10)(i2)])
    return keras.Model(inputs=[i1, i2], outputs=outputs)


def test_prune_functional_model():
    # deliberate difference: 2 (tfmot: 3, its Add wrapped with nothing to prune)
    assert _count_pruned_layers(sparsity.prune_low_magnitude(_two_input_model(),
                                                             **_params())) == 2


def test_prune_functional_model_with_layer_reused():
    inp = keras.Input(shape=(10,))
    dense_layer = layers.Dense(10)
    x = dense_layer(dense_layer(inp))
    model = keras.Model(inputs=[inp], outputs=[x])
    assert _count_pruned_layers(sparsity.prune_low_magnitude(model, **_params())) == 1


def test_prune_functional_model_preserves_built_state():
    _assert_built_state_preserved(_two_input_model(), True)


def test_prune_model_recursively():
    internal_model = keras.Sequential([layers.Dense(10, input_shape=(10,))])
    original_model = keras.Sequential([internal_model, layers.Dense(10)])
    pruned_model = sparsity.prune_low_magnitude(original_model, **_params())
    assert _count_pruned_layers(pruned_model) == 2


def test_prune_subclass_model():
    with pytest.raises(ValueError, match="'test_model' is a subclassed model"):
        sparsity.prune_low_magnitude(TestSubclassedModel(), **_params())


def test_prune_misc_object():
    with pytest.raises(ValueError, match="cannot prune object"):
        sparsity.prune_low_magnitude(object(), **_params())


def test_strip_pruning_sequential_model():
    model = keras.Sequential([layers.Dense(10), layers.Dense(10)])
    stripped_model = sparsity.strip_pruning(sparsity.prune_low_magnitude(model, **_params()))
    assert _count_pruned_layers(stripped_model) == 0
    assert model.get_config() == stripped_model.get_config()


def test_strip_pruning_functional_model():
    model = _two_input_model()
    stripped_model = sparsity.strip_pruning(sparsity.prune_low_magnitude(model, **_params()))
    assert _count_pruned_layers(stripped_model) == 0
    assert model.get_config() == stripped_model.get_config()


def test_prune_scope_not_needed_for_keras_model(tmp_path):
    # deliberate difference: tfmot's testPruneScope_NeededForKerasModel asserts a load
    # without the scope fails; Keras 3 loads the registered wrapper, and the scope works too
    pruned_model = sparsity.prune_low_magnitude(build_simple_dense_model())
    pruned_model.save(tmp_path / "pruned.keras")
    keras.models.load_model(tmp_path / "pruned.keras")
    with sparsity.prune_scope():
        keras.models.load_model(tmp_path / "pruned.keras")


def test_prune_scope_not_needed_for_keras_checkpoint(tmp_path):
    pruned_model = sparsity.prune_low_magnitude(build_simple_dense_model())
    pruned_model.save_weights(tmp_path / "pruned.weights.h5")
    same_architecture_model = sparsity.prune_low_magnitude(build_simple_dense_model())
    same_architecture_model.load_weights(tmp_path / "pruned.weights.h5")


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="a TensorFlow SavedModel")
def test_prune_scope_not_needed_for_tf2_saved_model(tmp_path):
    import tensorflow as tf

    pruned_model = sparsity.prune_low_magnitude(build_simple_dense_model())
    tf.saved_model.save(pruned_model, str(tmp_path / "saved"))
    tf.saved_model.load(str(tmp_path / "saved"))  # would error if a scope were needed


# pruning_wrapper_test.py

class CustomLayer(layers.Layer):
    """A custom layer which is not prunable."""

    def __init__(self, input_dim=16, output_dim=32, **kwargs):
        super().__init__(**kwargs)
        self.weight = self.add_weight(shape=(input_dim, output_dim),
                                      initializer="random_normal", trainable=True)
        self.bias = self.add_weight(shape=(output_dim,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return keras.ops.matmul(inputs, self.weight) + self.bias


class CustomLayerPrunable(CustomLayer):
    def get_prunable_weights(self):
        return [self.weight, self.bias]


def test_prune_wrapper_allows_only_valid_pooling_type():
    layer = layers.Dense(10)
    with pytest.raises(ValueError):
        Prune(layer, block_pooling_type="MIN")
    Prune(layer, block_pooling_type="AVG")
    Prune(layer, block_pooling_type="MAX")


def _mask_count(model):
    return sum(len(l.masks) for l in model.layers if isinstance(l, Prune))


def test_dense():
    model = keras.Sequential([Prune(layers.Dense(10), **_params())])
    model.build(input_shape=(10, 1))
    assert _mask_count(model) == 1


def test_embedding():
    # Keras 3: a Sequential built from input_shape takes no other build shape
    model = keras.Sequential([Prune(layers.Embedding(10, 10), input_shape=(10,), **_params())])
    assert _mask_count(model) == 1


def test_conv2d():
    model = keras.Sequential([Prune(layers.Conv2D(4, (3, 3)), **_params())])
    model.build(input_shape=(1, 16, 16, 4))
    assert _mask_count(model) == 1


def test_prune_model():
    # deliberate difference: the pooling, Flatten and Dropout layers are not wrapped
    model = keras.Sequential([
        Prune(layers.Conv2D(32, 5)), layers.MaxPooling2D((2, 2), (2, 2)),
        Prune(layers.Conv2D(64, 5)), layers.MaxPooling2D((2, 2), (2, 2)), layers.Flatten(),
        Prune(layers.Dense(1024)), layers.Dropout(0.4), Prune(layers.Dense(10))])
    model.build(input_shape=(1, 28, 28, 1))
    assert _mask_count(model) == 4
    model_config = model.get_config()
    pruned_model = model.__class__.from_config(
        model_config, custom_objects={"PruneLowMagnitude": Prune})
    pruned_model_config = pruned_model.get_config()
    for config in (model_config, pruned_model_config):
        for layer in config["layers"]:
            layer.pop("build_config", None)
    assert model_config == pruned_model_config


def test_custom_layer_non_prunable():
    layer = CustomLayer(input_dim=16, output_dim=32)
    layer(keras.layers.Input(shape=(16,)))
    with pytest.raises(ValueError):
        Prune(layer, block_pooling_type="MAX")


def test_custom_layer_prunable():
    layer = CustomLayerPrunable(input_dim=16, output_dim=32)
    layer(keras.layers.Input(shape=(16,)))
    pruned_layer = Prune(layer, block_pooling_type="MAX")
    assert pruned_layer.name == "prune_low_magnitude_custom_layer_prunable"


def test_collect_prunable_layers():
    # deliberate difference: BatchNormalization, Flatten and Dropout are not wrapped, so 2
    # wrappers where tfmot collects 5
    lstm_layer = layers.RNN(layers.LSTMCell(4, dropout=0.5, recurrent_dropout=0.5),
                            input_shape=(None, 4))
    model = keras.Sequential([Prune(lstm_layer), layers.BatchNormalization(), layers.Flatten(),
                              Prune(layers.Dense(10)), layers.Dropout(0.5)])  # built: Keras 3
    assert len(sparsity.wrappers(model)) == 2
    assert [len(w.masks) for w in sparsity.wrappers(model)] == [2, 1]
    # beyond tfmot's test: the cell's dropout runs in training, through the wrapper
    model.compile(loss="mse", optimizer="sgd")
    model.fit(np.random.rand(8, 3, 4), np.random.rand(8, 10), verbose=0,
              callbacks=[sparsity.UpdatePruningStep()])


def test_conv3d_weight_is_pruned_with_sparsity_m_by_n():
    # deliberate difference: tfmot wraps the Conv3D and prunes nothing (rank-2 and rank-4
    # weights only); here its kernel takes the pattern along its input channels
    layer = layers.Conv3D(2, 3)
    layer(layers.Input(shape=(4, 28, 28, 1)))
    model = keras.Sequential([layers.Input(shape=(4, 28, 28, 1)),
                              Prune(layer, sparsity_m_by_n=(2, 4))])
    pruned_layers = sparsity.wrappers(model)
    assert len(pruned_layers) == 1
    assert len(pruned_layers[0].masks) == 1


# pruning_schedule_test.py

def _construct_pruning_schedule(schedule_type, begin_step, end_step, frequency=10):
    if schedule_type == "constant_sparsity":
        return sparsity.ConstantSparsity(0.5, begin_step, end_step, frequency)
    return sparsity.PolynomialDecay(0.2, 0.8, begin_step, end_step, 3, frequency)


SCHEDULES = ["constant_sparsity", "polynomial_decay"]


@pytest.mark.filterwarnings("ignore:.*never updates the masks")
@pytest.mark.parametrize("schedule_type", SCHEDULES)
def test_begin_step_greater_than_equals_zero(schedule_type):
    for begin in (-1, -5):
        with pytest.raises(ValueError):
            _construct_pruning_schedule(schedule_type, begin, 1000)
    for begin in (0, 1, 100):
        _construct_pruning_schedule(schedule_type, begin, 1000)


@pytest.mark.filterwarnings("ignore:.*never updates the masks")
@pytest.mark.parametrize("schedule_type", SCHEDULES)
def test_end_step_greater_than_equals_zero(schedule_type):
    with pytest.raises(ValueError):
        _construct_pruning_schedule(schedule_type, 10, -5)
    if schedule_type == "constant_sparsity":
        _construct_pruning_schedule(schedule_type, 0, 0)
    else:  # deliberate difference: no decay from a step to itself (tfmot divides by 0)
        with pytest.raises(ValueError, match="begin_step < end_step"):
            _construct_pruning_schedule(schedule_type, 0, 0)
    _construct_pruning_schedule(schedule_type, 0, 1)
    _construct_pruning_schedule(schedule_type, 0, 100)


@pytest.mark.parametrize("schedule_type", SCHEDULES)
def test_end_step_greater_than_equals_begin_step(schedule_type):
    with pytest.raises(ValueError):
        _construct_pruning_schedule(schedule_type, 10, 5)
    if schedule_type == "constant_sparsity":
        _construct_pruning_schedule(schedule_type, 10, 10)
    else:  # deliberate difference, as above
        with pytest.raises(ValueError, match="begin_step < end_step"):
            _construct_pruning_schedule(schedule_type, 10, 10)
    _construct_pruning_schedule(schedule_type, 10, 20)


@pytest.mark.parametrize("schedule_type", SCHEDULES)
def test_frequency_is_positive(schedule_type):
    for frequency in (0, -1, -5):
        with pytest.raises(ValueError):
            _construct_pruning_schedule(schedule_type, 10, 1000, frequency)
    _construct_pruning_schedule(schedule_type, 10, 1000, 1)
    _construct_pruning_schedule(schedule_type, 10, 1000, 10)


def _validate_sparsity(construct):
    for bad in (-0.001, -1.0, -10.0, 1.0, 10.0):  # not < 0, not >= 1
        with pytest.raises(ValueError):
            construct(bad)
    for good in (0.0, 0.001, 0.5, 0.99):
        construct(good)


@pytest.mark.parametrize("schedule_type", SCHEDULES)
def test_sparsity_value_is_valid(schedule_type):
    if schedule_type == "constant_sparsity":
        _validate_sparsity(lambda s: sparsity.ConstantSparsity(s, 0))
    else:
        _validate_sparsity(lambda s: sparsity.PolynomialDecay(s, 0.8, 0, 10))
        _validate_sparsity(lambda s: sparsity.PolynomialDecay(0.2, s, 0, 10))


@pytest.mark.parametrize("schedule_type", SCHEDULES)
def test_prunes_only_in_begin_end_step_range(schedule_type):
    schedule = _construct_pruning_schedule(schedule_type, 100, 200, 1)
    for step in (90, 99, 201, 210):
        assert not schedule(step)[0], step
    for step in (100, 110, 200):
        assert schedule(step)[0], step


@pytest.mark.parametrize("schedule_type", SCHEDULES)
def test_only_prunes_at_valid_frequency_steps(schedule_type):
    schedule = _construct_pruning_schedule(schedule_type, 100, 200, 10)
    assert not schedule(109)[0] and not schedule(111)[0]
    assert schedule(100)[0] and schedule(110)[0]


def test_constant_sparsity_prunes_forever_if_end_step_is_negative_one():
    schedule = sparsity.ConstantSparsity(0.5, 0, -1, 10)
    for step in (10000, 100000000):
        assert schedule(step)[0]
        assert schedule(step)[1] == pytest.approx(0.5)


def test_prunes_with_constant_sparsity():
    schedule = sparsity.ConstantSparsity(0.5, 100, 200, 10)
    for step in (100, 110, 200):
        assert schedule(step)[1] == pytest.approx(0.5)


@pytest.mark.parametrize("schedule", [lambda: sparsity.ConstantSparsity(0.7, 10, 20, 10),
                                      lambda: sparsity.PolynomialDecay(0.2, 0.6, 10, 20, 5, 10)],
                         ids=["ConstantSparsity", "PolynomialDecay"])
def test_serialize_deserialize(schedule):
    schedule = schedule()
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(schedule))
    assert type(restored) is type(schedule) and restored.__dict__ == schedule.__dict__


def test_polynomial_decay_raises_error_if_end_step_is_negative():
    with pytest.raises(ValueError):
        sparsity.PolynomialDecay(0.4, 0.8, 10, -1)


def test_polynomial_decay_prunes_correctly():
    schedule = sparsity.PolynomialDecay(0.2, 0.8, 100, 110, 3, 2)
    # tfmot: "generated using tf.polynomial_decay with the same params in a colab to verify"
    for step, expected in ((100, 0.2), (102, 0.4928), (105, 0.725), (110, 0.8)):
        assert schedule(step)[1] == pytest.approx(expected, rel=1e-6, abs=1e-6), step


# prune_distributed_test.py

def _strategies():
    import tensorflow as tf

    return {"MultiWorkerMirrored": tf.distribute.MultiWorkerMirroredStrategy,
            "Mirrored": tf.distribute.MirroredStrategy,
            "OneDevice": lambda: tf.distribute.OneDeviceStrategy("/cpu:0")}


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.distribute")
@pytest.mark.parametrize("name", ["MultiWorkerMirrored", "Mirrored", "OneDevice"])
def test_prunes_simple_dense_model(name, tmp_path):
    distribution = _strategies()[name]()
    with distribution.scope():
        model = sparsity.prune_low_magnitude(
            build_simple_dense_model(),
            pruning_schedule=sparsity.ConstantSparsity(0.5, 0, -1, 1), block_size=(1, 1),
            block_pooling_type="AVG")
        model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    assert _sparsities(model) == [0.0, 0.0]  # not trained yet
    model.fit(np.random.rand(20, 10),
              keras.utils.to_categorical(np.random.randint(5, size=(20, 1)), 5), epochs=2,
              callbacks=[sparsity.UpdatePruningStep()], batch_size=20, verbose=0)
    model.predict(np.random.rand(20, 10), verbose=0)
    assert _sparsities(model) == pytest.approx([0.5, 0.5], abs=1e-6)
    model.save(tmp_path / "pruned.keras")
    with sparsity.prune_scope():
        loaded_model = keras.models.load_model(tmp_path / "pruned.keras")
    assert _sparsities(loaded_model) == pytest.approx([0.5, 0.5], abs=1e-6)


def _sparsities(model):
    return [row["sparsity"] for row in sparsity.layer_sparsity(model).values()]
