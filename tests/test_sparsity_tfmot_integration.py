"""tfmot 0.8.1's end-to-end pruning tests (``prune_integration_test.py``, tensorflow/
model-optimization, ``tensorflow_model_optimization/python/core/sparsity/keras/``), adapted to
Keras 3 and ``tfcompress.sparsity``. The stop/restart tests and the custom training loop are in
``test_sparsity_tfmot.py``; these are the rest of the file. Models, data, schedules and asserted
values are tfmot's; only Keras 3 spellings changed:

- sparsity is read through the masks (``weight * mask``): tfcompress keeps the trained weight
  and computes with the masked one, where tfmot writes the masked value into the weight;
- ``save_weights`` writes ``.weights.h5`` (Keras 3 has no TensorFlow checkpoint format);
  ``model.inputs[0]`` for ``model.input`` (a Sequential model's ``input`` needs a call in
  Keras 3), ``getattr(model, "optimizer", None)`` (an uncompiled Keras 3 model has none);
- ``LocallyConnected1D/2D`` are not in Keras 3, so their cases do not apply.

Deliberate differences, each marked where it is asserted:

- the pruned model has weights of its own (copied), so pruning leaves the user's model as it
  was; tfmot's wrapped model shares the weight objects;
- a layer that cannot be pruned (a depthwise convolution with ``sparsity_m_by_n``, a layer of
  one's own that is no ``PrunableLayer``) is left dense with a one-line warning naming it when a
  whole model is wrapped, and refused in one line when wrapped alone; tfmot raises for the
  first and wraps the second with nothing to prune;
- a compiled model's pruned clone is compiled alike (Keras 3's ``clone_model``), with a new
  optimizer; tfmot's has none;
- ``UpdatePruningStep`` on a model with no wrapper is refused in one line (tfmot trains it
  and prunes nothing, so its ``testPruneRecursivelyReachesTargetSparsity``, which never calls
  ``prune_low_magnitude``, passes without pruning; here the nested model is pruned as the
  test's name says).
"""

from __future__ import annotations

import numpy as np
import pytest

from tfcompress import sparsity
from tfcompress._keras3 import keras
from tfcompress.errors import InputError

layers = keras.layers


def build_simple_dense_model():  # tfmot's keras test_utils
    return keras.Sequential([keras.Input((10,)), layers.Dense(8, activation="relu"),
                             layers.Dense(5, activation="softmax")])


def _params(**changes):
    return {"pruning_schedule": sparsity.ConstantSparsity(0.5, 0, -1, 1), "block_size": (1, 1),
            "block_pooling_type": "AVG", **changes}


def _weight_sparsity(model):
    """Each pruned weight's sparsity as the model computes with it (``weight * mask``)."""
    return {f"{w.layer.name}/{i}": 1.0 - np.count_nonzero(
        np.asarray(v.numpy()) * np.asarray(m.numpy())) / float(np.prod(v.shape))
        for w in sparsity.wrappers(model) for i, (v, m) in
        enumerate(zip(w.pruned_weights, w.masks))}


def assert_model_sparsity(expected, model, rtol=1e-6, atol=1e-6):
    found = _weight_sparsity(model)
    assert found, "no pruned weight"
    for name, value in found.items():
        assert value == pytest.approx(expected, rel=rtol, abs=atol), (name, found)


def assert_model_sparsity_m_by_n(model, m_by_n):
    from tfcompress.prune.criteria import check_m_by_n

    for w in sparsity.wrappers(model):
        for v, m in zip(w.pruned_weights, w.masks):
            assert check_m_by_n(np.asarray(v.numpy()) * np.asarray(m.numpy()), *m_by_n), w.name


def _batch(shape, batch_size):
    shape = list(shape)
    if shape[0] is None:
        shape[0] = batch_size
    return shape


def _check_strip_pruning_matches_original(model, expected, input_data=None):
    assert_model_sparsity(expected, model)
    stripped = sparsity.strip_pruning(model)
    assert not sparsity.wrappers(stripped)
    if input_data is None:
        input_data = np.random.randn(*_batch(model.inputs[0].shape, 1)).astype("float32")
    np.testing.assert_almost_equal(model.predict(input_data, verbose=0),
                                   stripped.predict(input_data, verbose=0), decimal=6)


def _train_model(model, epochs=1, x_train=None, y_train=None, callbacks=None):
    if x_train is None:
        x_train = np.random.rand(20, 10)
    if y_train is None:
        y_train = keras.utils.to_categorical(np.random.randint(5, size=(20, 1)), 5)
    if getattr(model, "optimizer", None) is None:
        model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    if callbacks is None:
        callbacks = [sparsity.UpdatePruningStep()] if sparsity.wrappers(model) else []
    model.fit(x_train, y_train, epochs=epochs, batch_size=20, callbacks=callbacks, verbose=0)


def _pretrained_model():
    model = build_simple_dense_model()
    _train_model(model, epochs=1)
    return model


def _values(model):
    return [np.asarray(v.numpy()) for v in _dense_weights(model)]


def _dense_weights(model):
    """The model's kernels and biases (a wrapper's inner layer's), in model order."""
    out = []
    for layer in model.layers:
        inner = layer.layer if isinstance(layer, sparsity.PruneLowMagnitude) else layer
        out += list(inner.weights)
    return out


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)
    np.random.seed(0)


# Sanity checks and special cases for training with pruning

def test_prunes_zero_sparsity_is_no_op():
    model = build_simple_dense_model()
    model2 = build_simple_dense_model()
    model2.set_weights(model.get_weights())
    pruned_model = sparsity.prune_low_magnitude(
        model2, **_params(pruning_schedule=sparsity.ConstantSparsity(
            target_sparsity=0, begin_step=0, frequency=1)))
    x_train = np.random.rand(20, 10)
    y_train = keras.utils.to_categorical(np.random.randint(5, size=(20, 1)), 5)
    _train_model(model, epochs=1, x_train=x_train, y_train=y_train)
    _train_model(pruned_model, epochs=1, x_train=x_train, y_train=y_train)
    a, b = _dense_weights(model), _dense_weights(pruned_model)
    assert all(x is not y for x, y in zip(a, b))  # tfmot's _assert_weights_different_objects
    for x, y in zip(a, b):  # _assert_weights_same_values
        np.testing.assert_allclose(np.asarray(x.numpy()), np.asarray(y.numpy()), rtol=1e-6,
                                   atol=1e-6)


def test_prune_with_high_sparsity():
    model = sparsity.prune_low_magnitude(
        build_simple_dense_model(), **_params(pruning_schedule=sparsity.ConstantSparsity(
            target_sparsity=0.99, begin_step=0, frequency=1)))
    _train_model(model, epochs=1)
    for w in sparsity.wrappers(model):
        for v, m in zip(w.pruned_weights, w.masks):
            assert np.count_nonzero(np.asarray(v.numpy()) * np.asarray(m.numpy())) == 1


# Training with pruning, pretrained models or weights

def test_prune_pretrained_model_does_not_keep_the_optimizer():
    # deliberate difference: tfmot's testPrunePretrainedModel_RemovesOptimizer asserts no
    # optimizer; Keras 3's clone_model compiles the clone as the original was compiled, so
    # the pruned model has a new optimizer of the same settings, none of the old one's state
    model = _pretrained_model()
    assert model.optimizer is not None and int(model.optimizer.iterations.numpy()) == 1
    pruned = sparsity.prune_low_magnitude(model, **_params())
    assert pruned.optimizer is not model.optimizer
    assert int(pruned.optimizer.iterations.numpy()) == 0


def test_prune_pretrained_model_copies_weight_objects():
    # deliberate difference: tfmot's testPrunePretrainedModel_PreservesWeightObjects asserts
    # the pruned model shares the weight objects; here it has its own, of the same values,
    # so fine-tuning it leaves the user's model as it was
    model = _pretrained_model()
    pruned_model = sparsity.prune_low_magnitude(model, **_params())
    for x, y in zip(_dense_weights(model), _dense_weights(pruned_model)):
        assert x is not y
        np.testing.assert_array_equal(np.asarray(x.numpy()), np.asarray(y.numpy()))


def test_prune_pretrained_model_same_inference_without_training():
    model = _pretrained_model()
    _assert_same_inference(model, sparsity.prune_low_magnitude(model, **_params()))


def _assert_same_inference(model, pruned_model):
    input_data = np.random.rand(10, 10)
    assert (model.predict(input_data, verbose=0)
            == pruned_model.predict(input_data, verbose=0)).all()


def test_load_weights_then_prune_same_inference_without_training(tmp_path):
    model = _pretrained_model()
    model.save_weights(tmp_path / "tf.weights.h5")
    same_architecture_model = build_simple_dense_model()
    same_architecture_model.load_weights(tmp_path / "tf.weights.h5")
    _assert_same_inference(model, sparsity.prune_low_magnitude(same_architecture_model,
                                                               **_params()))


def test_prune_then_load_keras_weights_fails(tmp_path):
    # tfmot's testPruneThenLoadsKerasWeights_Fails (its two TensorFlow-checkpoint variants,
    # which load nothing into the pruned model, have no Keras 3 format to run on)
    model = _pretrained_model()
    model.save_weights(tmp_path / "keras.weights.h5")
    pruned_model = sparsity.prune_low_magnitude(build_simple_dense_model(), **_params())
    with pytest.raises(ValueError):  # pruning introduces weights
        pruned_model.load_weights(tmp_path / "keras.weights.h5")


# Training with pruning from scratch

PARAMS_FOR_LAYER = {  # tfmot's _get_params_for_layer (Keras 3 has no LocallyConnected)
    layers.Conv1D: ([4, 2], (3, 6)),
    layers.Conv2D: ([4, (2, 2)], (4, 6, 1)),
    layers.Conv3D: ([2, (3, 3, 3)], (5, 7, 6, 3)),
    layers.SeparableConv1D: ([4, 3], (3, 6)),
    layers.SeparableConv2D: ([4, (2, 2)], (4, 6, 1)),
    layers.Dense: ([4], (6,)),
}


def _fit_random(model, n=32):
    model.fit(np.random.randn(*_batch(model.inputs[0].shape, n)),
              np.random.randn(*_batch(model.outputs[0].shape, n)), verbose=0,
              callbacks=[sparsity.UpdatePruningStep()])


@pytest.mark.parametrize("layer_type", list(PARAMS_FOR_LAYER), ids=lambda t: t.__name__)
def test_prunes_single_layer_reaches_target_sparsity(layer_type):
    args, input_shape = PARAMS_FOR_LAYER[layer_type]
    model = keras.Sequential()
    model.add(sparsity.prune_low_magnitude(layer_type(*args), input_shape=input_shape,
                                           **_params()))
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    assert_model_sparsity(0.0, model)
    _fit_random(model)
    assert_model_sparsity(0.5, model)
    _check_strip_pruning_matches_original(model, 0.5)


@pytest.mark.parametrize("layer_type, layer_arg, input_shape, m_by_n, sparsity_ratio", [
    (layers.Conv2D, [16, (5, 7)], (10, 10, 8), (2, 4), 0.50),
    (layers.Dense, [16], [8], (2, 4), 0.50),
    (layers.Conv2D, [16, (5, 7)], (10, 10, 7), (2, 4), 0.428571),
    (layers.Conv2D, [16, (5, 7)], (10, 10, 8), (1, 2), 0.50),
    (layers.Dense, [16], [8], (1, 2), 0.50),
], ids=["Conv2D", "Dense", "Conv2D_not_multiple_4", "Conv2D_1by2", "Dense_1by2"])
def test_m_by_n_sparsity_pruning_supported_layers(layer_type, layer_arg, input_shape, m_by_n,
                                                  sparsity_ratio):
    model = keras.Sequential()
    model.add(sparsity.prune_low_magnitude(layer_type(*layer_arg), input_shape=input_shape,
                                           **_params(sparsity_m_by_n=m_by_n)))
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    assert_model_sparsity(0.0, model)
    _fit_random(model)
    assert_model_sparsity_m_by_n(model, m_by_n)
    _check_strip_pruning_matches_original(model, sparsity_ratio)


def test_m_by_n_on_a_depthwise_convolution_is_refused():
    # deliberate difference: tfmot's DepthwiseConv_2by4 case wraps the layer with nothing to
    # prune (its registry lists no weight), and the test passes with no weight checked
    with pytest.raises(InputError, match="depthwise kernel"):
        sparsity.prune_low_magnitude(layers.DepthwiseConv2D(3), input_shape=(7, 7, 32),
                                     **_params(sparsity_m_by_n=(2, 4)))


class SubclassLayer(layers.Layer):  # tfmot's, in testSparsityPruningMbyN_SupportedSubclassLayers

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = layers.Conv2D(2, 3, activation="relu", padding="same")
        self.conv2 = layers.DepthwiseConv2D(3)
        self.flatten = layers.Flatten()
        self.dense = layers.Dense(10, activation="sigmoid")

    def call(self, inputs):
        return self.dense(self.flatten(self.conv2(self.conv1(inputs))))


def test_m_by_n_sparsity_pruning_subclass_layer_is_named_and_left_dense(caplog):
    # deliberate difference: tfmot raises ValueError for the unsupported layer; a whole model
    # is wrapped here with that layer left dense and one warning naming it, and the callback
    # then refuses a model with nothing to prune
    inputs = keras.Input(shape=(7, 7, 3))
    model = keras.Model(inputs, SubclassLayer(name="sub")(inputs))
    with caplog.at_level("WARNING", logger="tfcompress"):
        pruned = sparsity.prune_low_magnitude(model, **_params(sparsity_m_by_n=(2, 4)))
    assert "layer 'sub' (SubclassLayer) is left dense" in caplog.text
    assert not sparsity.wrappers(pruned)
    pruned.compile(loss="categorical_crossentropy", optimizer="sgd")
    with pytest.raises(InputError, match="has no pruning wrapper"):
        _fit_random(pruned)


@pytest.mark.parametrize("layer_type", [layers.GRU, layers.LSTM, layers.SimpleRNN],
                         ids=lambda t: t.__name__)
def test_rnn_layers_single_cell_reaches_target_sparsity(layer_type):
    model = keras.Sequential()
    model.add(sparsity.prune_low_magnitude(layer_type(10), input_shape=(3, 4), **_params()))
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    assert_model_sparsity(0.0, model)
    _fit_random(model)
    assert len(_weight_sparsity(model)) == 2  # kernel and recurrent kernel
    assert_model_sparsity(0.5, model)
    _check_strip_pruning_matches_original(model, 0.5)


def test_rnn_layers_with_rnn_cell_params_reaches_target_sparsity():
    model = keras.Sequential()
    model.add(sparsity.prune_low_magnitude(
        layers.RNN([layers.LSTMCell(10), layers.GRUCell(10), layers.SimpleRNNCell(10)]),
        input_shape=(3, 4), **_params()))
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    assert_model_sparsity(0.0, model)
    _fit_random(model)
    assert len(_weight_sparsity(model)) == 6  # two per cell
    assert_model_sparsity(0.5, model)
    _check_strip_pruning_matches_original(model, 0.5)


def test_prunes_embedding_reaches_target_sparsity():
    model = keras.Sequential()
    model.add(sparsity.prune_low_magnitude(layers.Embedding(input_dim=10, output_dim=3),
                                           input_shape=(5,), **_params()))
    model.add(layers.Flatten())
    model.add(layers.Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="sgd", metrics=["accuracy"])
    assert_model_sparsity(0.0, model)
    model.fit(np.random.randint(10, size=(32, 5)), np.random.randint(2, size=(32, 1)),
              verbose=0, callbacks=[sparsity.UpdatePruningStep()])
    assert_model_sparsity(0.5, model)
    _check_strip_pruning_matches_original(model, 0.5, np.random.randint(10, size=(32, 5)))


def test_prune_recursively_reaches_target_sparsity():
    # deliberate difference (see the module's docstring): the nested model is pruned
    internal_model = keras.Sequential([layers.Dense(10, input_shape=(10,))])
    model = keras.Sequential([internal_model, layers.Flatten(), layers.Dense(1)])
    model = sparsity.prune_low_magnitude(model, **_params())
    assert len(sparsity.wrappers(model)) == 2
    model.compile(loss="binary_crossentropy", optimizer="sgd", metrics=["accuracy"])
    assert_model_sparsity(0.0, model)
    model.fit(np.random.randint(10, size=(32, 10)), np.random.randint(2, size=(32, 1)),
              verbose=0, callbacks=[sparsity.UpdatePruningStep()])
    assert_model_sparsity(0.5, model)
    _check_strip_pruning_matches_original(model, 0.5, np.random.randint(10, size=(32, 10)))


def test_mha_layer_reaches_target_sparsity(tmp_path):
    inp = layers.Input(shape=(32, 32), batch_size=100)
    x = layers.MultiHeadAttention(num_heads=2, key_dim=16)(query=inp, value=inp)
    out = layers.Flatten()(x)
    model = keras.Model(inputs=inp, outputs=out)
    model = sparsity.prune_low_magnitude(model, **_params())
    x_train = np.random.uniform(size=(500, 32, 32)).astype("float32")
    y_train = np.random.randint(low=0, high=1024, size=(500,))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-4),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    assert_model_sparsity(0.0, model)
    model.fit(x_train, y_train, epochs=1, batch_size=100, verbose=0,
              callbacks=[sparsity.UpdatePruningStep()])
    assert len(_weight_sparsity(model)) == 4  # query, key, value, output projections
    assert_model_sparsity(0.5, model)
    _check_strip_pruning_matches_original(model, 0.5, x_train)
    # beyond tfmot's test: the wrapped attention saves and loads, masks and step included
    model.save(tmp_path / "mha.keras")
    loaded = keras.saving.load_model(tmp_path / "mha.keras")
    assert_model_sparsity(0.5, loaded)
    np.testing.assert_allclose(loaded.predict(x_train[:8], verbose=0),
                               model.predict(x_train[:8], verbose=0), atol=1e-6)


def _mnist_layer_list():
    return [layers.Conv2D(32, 5, padding="same", activation="relu", input_shape=(28, 28, 1)),
            layers.MaxPooling2D((2, 2), (2, 2), padding="same"), layers.BatchNormalization(),
            layers.Conv2D(64, 5, padding="same", activation="relu"),
            layers.MaxPooling2D((2, 2), (2, 2), padding="same"), layers.Flatten(),
            layers.Dense(1024, activation="relu"), layers.Dropout(0.4),
            layers.Dense(10, activation="softmax")]


def _mnist_model(model_type, params):
    if model_type == "sequential":
        return keras.Sequential(_mnist_layer_list())
    if model_type == "functional":
        inp = keras.Input(shape=(28, 28, 1))
        x = inp
        for layer in _mnist_layer_list():
            x = layer(x)
        return keras.Model([inp], [x])
    if model_type == "layer_list":
        return _mnist_layer_list()
    p = sparsity.prune_low_magnitude  # layer_wise
    return keras.Sequential([
        p(layers.Conv2D(32, 5, padding="same", activation="relu"), input_shape=(28, 28, 1),
          **params),
        layers.MaxPooling2D((2, 2), (2, 2), padding="same"), layers.BatchNormalization(),
        p(layers.Conv2D(64, 5, padding="same", activation="relu"), **params),
        layers.MaxPooling2D((2, 2), (2, 2), padding="same"), layers.Flatten(),
        p(layers.Dense(1024, activation="relu"), **params), layers.Dropout(0.4),
        p(layers.Dense(10, activation="softmax"), **params)])


@pytest.mark.parametrize("model_type", ["sequential", "functional", "layer_list", "layer_wise"])
def test_prunes_mnist_reaches_target_sparsity(model_type):
    params = _params()
    model = _mnist_model(model_type, params)
    if model_type == "layer_list":
        model = keras.Sequential(sparsity.prune_low_magnitude(model, **params))
    elif model_type in ("sequential", "functional"):
        model = sparsity.prune_low_magnitude(model, **params)
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    assert_model_sparsity(0.0, model, rtol=1e-4, atol=1e-4)
    model.fit(np.random.rand(32, 28, 28, 1),
              keras.utils.to_categorical(np.random.randint(10, size=(32, 1)), 10), verbose=0,
              callbacks=[sparsity.UpdatePruningStep()])
    assert_model_sparsity(0.5, model, rtol=1e-4, atol=1e-4)
    _check_strip_pruning_matches_original(model, 0.5)


def test_prune_checkpoints_are_sparse(tmp_path):
    """tfmot's testPruneCheckpoints_CheckpointsNotSparse asserts its bug (issue #206: a
    weights checkpoint taken mid-training restores a model that is not at the target). The
    mask and the step are weights here, saved together, so the restored model is at the
    target: the assertion is inverted, over the same three runs."""
    for run in range(3):
        model = sparsity.prune_low_magnitude(build_simple_dense_model(), **_params())
        path = tmp_path / f"run{run}" / "weights.{epoch:02d}.weights.h5"
        path.parent.mkdir()
        callbacks = [sparsity.UpdatePruningStep(),
                     keras.callbacks.ModelCheckpoint(filepath=str(path), save_weights_only=True,
                                                     save_freq=1)]
        _train_model(model, epochs=1, callbacks=callbacks)  # one step: the final sparsity
        assert_model_sparsity(0.5, model)
        restored = sparsity.prune_low_magnitude(build_simple_dense_model(), **_params())
        assert_model_sparsity(0.0, restored)
        restored.load_weights(sorted(path.parent.glob("*.weights.h5"))[-1])
        assert_model_sparsity(0.5, restored)
