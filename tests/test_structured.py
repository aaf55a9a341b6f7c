"""Structured pruning: channel dependencies and physically smaller models."""

import numpy as np
import pytest

from tfcompress import flavor
from tfcompress._keras import keras
from tfcompress.models import MODELS, keras3
from tfcompress.structured import criteria, graph, rebuild, zoo

L = keras.layers
#: each model as built (tf_keras) and as its exact Keras 3 twin: one analysis serves both
KERAS = pytest.mark.parametrize("to", [lambda m: m, keras3.to_keras3], ids=["keras2", "keras3"])


def _drop_quarter(a, seed=0):
    rng = np.random.default_rng(seed)
    drop, keep = {}, {}
    for g, grp in a.prunable().items():
        d = np.sort(rng.choice(grp.size, max(1, grp.size // 4), replace=False))
        drop[g], keep[g] = d, np.setdiff1d(np.arange(grp.size), d)
    return drop, keep


def _mobilenet():
    keras.utils.set_random_seed(0)
    return keras.applications.MobileNet(input_shape=(64, 64, 3), alpha=0.25, weights=None,
                                        classes=10)


def _sequential():
    return keras.Sequential([keras.Input((12, 12, 3)), L.Conv2D(8, 3), L.BatchNormalization(),
                             L.ReLU(), L.Conv2D(6, 3), L.Flatten(), L.Dense(16), L.Dense(4)])


@KERAS
@pytest.mark.parametrize("make, shape", [
    (_sequential, (12, 12, 3)),
    (lambda: MODELS.get("mnist_cnn")((28, 28, 1), 10), (28, 28, 1)),
    (lambda: MODELS.get("resnet20")((32, 32, 3), 10), (32, 32, 3)),
    (lambda: MODELS.get("resnet", )((16, 16, 3), 10, depth=8, preact=True), (16, 16, 3)),
    (_mobilenet, (64, 64, 3)),
], ids=["sequential", "mnist_cnn", "resnet20", "preact_resnet8", "mobilenet"])
def test_removing_zeroed_channels_leaves_the_outputs_unchanged(make, shape, to):
    keras.utils.set_random_seed(0)
    built = make()
    zoo.randomize(built)  # batch norm statistics away from the identity: zeroing is a real test
    model = to(built)
    a = graph.analyse(model)
    assert a.prunable()
    drop, keep = _drop_quarter(a)
    rebuild.zero_channels(model, a, drop)
    x = np.random.default_rng(1).uniform(0, 1, (4, *shape)).astype("float32")
    before = _logits(model, x)
    small = rebuild.rebuild(model, a, keep)
    assert type(small) is type(model)  # same Keras, same class (Sequential stays Sequential)
    assert small.count_params() < 0.8 * model.count_params()
    np.testing.assert_allclose(_logits(small, x), before, rtol=1e-4, atol=1e-4)
    # the check is not vacuous: pruning channels that were NOT zeroed changes the outputs
    other = {g: np.setdiff1d(np.arange(a.groups[g].size), k[:1]) for g, k in keep.items()}
    changed = _logits(rebuild.rebuild(model, a, other), x)
    assert not np.allclose(changed, before, rtol=1e-4, atol=1e-4)


def _logits(model, x):
    """The scores before the final softmax (probabilities saturate and hide differences)."""
    last = model.layers[-1]
    if type(last).__name__ == "Dense" and last.get_config()["activation"] == "linear":
        return model.predict(x, verbose=0)
    k = flavor.module(model)
    return k.Model(model.inputs, model.layers[-2].output).predict(x, verbose=0)


@KERAS
def test_residual_streams_are_one_group_and_the_shapes_line_up(to):
    model = to(MODELS.get("resnet20")((32, 32, 3), 10))
    a = graph.analyse(model)
    tied = [g for g in a.groups.values() if g.tied]
    assert len(tied) == 3  # one residual stream per stage (option-B projections included)
    assert sorted(g.size for g in tied) == [16, 32, 64]
    stage2 = next(g for g in tied if g.size == 32)
    assert len(stage2.producers) == 4  # three blocks' second convs + the projection
    assert all(not g.frozen for g in tied)
    logits_group = a.group_of("logits")
    assert "model output" in a.groups[logits_group].frozen
    assert a.unsupported == []


def test_concatenate_and_flatten_map_channels_to_the_right_rows():
    keras.utils.set_random_seed(0)
    inp = keras.Input((6, 6, 2))
    a1 = L.Conv2D(4, 3, padding="same", name="a")(inp)
    b1 = L.Conv2D(3, 3, padding="same", name="b")(inp)
    x = L.Concatenate(name="cat")([a1, b1])
    x = L.ReLU()(x)
    x = L.Conv2D(5, 1, name="mix")(x)
    x = L.Flatten()(x)
    model = keras.Model(inp, L.Dense(2, name="out")(L.Dense(8, name="fc")(x)))
    an = graph.analyse(model)
    ga, gb, gm = an.group_of("a"), an.group_of("b"), an.group_of("mix")
    drop = {ga: np.array([1, 3]), gb: np.array([0]), gm: np.array([2, 4])}
    keep = {g: np.setdiff1d(np.arange(an.groups[g].size), d) for g, d in drop.items()}
    rebuild.zero_channels(model, an, drop)
    x = np.random.default_rng(0).normal(size=(3, 6, 6, 2)).astype("float32")
    small = rebuild.rebuild(model, an, keep)
    assert small.get_layer("mix").kernel.shape == (1, 1, 4, 3)
    assert small.get_layer("fc").kernel.shape == (6 * 6 * 3, 8)
    np.testing.assert_allclose(small.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-5)


def test_unsupported_layers_are_reported_and_their_channels_left_whole():
    inp = keras.Input((8, 8, 3))
    x = L.Conv2D(4, 3, name="c1")(inp)
    x = L.Reshape((36, 4), name="reshape")(x)
    x = L.Flatten()(x)
    model = keras.Model(inp, L.Dense(2, name="out")(L.Dense(8, name="fc")(x)))
    a = graph.analyse(model)
    assert a.unsupported == [{"name": "reshape", "type": "Reshape",
                              "why": "reshape that moves channels"}]
    assert a.groups[a.group_of("c1")].frozen
    assert not a.groups[a.group_of("fc")].frozen  # the rest can still be pruned


def test_l1_criterion_keeps_the_strongest_filters_and_global_scope_differs():
    model = MODELS.get("mnist_cnn")((28, 28, 1), 10)
    a = graph.analyse(model)
    chosen = list(a.prunable())
    s = criteria.scores(model, a, "l1", chosen)
    keep = criteria.select(s, 0.5, "layer")
    for g, k in keep.items():
        assert len(k) == a.groups[g].size - a.groups[g].size // 2
        assert s[g][k].min() >= np.delete(s[g], k).max()
    # one group made uneven whatever the initial weights: a quarter of its channels score
    # 100 times the rest, so relative to its mean the rest sit far below every other group's
    first = s[chosen[0]]
    first[:] = np.where(np.arange(first.size) < first.size // 4, 100.0, 1.0)
    glob = criteria.select(s, 0.5, "global")
    total = sum(len(k) for k in glob.values())
    assert abs(total - sum(a.groups[g].size for g in chosen) / 2) <= len(chosen)
    assert len(glob[chosen[0]]) < len(keep[chosen[0]])  # global takes more from the uneven group
    assert set(glob[chosen[0]]) >= set(range(first.size // 4))  # and keeps its strong quarter


def test_external_resnet20_is_analysed_and_shrinks_without_change(data_dir):
    from tfcompress.models import user_file

    model = user_file.load(data_dir / "resnet20_cifar10_external.h5")
    a = graph.analyse(model)
    assert len(a.prunable()) >= 10 and a.unsupported == []
    drop, keep = _drop_quarter(a, seed=3)
    rebuild.zero_channels(model, a, drop)
    x = np.random.default_rng(0).normal(size=(4, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(rebuild.rebuild(model, a, keep).predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-4, atol=1e-5)


def test_filter_pruning_and_slimming_from_a_recipe_make_smaller_faster_models(tmp_path):
    import json

    from tfcompress.pipeline import Pipeline
    from tfcompress.recipe import (BenchmarkSpec, DataSpec, ExportSpec, ModelSpec, PruneSpec,
                                   Recipe, TrainSpec, Variant)

    recipe = Recipe(
        name="structured_test", description="filter pruning and slimming (tiny)",
        data=DataSpec("digits", train_limit=300, test_limit=100),
        model=ModelSpec("resnet", {"depth": 8, "widths": [8, 16, 32]}),
        train=TrainSpec(epochs=1, batch_size=32), finetune=TrainSpec(epochs=1, batch_size=32),
        variants=(
            Variant("float32", ExportSpec("float32")),
            Variant("filters50", ExportSpec("float32"), PruneSpec(0.5, method="filters")),
            Variant("filters50_int8", ExportSpec("int8", calibration_samples=16),
                    PruneSpec(0.5, method="filters")),
            Variant("slimming50", ExportSpec("float32"),
                    PruneSpec(0.5, method="slimming", scope="global", skip=["residual"])),
        ),
        benchmark=BenchmarkSpec(threads=(1,), warmup_runs=1, min_runs=3, min_seconds=0.0,
                                throughput_batch=2))
    result = Pipeline(recipe, profile="tiny", output_dir=tmp_path).run()
    rows = {r["variant"]: r for r in result.rows}
    variants = {v["variant"]: v for v in
                json.loads((result.run_dir / "results.json").read_text())["variants"]}
    base = rows["float32"]
    for name in ("filters50", "slimming50"):
        assert rows[name]["params"] < 0.7 * base["params"], name
        assert rows[name]["macs"] < 0.7 * base["macs"], name
        assert rows[name]["tflite_bytes"] < 0.7 * base["tflite_bytes"], name
    channels = variants["filters50"]["source"]["channels"]
    assert all(after == before - before // 2 for before, after in channels.values())
    assert any("/" in k for k in channels)  # residual streams (several producers) pruned
    slim = variants["slimming50"]["source"]["channels"]
    assert slim and not any("/" in k for k in slim)  # skip=["residual"] kept them whole
    assert rows["filters50_int8"]["fully_quantized"]


# --- layer patterns of the keras.applications zoo and of users' models (issue 18) ---------

def _head(k, x, n=3):
    return k.layers.Dense(n, name="out")(k.layers.GlobalAveragePooling2D()(x))


def _transpose(k):  # equal widths: a kernel sliced on the wrong axes would still "fit"
    inp = k.Input((8, 8, 3))
    x = k.layers.ReLU()(k.layers.Conv2D(6, 3, padding="same", name="c1")(inp))
    x = k.layers.ReLU()(k.layers.Conv2DTranspose(6, 3, strides=2, padding="same", name="t")(x))
    return k.Model(inp, _head(k, k.layers.Conv2D(4, 1, name="c2")(x)))


def _conv1d(k):
    inp = k.Input((20, 3))
    x = k.layers.ReLU()(k.layers.BatchNormalization()(k.layers.Conv1D(8, 3, name="c1")(inp)))
    x = k.layers.GlobalAveragePooling1D()(k.layers.Conv1D(6, 3, name="c2")(x))
    return k.Model(inp, k.layers.Dense(3, name="out")(x))


def _separable(k):
    inp = k.Input((12, 12, 3))
    x = k.layers.Conv2D(8, 3, padding="same", name="c1")(inp)
    x = k.layers.ReLU()(k.layers.BatchNormalization()(x))
    x = k.layers.SeparableConv2D(10, 3, depth_multiplier=2, padding="same", name="sep")(x)
    return k.Model(inp, _head(k, k.layers.ReLU()(k.layers.BatchNormalization()(x))))


def _grouped(k):
    inp = k.Input((8, 8, 3))
    x = k.layers.ReLU()(k.layers.Conv2D(8, 1, name="c1")(inp))
    x = k.layers.Conv2D(12, 3, groups=4, padding="same", name="g")(x)
    x = k.layers.ReLU()(k.layers.BatchNormalization()(x))
    return k.Model(inp, _head(k, k.layers.Conv2D(6, 1, name="c2")(x)))


def _squeeze_excite(k):  # EfficientNet's block: GAP -> Reshape -> 1x1 convs -> Multiply
    inp = k.Input((8, 8, 3))
    x = k.layers.Conv2D(8, 3, padding="same", name="c1")(inp)
    x = k.layers.Activation("swish")(k.layers.BatchNormalization()(x))
    se = k.layers.Reshape((1, 1, 8))(k.layers.GlobalAveragePooling2D()(x))
    se = k.layers.Conv2D(4, 1, activation="swish", name="se_reduce")(se)
    se = k.layers.Conv2D(8, 1, activation="sigmoid", name="se_expand")(se)
    x = k.layers.Multiply()([x, se])
    return k.Model(inp, _head(k, k.layers.Conv2D(6, 1, name="proj")(x)))


def _sigmoid_dense(k):  # a removed unit carries sigmoid(0) = 0.5: the next bias absorbs it
    inp = k.Input((10,))
    x = k.layers.Dense(8, activation="sigmoid", name="h")(inp)
    return k.Model(inp, k.layers.Dense(3, name="out")(k.layers.Dense(6, name="h2")(x)))


def _sigmoid_conv(k):  # ... which a same-padded 3x3 convolution cannot: frozen
    inp = k.Input((8, 8, 3))
    x = k.layers.Conv2D(8, 3, padding="same", activation="sigmoid", name="c1")(inp)
    x = k.layers.ReLU()(k.layers.Conv2D(6, 3, padding="same", name="c2")(x))
    return k.Model(inp, _head(k, k.layers.Conv2D(4, 1, name="c3")(x)))


def _softmax_channels(k):
    inp = k.Input((8, 8, 3))
    x = k.layers.Activation("softmax")(k.layers.Conv2D(8, 1, name="c1")(inp))
    x = k.layers.ReLU()(k.layers.Conv2D(6, 1, name="c2")(x))
    return k.Model(inp, _head(k, k.layers.Conv2D(4, 1, name="c3")(x)))


def _layer_norm(k):
    inp = k.Input((8, 8, 3))
    x = k.layers.LayerNormalization()(k.layers.Conv2D(8, 1, name="c1")(inp))
    x = k.layers.ReLU()(k.layers.Conv2D(6, 1, name="c2")(x))
    return k.Model(inp, _head(k, k.layers.Conv2D(4, 1, name="c3")(x)))


def _shared(k):
    inp = k.Input((8, 8, 3))
    x = k.layers.ReLU()(k.layers.Conv2D(8, 3, padding="same", name="c1")(inp))
    twice = k.layers.Conv2D(8, 3, padding="same", name="shared")
    x = twice(k.layers.ReLU()(twice(x)))
    x = k.layers.ReLU()(k.layers.Conv2D(6, 1, name="c2")(x))
    return k.Model(inp, _head(k, k.layers.Conv2D(4, 1, name="c3")(x)))


def _nested(k):  # a transfer model: a backbone called with training=False, a new head
    b_in = k.Input((16, 16, 3))
    y = k.layers.ReLU()(k.layers.BatchNormalization()(k.layers.Conv2D(8, 3, name="b1")(b_in)))
    y = k.layers.ReLU()(k.layers.BatchNormalization()(k.layers.Conv2D(12, 3, name="b2")(y)))
    backbone = k.Model(b_in, y, name="backbone")
    inp = k.Input((16, 16, 3))
    x = k.layers.GlobalAveragePooling2D()(backbone(inp, training=False))
    x = k.layers.Dense(16, activation="relu", name="fc")(x)
    return k.Model(inp, k.layers.Dense(3, name="out")(x))


def _ops(k):  # MobileNetV3's hard-swish, written with operations on tensors
    inp = k.Input((8, 8, 3))
    x = k.layers.Conv2D(8, 1, name="c1")(inp)
    x = k.layers.Multiply()([x, k.layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)])
    x = k.layers.Conv2D(6, 1, name="c2")(x)
    if k is keras:
        from tfcompress._keras import tf

        softmax, roll = tf.nn.softmax, lambda t: tf.roll(t, shift=1, axis=-1)
    else:
        softmax, roll = k.ops.softmax, lambda t: k.ops.roll(t, shift=1, axis=-1)
    x = k.layers.Conv2D(4, 1, name="c3")(softmax(x))  # couples c2's channels
    x = k.layers.Conv2D(5, 1, name="c4")(roll(x))  # moves c3's channels: not element-wise
    return k.Model(inp, _head(k, x))


#: pattern -> (builder, producers whose channels must be prunable, ... that must be frozen)
PATTERNS = {
    "transpose": (_transpose, {"c1", "t"}, set()),
    "conv1d": (_conv1d, {"c1", "c2"}, set()),
    "separable": (_separable, {"c1", "sep"}, set()),
    "grouped": (_grouped, {"g"}, {"c1"}),
    "squeeze_excite": (_squeeze_excite, {"c1", "se_expand", "se_reduce", "proj"}, set()),
    "sigmoid_dense": (_sigmoid_dense, {"h", "h2"}, set()),
    "sigmoid_conv": (_sigmoid_conv, {"c2", "c3"}, {"c1"}),
    "softmax_channels": (_softmax_channels, {"c2", "c3"}, {"c1"}),
    "layer_norm": (_layer_norm, {"c2", "c3"}, {"c1"}),
    "shared": (_shared, {"c2", "c3"}, {"c1", "shared"}),
    "nested": (_nested, {"b1", "b2", "fc"}, set()),
    "ops": (_ops, {"c1", "c4"}, {"c2", "c3"}),
}


def _keras3():
    from tfcompress._keras3 import keras as k3

    return k3


@pytest.mark.parametrize("k", [lambda: keras, _keras3], ids=["keras2", "keras3"])
@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_layer_patterns_are_pruned_exactly_or_frozen_and_named(pattern, k):
    from tfcompress.structured.flatten import flatten

    make, prunable, frozen = PATTERNS[pattern]
    k = k()
    k.utils.set_random_seed(0)
    model = flatten(make(k))
    zoo.randomize(model)  # batch norms inside the nested backbone too
    assert flavor.module(model) is k
    a = graph.analyse(model)
    state = {p: not a.groups[a.group_of(p)].frozen
             for g in a.groups.values() for p in g.producers}
    assert {p for p in prunable if state[p]} == prunable, a.unsupported
    assert not any(state.get(p) for p in frozen), a.unsupported
    for name in frozen - {"shared"}:  # every frozen group says why, naming a layer
        assert a.groups[a.group_of(name)].frozen
    if pattern == "shared":
        assert [u["name"] for u in a.unsupported] == ["shared"]
    if pattern in ("softmax_channels", "layer_norm", "shared", "sigmoid_conv", "ops"):
        assert a.unsupported or any("bias cannot take" in w for g in a.groups.values()
                                    for w in g.frozen)
    chosen = list(a.prunable())
    rng = np.random.default_rng(2)
    scored = {g: rng.uniform(size=a.groups[g].size) for g in chosen}
    keep = criteria.select(scored, 0.4, split={g: a.groups[g].split for g in chosen})
    drop = {g: np.setdiff1d(np.arange(a.groups[g].size), k) for g, k in keep.items()}
    rebuild.zero_channels(model, a, drop)
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    x = rng.normal(0, 2, (4, *shape)).astype("float32")
    before = model.predict(x, verbose=0)
    small = rebuild.rebuild(model, a, keep)
    assert small.count_params() < model.count_params()
    np.testing.assert_allclose(small.predict(x, verbose=0), before, rtol=1e-4, atol=1e-5)
    other = {g: np.setdiff1d(np.arange(a.groups[g].size), kept[:1])
             for g, kept in keep.items() if a.groups[g].split == 1}
    changed = rebuild.rebuild(model, a, other).predict(x, verbose=0)
    assert not np.allclose(changed, before, rtol=1e-4, atol=1e-5)  # the check can fail


def test_a_grouped_convolution_keeps_as_many_channels_in_each_group():
    a = graph.analyse(_grouped(keras))
    g = a.group_of("g")
    assert a.groups[g].split == 4
    scores = {g: np.r_[np.full(3, 9.0), np.zeros(9)]}  # the best three all in group 0
    kept = criteria.select(scores, 0.5, split={g: 4})[g]
    assert [int(np.sum((kept >= 3 * i) & (kept < 3 * i + 3))) for i in range(4)] == [2] * 4
    rebuild.check_keep(a, {g: kept})  # buildable
    # without split= the best three (all in the first convolution group) would be kept:
    # rebuild refuses that in one line instead of Keras' "filters must be divisible by groups"
    from tfcompress.errors import InputError

    unsplit = criteria.select(scores, 0.5)[g]
    with pytest.raises(InputError, match=r"grouped convolution of 4 groups.*kept \[3, 3, 0, 0\]"):
        rebuild.rebuild(_grouped(keras), a, {g: unsplit})
    for bad, why in (([], "keeps no channel"), ([0, 0, 1], "distinct"), ([0, 12], r"\[0, 12\)")):
        with pytest.raises(InputError, match=why):
            rebuild.check_keep(a, {g: np.array(bad, int)})


def test_global_selection_with_tied_scores_removes_exactly_the_ratio():
    """Untrained batch norms: every gamma is 1. Before, ``> threshold`` removed all but 14 of
    MobileNet's 5,984 channels."""
    model = _mobilenet()
    a = graph.analyse(model)
    chosen = list(a.prunable())
    scored = criteria.scores(model, a, "bn_gamma", chosen)
    assert all(np.ptp(s) == 0 for s in scored.values())  # every gamma of a group alike
    total = sum(a.groups[g].size for g in chosen)
    for scope in ("global", "layer"):
        keep = criteria.select(scored, 0.4, scope)
        kept = sum(len(k) for k in keep.values())
        assert total - kept == pytest.approx(0.4 * total, abs=len(chosen)), scope
        for g, k in keep.items():  # ties shared out: every group loses about 40%
            assert abs(len(k) - 0.6 * a.groups[g].size) <= 2, (scope, g)


def test_macs_count_every_kind_of_convolution():
    from tfcompress.benchmark import macs

    inp = keras.Input((4, 4, 5))
    t = keras.Model(inp, L.Conv2DTranspose(6, 3, strides=2, padding="same")(inp))
    assert macs.count(t)["macs"] == 3 * 3 * 6 * 5 * 16  # kernel x input positions
    inp = keras.Input((20, 3))
    assert macs.count(keras.Model(inp, L.Conv1D(8, 3)(inp)))["macs"] == 3 * 3 * 8 * 18
    inp = keras.Input((12, 12, 8))
    sep = keras.Model(inp, L.SeparableConv2D(10, 3, depth_multiplier=2, padding="same")(inp))
    assert macs.count(sep)["macs"] == (3 * 3 * 8 * 2 + 16 * 10) * 144
    inp = keras.Input((8, 8, 8))
    grouped = keras.Model(inp, L.Conv2D(12, 3, groups=4, padding="same")(inp))
    assert macs.count(grouped)["macs"] == 3 * 3 * 2 * 12 * 64
    # TensorFlow's profiler counts the same (not grouped convolutions: they run as a nested
    # function the profiler does not enter)
    for model in (t, sep):
        assert macs.profiler_macs(model) == macs.count(model)["macs"]
    inp = keras.Input((5, 8))
    attention = keras.Model(inp, L.MultiHeadAttention(2, 4, name="mha")(inp, inp))
    assert macs.count(attention)["uncounted"] == ["mha (MultiHeadAttention)"]


@pytest.mark.parametrize("k", [lambda: keras, _keras3], ids=["keras2", "keras3"])
def test_batch_norm_statistics_are_measured_again_in_graph_order(k):
    """After the rebuild each batch norm gets its input's mean and variance on training inputs,
    those before it already recalibrated: in inference mode every channel then comes out with
    mean beta and standard deviation gamma on those inputs."""
    from tfcompress.structured import batchnorm

    k = k()
    k.utils.set_random_seed(0)
    inp = k.Input((8, 8, 3))
    x = k.layers.BatchNormalization(name="bn1")(k.layers.Conv2D(6, 3, name="c1")(inp))
    x = k.layers.BatchNormalization(name="bn2")(k.layers.Conv2D(5, 3, name="c2")(
        k.layers.ReLU()(x)))
    model = k.Model(inp, x)
    zoo.randomize(model)  # statistics that fit nothing
    xs = np.random.default_rng(0).normal(3, 2, (64, 8, 8, 3)).astype("float32")
    assert batchnorm.recalibrate(model, xs) == 2
    out = model.predict(xs, verbose=0).reshape(-1, 5)
    gamma, beta = model.get_layer("bn2").get_weights()[:2]
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-3)
    np.testing.assert_allclose(out.std(axis=0), np.abs(gamma), rtol=1e-2)


def test_a_criterion_of_ones_own_is_registered_once_and_named_by_a_recipe():
    """Torch-Pruning's Importance: a user's criterion ranks channels like the built-in ones,
    a recipe names it, and a second registration under the same name is refused."""
    import tfcompress
    from tfcompress.prune import STRUCTURED_CRITERIA
    from tfcompress.structured import criteria

    class Reverse(criteria.Importance):  # the opposite of l1: keeps the weakest filters
        def __call__(self, model, a, groups, data, seed):
            return {g: -s for g, s in criteria.L1_NORM(model, a, groups, data, seed).items()}

    name = "reverse_l1_for_test"
    tfcompress.register_criterion(name, Reverse())
    try:
        _check_own_criterion(name, criteria)
    finally:  # no other test sees it
        STRUCTURED_CRITERIA.unregister(name)
    assert name not in STRUCTURED_CRITERIA


def _check_own_criterion(name, criteria):
    import tfcompress
    from tfcompress.errors import InputError
    from tfcompress.recipe import PruneSpec

    class Reverse(criteria.Importance):
        def __call__(self, model, a, groups, data, seed):
            return {}

    with pytest.raises(ValueError, match="registered twice"):
        tfcompress.register_criterion(name, Reverse())
    with pytest.raises(TypeError, match="callable"):
        tfcompress.register_criterion("not_callable_for_test", 3)
    assert PruneSpec(0.5, method="filters", criterion=name).criterion == name
    with pytest.raises(InputError, match="reverse_l1_for_test"):
        PruneSpec(0.5, method="filters", criterion="reverse_l1_for_tst")

    keras.utils.set_random_seed(0)
    model = _sequential()
    a = graph.analyse(model)
    groups = [g for g in a.groups if a.groups[g].producers][:2]
    assert groups
    mine = criteria.scores(model, a, name, groups)
    l1 = criteria.scores(model, a, "l1", groups)
    for g in groups:
        np.testing.assert_array_equal(mine[g], -l1[g])
        kept = criteria.select({g: mine[g]}, 0.5)[g]
        assert set(kept) == set(np.argsort(l1[g], kind="stable")[:len(kept)])
    assert not criteria.needs_data(name) and criteria.needs_data("taylor")
