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
@pytest.mark.parametrize("backend", [
    "tensorflow", pytest.param("jax", marks=pytest.mark.slow)])  # a minute each; CI runs both
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
