"""tfcompress.sparsity: magnitude pruning for Keras 3 models (wrap, callback, strip)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from support import HANG, REPO
from tfcompress import sparsity
from tfcompress.errors import InputError
from tfcompress.prune import criteria
from tfcompress.recipe import PruneSpec


@pytest.mark.parametrize("spec", [
    PruneSpec(0.8, frequency=7),
    PruneSpec(0.6, initial_sparsity=0.2, begin_fraction=0.1, end_fraction=0.9, frequency=5,
              power=2.0),
    PruneSpec(0.5, schedule="constant", begin_fraction=0.2, frequency=9),
    PruneSpec(0.7, schedule="piecewise", points=((0.1, 0.2), (0.5, 0.5), (0.8, 0.7)),
              frequency=4),
], ids=["poly", "poly-shifted", "constant", "piecewise"])
def test_keras3_schedules_follow_tfmot_step_for_step(spec):
    from tfcompress.prune import schedule

    total = 120
    ours, theirs = sparsity.from_spec(spec, total), schedule.build(spec, total)
    for step in range(total + 5):
        should, value = theirs(step)
        assert ours(step)[0] == bool(should), step
        assert ours(step)[1] == pytest.approx(float(value), abs=1e-6), step


def test_m_by_n_mask_drops_the_smallest_of_every_group():
    rng = np.random.default_rng(0)
    scores = np.abs(rng.normal(size=(3, 3, 10, 6)))  # 10 input channels: 2 full groups + 2
    keep = criteria.m_by_n(scores, 2, 4)
    assert keep.shape == scores.shape
    assert criteria.check_m_by_n(scores * keep, 2, 4)
    group = scores[0, 0, 0:4, 0]
    assert set(np.flatnonzero(keep[0, 0, 0:4, 0])) == set(np.argsort(group)[2:])


def _data(n=256):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 12, 12, 3)).astype("float32")
    return x, (x.mean(axis=(1, 2, 3)) > 0).astype("int32")


def _model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((12, 12, 3))
    a = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(inputs)
    b = keras.layers.DepthwiseConv2D(3, padding="same", name="depthwise")(a)
    c = keras.layers.BatchNormalization(name="bn")(keras.layers.Add()([a, b]))
    d = keras.layers.GlobalAveragePooling2D()(c)
    head = keras.Sequential([keras.Input((8,)),
                             keras.layers.Dense(16, activation="relu", name="dense"),
                             keras.layers.Dense(2, name="dense_1")], name="head")
    return keras.Model(inputs, head(d))


def _fit(model, epochs=3, batch_size=32):
    x, y = _data()
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0,
              callbacks=[sparsity.UpdatePruningStep()])


def test_wrap_fit_strip_reaches_the_target_and_saves_as_plain_keras3(tmp_path):
    model = _model()
    before = [w.copy() for w in model.get_weights()]
    steps = 3 * 8  # 3 epochs of 256 / 32
    pruned = sparsity.prune_low_magnitude(
        model, sparsity.PolynomialDecay(0.0, 0.75, begin_step=0, end_step=20, frequency=4))
    wrapped = {w.layer.name for w in sparsity.wrappers(pruned)}
    assert wrapped == {"conv", "dense", "dense_1"}  # depthwise and BN stay as they are
    _fit(pruned)
    assert steps > 20
    for name, row in sparsity.layer_sparsity(pruned).items():
        assert row["zeros"] == int(np.floor(0.75 * row["params"])), name
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # the user's model is untouched

    final = sparsity.strip_pruning(pruned)
    assert not sparsity.wrappers(final)
    assert sparsity.layer_sparsity(final) == sparsity.layer_sparsity(pruned)
    x, _ = _data(16)
    np.testing.assert_allclose(final.predict(x, verbose=0), pruned.predict(x, verbose=0),
                               atol=1e-6)
    final.save(tmp_path / "final.keras")
    assert "tfcompress" not in json.dumps(final.get_config())  # no custom objects needed
    loaded = keras.saving.load_model(tmp_path / "final.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), final.predict(x, verbose=0),
                               atol=1e-6)

    pruned.save(tmp_path / "pruned.keras")  # the wrapped model round-trips too
    again = keras.saving.load_model(tmp_path / "pruned.keras")
    assert len(sparsity.wrappers(again)) == 3
    np.testing.assert_allclose(again.predict(x, verbose=0), pruned.predict(x, verbose=0),
                               atol=1e-6)


def test_a_constant_schedule_holds_its_ratio_and_a_second_fit_continues_its_steps():
    pruned = sparsity.prune_low_magnitude(
        _model(), sparsity.ConstantSparsity(0.5, begin_step=1, frequency=1000))
    _fit(pruned, epochs=2)  # one update, at step 1 (the first, as tfmot numbers them)
    assert all(r["sparsity"] == pytest.approx(0.5, abs=0.02)
               for r in sparsity.layer_sparsity(pruned).values())
    cb = sparsity.UpdatePruningStep()
    x, y = _data()
    pruned.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[cb])
    assert cb.step == 24  # the schedule's steps continue from the first fit's 16


def test_global_scope_ranks_all_layers_together():
    pruned = sparsity.prune_low_magnitude(
        _model(), sparsity.ConstantSparsity(0.6, begin_step=1, frequency=1000), scope="global")
    _fit(pruned, epochs=1)
    rows = sparsity.layer_sparsity(pruned)
    total = sum(r["params"] for r in rows.values())
    assert sum(r["zeros"] for r in rows.values()) == int(np.floor(0.6 * total))
    assert len({round(r["sparsity"], 3) for r in rows.values()}) > 1  # ratios differ


def test_global_scope_pools_every_weight_of_a_recurrent_layer_with_the_rest():
    """A GRU's kernel and recurrent kernel join the one ranking with the Dense kernel: the
    zeros over all three are the target, one threshold for all (no weight kept below a
    pruned one anywhere)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.GRU(6, name="gru"),
                              keras.layers.Dense(4, name="head")])
    pruned = sparsity.prune_low_magnitude(
        model, sparsity.ConstantSparsity(0.6, begin_step=1, frequency=1000), scope="global")
    pruned.compile("sgd", "mse")
    rng = np.random.default_rng(0)
    pruned.fit(rng.random((8, 5, 3)), rng.random((8, 4)), batch_size=8, epochs=1, verbose=0,
               callbacks=[sparsity.UpdatePruningStep()])
    pairs = [(np.asarray(v.numpy()), np.asarray(m.numpy()))
             for w in sparsity.wrappers(pruned) for v, m in zip(w.pruned_weights, w.masks)]
    assert len(pairs) == 3
    total = sum(m.size for _, m in pairs)
    assert sum(int((m == 0).sum()) for _, m in pairs) == int(np.floor(0.6 * total))
    kept = min(np.abs(v[m == 1]).min() for v, m in pairs)
    cut = max(np.abs(v[m == 0]).max() for v, m in pairs)
    assert cut <= kept  # one threshold over the three weights (masked ones trained on)


def test_m_by_n_wrapping_leaves_the_pattern():
    pruned = sparsity.prune_low_magnitude(
        _model(), sparsity.ConstantSparsity(0.5, begin_step=1, frequency=1000),
        sparsity_m_by_n=(2, 4),
        only={"dense", "dense_1"})
    _fit(pruned, epochs=1)
    final = sparsity.strip_pruning(pruned)
    head = final.get_layer("head")
    for name in ("dense", "dense_1"):
        assert criteria.check_m_by_n(head.get_layer(name).kernel.numpy(), 2, 4), name


def test_refusals_are_one_line():
    from tfcompress._keras import keras as tf_keras

    old = tf_keras.Sequential([tf_keras.Input((4,)), tf_keras.layers.Dense(2)])
    with pytest.raises(InputError, match="Keras 2 .tf_keras.*tfmot"):
        sparsity.prune_low_magnitude(old, sparsity.ConstantSparsity(0.5))
    with pytest.raises(InputError, match="depthwise"):
        sparsity.PruneLowMagnitude(keras.layers.DepthwiseConv2D(3),
                                   sparsity.ConstantSparsity(0.5))
    with pytest.raises(InputError, match="final_sparsity=1.0"):
        sparsity.PolynomialDecay(0.0, 1.0, 0, 10)
    with pytest.raises(InputError, match="begin_step < end_step"):
        sparsity.PolynomialDecay(0.0, 0.5, 10, 10)
    with pytest.raises(InputError, match="no pruning wrapper"):
        _fit(_model(), epochs=1)


@pytest.mark.real_data
@pytest.mark.slow  # a minute each (make test runs the comprehensive guide); CI runs both
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_tfmot_guide_for_keras3_reaches_80_percent_and_3x_smaller(backend, data_dir, tmp_path):
    """The README's Keras 3 guide, as a user runs it, on 30,000 MNIST images."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TFCOMPRESS_DATA_DIR": str(data_dir),
           "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(REPO / "tests/examples/keras3_guide.py"),
                           "30000", str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=HANG)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["backend"] == backend
    zeros = sum(r["zeros"] for r in out["sparsity"].values())
    params = sum(r["params"] for r in out["sparsity"].values())
    assert zeros / params == pytest.approx(0.80, abs=0.005)
    assert out["gzip_bytes_baseline"] >= 3 * out["gzip_bytes_pruned"]
    assert out["pruned_accuracy"] > 0.9
    saved = keras.saving.load_model(tmp_path / "pruned.keras")  # from either backend
    assert sparsity.layer_sparsity(saved) == out["sparsity"]


def test_an_interrupted_keras3_pruning_fine_tune_resumes_exactly(tmp_path):
    """The epoch backup holds the wrappers' masks and the optimizer step the schedule reads:
    killed after an epoch, the Keras 3 fine-tune ends exactly as an uninterrupted one."""
    from test_train import stop_at_epoch

    from tfcompress._keras import keras as tf_keras
    from tfcompress.data import load
    from tfcompress.models import MODELS, keras3
    from tfcompress.recipe import DataSpec, TrainSpec
    from tfcompress.train import loop

    data = load(DataSpec("digits", train_limit=200, test_limit=50))
    ft = TrainSpec(epochs=3, batch_size=32)

    def pruned_model():
        tf_keras.utils.set_random_seed(0)  # the model is built by tf_keras, then converted
        base = keras3.to_keras3(MODELS.get("digits_cnn")(data.input_shape, 10, filters=[4, 8],
                                                         dense_units=16))
        return sparsity.prune_low_magnitude(
            base, sparsity.PolynomialDecay(0.0, 0.75, begin_step=0, end_step=14, frequency=2))

    with pytest.raises(KeyboardInterrupt):
        loop.fit(pruned_model(), data, ft, work_dir=tmp_path / "a",
                 callbacks=[sparsity.UpdatePruningStep(), stop_at_epoch(keras, 1)])
    resumed, seen = pruned_model(), stop_at_epoch(keras)
    history = loop.fit(resumed, data, ft, work_dir=tmp_path / "a",
                       callbacks=[sparsity.UpdatePruningStep(), seen])
    assert seen.begun == [1, 2] and len(history["loss"]) == 3
    straight = pruned_model()
    assert loop.fit(straight, data, ft, work_dir=tmp_path / "b",
                    callbacks=[sparsity.UpdatePruningStep()]) == history
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert all(r["sparsity"] == pytest.approx(0.75, abs=0.01)
               for r in sparsity.layer_sparsity(resumed).values())


@keras.saving.register_keras_serializable(package="tests")
class Affine(keras.layers.Layer, sparsity.PrunableLayer):
    """A layer of a user's own: prunable through ``get_prunable_weights``, its bias left."""

    def __init__(self, units, both=False, **kwargs):
        super().__init__(**kwargs)
        self.units, self.both = units, both

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")
        self.b = self.add_weight(shape=(self.units,), initializer="ones", name="b")

    def call(self, x):
        return keras.ops.matmul(x, self.w) + self.b

    def get_prunable_weights(self):
        return [self.w, self.b] if self.both else [self.w]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "both": self.both}


def _at_half(model, x, y, tmp_path):
    """``model`` wrapped at a constant 50%, fit two steps, stripped and saved and loaded."""
    keras.utils.set_random_seed(0)
    pruned = sparsity.prune_low_magnitude(model, sparsity.ConstantSparsity(0.5, 0, frequency=1))
    pruned.compile("adam", "mse")
    pruned.fit(x, y, batch_size=len(x) // 2, epochs=1, verbose=0,
               callbacks=[sparsity.UpdatePruningStep()])
    final = sparsity.strip_pruning(pruned)
    np.testing.assert_allclose(final.predict(x, verbose=0), pruned.predict(x, verbose=0),
                               atol=1e-5)  # the wrapped model computes with the masked weight
    final.save(tmp_path / "final.keras")
    return pruned, keras.saving.load_model(tmp_path / "final.keras")


def test_embedding_separable_and_transposed_layers_are_pruned_as_tfmot_prunes_them(tmp_path):
    """tfmot's registry: an Embedding's embeddings, a SeparableConv's pointwise kernel (its
    depthwise kernel stays dense), a ConvTranspose's kernel."""
    L = keras.layers
    rng = np.random.default_rng(0)
    tokens = keras.Sequential([keras.Input((6,), dtype="int32"),
                               L.Embedding(40, 8, name="embedding"),
                               L.SeparableConv1D(8, 3, name="separable1d"),
                               L.Conv1DTranspose(4, 3, name="transpose1d"),
                               L.GlobalAveragePooling1D(), L.Dense(3, name="head")])
    images = keras.Sequential([keras.Input((8, 8, 2)), L.SeparableConv2D(4, 3, name="sep2d"),
                               L.Conv2DTranspose(3, 3, name="transpose2d"),
                               L.GlobalAveragePooling2D(), L.Dense(2, name="head")])
    for model, x in ((tokens, rng.integers(0, 40, (32, 6)).astype("int32")),
                     (images, rng.random((32, 8, 8, 2)).astype("float32"))):
        y = rng.random((32, model.layers[-1].units)).astype("float32")
        depthwise = {l.name: np.array(l.depthwise_kernel) for l in model.layers
                     if isinstance(l, (L.SeparableConv1D, L.SeparableConv2D))}
        pruned, final = _at_half(model, x, y, tmp_path)
        wrapped = {w.layer.name for w in sparsity.wrappers(pruned)}
        assert wrapped == {l.name for l in model.layers if l.weights}, wrapped
        rows = sparsity.layer_sparsity(final)
        assert set(rows) == wrapped
        for name, row in rows.items():
            assert row["zeros"] == row["params"] // 2, (name, row)
        for name, kernel in depthwise.items():  # trained, never masked
            assert np.count_nonzero(np.array(final.get_layer(name).depthwise_kernel)) \
                == kernel.size, name
    pointwise = final.get_layer("sep2d").pointwise_kernel
    assert rows["sep2d"]["params"] == int(np.prod(pointwise.shape))


def test_a_prunable_layer_of_your_own_is_pruned_through_get_prunable_weights(tmp_path):
    rng = np.random.default_rng(1)
    x, y = rng.random((32, 10)).astype("float32"), rng.random((32, 4)).astype("float32")
    model = keras.Sequential([keras.Input((10,)), Affine(4, name="affine")])
    assert sparsity.is_prunable(model.get_layer("affine"))
    pruned, final = _at_half(model, x, y, tmp_path)
    assert [w.layer.name for w in sparsity.wrappers(pruned)] == ["affine"]
    layer = final.get_layer("affine")
    assert np.count_nonzero(np.array(layer.w)) == 20  # half of 10 x 4
    assert np.count_nonzero(np.array(layer.b)) == 4  # the bias is not pruned

    # tfmot's guide returns kernel and bias: each is pruned to the target on its own
    two = keras.Sequential([keras.Input((10,)), Affine(4, both=True, name="both")])
    (tmp_path / "two").mkdir()
    pruned, final = _at_half(two, x, y, tmp_path / "two")
    assert len(sparsity.wrappers(pruned)[0].masks) == 2
    layer = final.get_layer("both")
    assert np.count_nonzero(np.array(layer.w)) == 20 and np.count_nonzero(np.array(layer.b)) == 2
    assert sparsity.layer_sparsity(final)["both"] == {"params": 44, "zeros": 22, "sparsity": 0.5}


def test_layers_left_dense_are_named_and_m_by_n_is_refused_where_it_has_no_channels(caplog):
    L = keras.layers
    model = keras.Sequential([keras.Input((5, 3)), L.Bidirectional(L.LSTM(4), name="bilstm"),
                              L.Dense(2, name="head")])
    with caplog.at_level("WARNING", logger="tfcompress"):
        pruned = sparsity.prune_low_magnitude(model, sparsity.ConstantSparsity(0.5, 0))
    assert [w.layer.name for w in sparsity.wrappers(pruned)] == ["head"]
    assert "layer 'bilstm' (Bidirectional) is left dense" in caplog.text  # tfmot: unsupported
    with pytest.raises(InputError, match="'emb' .Embedding.: sparsity_m_by_n prunes Dense"):
        sparsity.PruneLowMagnitude(L.Embedding(10, 4, name="emb"),
                                   sparsity.ConstantSparsity(0.5, 0), sparsity_m_by_n=(2, 4))
    # a whole model at 2:4: the layers the pattern has no place in stay dense, named
    tokens = keras.Sequential([keras.Input((6,), dtype="int32"), L.Embedding(10, 8, name="emb"),
                               L.Flatten(), L.Dense(4, name="out")])
    caplog.clear()
    with caplog.at_level("WARNING", logger="tfcompress"):
        pruned = sparsity.prune_low_magnitude(tokens, sparsity.ConstantSparsity(0.5, 0),
                                              sparsity_m_by_n=(2, 4))
    assert [w.layer.name for w in sparsity.wrappers(pruned)] == ["out"]
    assert caplog.text.count("is left dense") == 1 and "'emb' (Embedding)" in caplog.text


def test_block_masks_are_tfmots_and_a_dense_layer_loses_whole_blocks(tmp_path):
    """``block_size``: the mask equals tfmot's own (``pruning_impl.Pruning``, the same
    weights) on odd shapes, both poolings; wrapped, trained and stripped, a Dense kernel
    holds whole zero blocks at the target, and the wrapper saves with its block."""
    import tensorflow as tf
    from tensorflow_model_optimization.python.core.sparsity.keras import (pruning_impl,
                                                                          pruning_schedule)

    from tfcompress.sparsity.callback import block_mask

    rng = np.random.default_rng(0)
    compared = 0
    for shape, block in (((7, 5), (2, 2)), ((5, 7), (4, 2)), ((6, 10), (3, 4)),
                         ((9, 4), (4, 1))):
        for pooling in ("AVG", "MAX"):
            for target in (0.3, 0.8):
                w = tf.constant(rng.standard_normal(shape).astype("float32"))
                tfmot_mask = pruning_impl.Pruning(
                    pruning_vars=[(w, tf.Variable(tf.ones_like(w)), tf.Variable(0.0))],
                    training_step_fn=lambda: tf.constant(0, tf.int64),
                    pruning_schedule=pruning_schedule.ConstantSparsity(target, 0),
                    block_size=block, block_pooling_type=pooling,
                )._maybe_update_block_mask(w)[1]
                np.testing.assert_array_equal(
                    block_mask(np.abs(w.numpy()), target, block, pooling),
                    tfmot_mask.numpy(), err_msg=f"{shape} {block} {pooling} {target}")
                compared += 1
    assert compared == 16

    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(8, name="dense")])
    x, y = rng.random((64, 12)).astype("float32"), rng.random((64, 8)).astype("float32")
    pruned = sparsity.prune_low_magnitude(model, sparsity.ConstantSparsity(0.5, 0, frequency=1),
                                          block_size=(2, 4), block_pooling_type="MAX")
    pruned.compile("adam", "mse")
    pruned.fit(x, y, batch_size=32, epochs=1, verbose=0,
               callbacks=[sparsity.UpdatePruningStep()])
    kernel = np.array(sparsity.strip_pruning(pruned).get_layer("dense").kernel)
    blocks = np.count_nonzero(kernel.reshape(6, 2, 2, 4), axis=(1, 3))  # 12 blocks of 2x4
    assert sorted(set(blocks.ravel())) == [0, 8] and np.sum(blocks == 0) == 6
    pruned.save(tmp_path / "blocks.keras")
    again = sparsity.wrappers(keras.saving.load_model(tmp_path / "blocks.keras"))[0]
    assert (tuple(again.block_size), again.block_pooling_type) == ((2, 4), "MAX")
    with pytest.raises(InputError, match="block_size=.2, 2. ranks one layer's blocks"):
        sparsity.prune_low_magnitude(model, block_size=(2, 2), scope="global")
    with pytest.raises(InputError, match="block_size=.0, 2.: must be two positive integers"):
        sparsity.prune_low_magnitude(model, block_size=(0, 2))


def test_tfmots_comprehensive_guide_for_keras3_runs_end_to_end(tmp_path):
    """tests/examples/keras3_comprehensive_guide.py, as a user runs it: every section of
    tfmot's guide (whole model, clone_model, a custom layer, fit with TensorBoard summaries, a
    GradientTape loop, checkpoint and weights-only resume, strip, LiteRT, 1x16 blocks)."""
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(REPO / "tests/examples/"
                                               "keras3_comprehensive_guide.py"),
                           "1600", str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=HANG)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(out["whole_model"]) == 1
    assert out["clone_model"] == ["PruneLowMagnitude", "Flatten"]
    for section in ("custom_layer", "fit", "custom_loop", "loaded", "stripped"):
        (row,) = out[section].values()  # the default schedule's update at step 100
        expected = (420, 210) if section == "custom_layer" else (400, 200)  # + the bias
        assert (row["params"], row["zeros"]) == expected, (section, row)
    for logs in ("fit_logs", "custom_loop_logs"):
        assert "metrics" in out[logs]  # the per-layer sparsity summaries
    assert list((tmp_path / "logs_fit" / "metrics").glob("events.out.tfevents*"))
    assert out["resumed_step"] == 100  # the step came back with the weights
    assert out["gzip_bytes_stripped"] < out["gzip_bytes_dense"] < out["gzip_bytes_unstripped"]
    assert (tmp_path / "pruned.tflite").stat().st_size > 0 and out["tflite_gzip_bytes"] > 0
    assert set(out["block_1x16_nonzeros"]) <= {0, 4, 16}  # whole blocks (20 = 16 + a 4)
    assert 0 in out["block_1x16_nonzeros"]


def test_a_model_fed_by_input_name_takes_the_same_dict_pruned_and_stripped():
    """``keras.models.clone_model`` names a clone's inputs after its tensors (``keras_tensor``);
    the pruned and the stripped model keep the model's input names (``input_layer``, as its
    config and summary show them), so a dict keyed by them feeds them."""
    L = keras.layers
    image, extra = keras.Input((4,)), keras.Input((2,))  # auto-named: input_layer*, as users do
    model = keras.Model([image, extra], L.Dense(3)(L.Concatenate()([L.Dense(5)(image), extra])))
    names = [t._keras_history.operation.name for t in (image, extra)]
    x = {names[0]: np.ones((2, 4), "float32"), names[1]: np.ones((2, 2), "float32")}
    expected = model.predict([x[n] for n in names], verbose=0)
    pruned = sparsity.prune_low_magnitude(model, sparsity.ConstantSparsity(0.5, 0))
    stripped = sparsity.strip_pruning(pruned)
    for m in (pruned, stripped):
        assert [t._keras_history.operation.name for t in m.inputs] == names
        assert m.get_config()["input_layers"] == model.get_config()["input_layers"]
        # not trained: the same weights, nothing masked yet
        np.testing.assert_allclose(m.predict(x, verbose=0), expected, atol=1e-6)
