"""The pruning methods beyond tfmot: masks, global vs per-layer, one-shot / iterative,
lottery tickets, SNIP, 2:4 and user schedules."""

import numpy as np
import pytest

from tfcompress._keras import keras
from tfcompress.data import load
from tfcompress.errors import InputError
from tfcompress.models import MODELS
from tfcompress.prune import criteria, masks, schedule, snip
from tfcompress.prune.methods import base
from tfcompress.recipe import (BenchmarkSpec, DataSpec, ExportSpec, ModelSpec, PruneSpec,
                               Recipe, TrainSpec, Variant)

L = keras.layers


def _mlp(seed=0):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((8,))
    x = L.Dense(16, activation="relu", name="fc1")(inp)
    x = L.Dense(12, activation="relu", name="fc2")(x)
    return keras.Model(inp, L.Dense(3, activation="softmax", name="out")(x))


def test_per_layer_masks_zero_exactly_the_smallest_in_every_layer():
    model = _mlp()
    m = masks.magnitude(model, 0.75, "layer")
    for layer in masks.candidates(model):
        k, mask = np.abs(layer.kernel.numpy()), m[layer.name]
        assert mask.sum() == k.size - int(np.floor(0.75 * k.size))
        assert k[mask].min() >= k[~mask].max()


def test_global_masks_use_one_threshold_so_layer_ratios_differ():
    model = _mlp()
    model.get_layer("fc2").kernel.assign(model.get_layer("fc2").kernel * 10.0)
    m = masks.magnitude(model, 0.6, "global")
    n = sum(l.kernel.numpy().size for l in masks.candidates(model))
    assert masks.overall(m) == pytest.approx(np.floor(0.6 * n) / n)
    kept = np.concatenate([np.abs(l.kernel.numpy())[m[l.name]] for l in masks.candidates(model)])
    cut = np.concatenate([np.abs(l.kernel.numpy())[~m[l.name]]
                          for l in masks.candidates(model)])
    assert kept.min() >= cut.max()
    per_layer = masks.report(m)
    assert per_layer["fc2"]["sparsity"] < 0.4 < 0.6 < per_layer["fc1"]["sparsity"]


def test_policy_skips_first_and_last_and_rejects_unknown_names():
    model = _mlp()
    assert [l.name for l in masks.prunable(model, ("first", "last"))] == ["fc2"]
    assert set(masks.magnitude(model, 0.5, skip=("out",))) == {"fc1", "fc2"}
    with pytest.raises(InputError, match="layer in prune.skip 'fc9'.*fc1"):
        masks.prunable(model, ("fc9",))


def test_iterative_masks_keep_what_earlier_rounds_pruned():
    model = _mlp()
    first = masks.magnitude(model, 0.5)
    masks.apply(model, first)
    model.get_layer("fc1").kernel.assign(model.get_layer("fc1").kernel + 0.001)  # "training"
    second = masks.magnitude(model, 0.75, keep=first)
    for name in first:
        assert not np.any(second[name] & ~first[name])  # nothing revived
    assert masks.overall(second) == pytest.approx(0.75, abs=0.01)


def test_hold_masks_keeps_pruned_weights_at_zero_through_training():
    model = _mlp()
    m = masks.magnitude(model, 0.8)
    masks.apply(model, m)
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(64, 8)).astype("float32")
    before = model.get_layer("fc1").kernel.numpy().copy()
    model.fit(x, np.arange(64) % 3, epochs=2, batch_size=8, verbose=0,
              callbacks=[masks.HoldMasks(m)])
    after = model.get_layer("fc1").kernel.numpy()
    assert np.all(after[~m["fc1"]] == 0) and not np.allclose(after, before)


def test_rounds_share_the_sparsity_and_the_epochs():
    assert [round(base.round_sparsity(0.9, i, 3), 4) for i in (1, 2, 3)] == \
        [round(1 - 0.1 ** (1 / 3), 4), round(1 - 0.1 ** (2 / 3), 4), 0.9]
    assert base.round_epochs(5, 3) == [2, 2, 1] and sum(base.round_epochs(4, 4)) == 4


def test_snip_scores_are_gradient_times_weight():
    model = _mlp()
    x = np.random.default_rng(1).normal(size=(32, 8)).astype("float32")
    y = np.arange(32) % 3
    s = snip.scores(model, x, y, batches=1, batch_size=32)
    from tfcompress._keras import tf

    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x))
    g = tape.gradient(loss, model.get_layer("fc2").kernel)
    np.testing.assert_allclose(s["fc2"], np.abs(g.numpy() * model.get_layer("fc2").kernel.numpy()),
                               rtol=1e-5, atol=1e-9)


def test_m_by_n_groups_run_along_input_channels():
    k = np.zeros((3, 3, 8, 2))
    k[..., 0:2, :] = 1.0  # 2 non-zeros in channels 0-3, 0 in 4-7 for every (h, w, out)
    assert criteria.check_m_by_n(k, 2, 4)
    k[..., 2, :] = 1.0
    assert not criteria.check_m_by_n(k, 2, 4)
    assert not criteria.check_m_by_n(np.zeros((3, 3, 1, 4)), 2, 4)  # no full group


def test_piecewise_schedule_follows_the_users_points_to_the_target():
    spec = PruneSpec(0.8, schedule="piecewise", points=[[0.0, 0.2], [0.5, 0.5], [0.9, 0.8]],
                     frequency=5)
    c = schedule.curve(spec, 100)
    values = c["sparsity"]
    assert values[0] == pytest.approx(0.2) and values[-1] == pytest.approx(0.8)
    assert all(a <= b + 1e-9 for a, b in zip(values, values[1:]))
    assert values[50] == pytest.approx(0.5, abs=0.05)
    with pytest.raises(InputError, match="prune.points"):
        PruneSpec(0.8, schedule="piecewise", points=[[0.5, 0.3], [0.2, 0.8]])


def _methods_recipe(variants):
    return Recipe(
        name="methods_test", description="pruning methods on LeNet-300-100 (tiny)",
        data=DataSpec("digits", train_limit=400, test_limit=100),
        model=ModelSpec("lenet_300_100", {"hidden": [32, 16]}),
        train=TrainSpec(epochs=2, batch_size=32), finetune=TrainSpec(epochs=2, batch_size=32),
        variants=(Variant("float32", ExportSpec("float32")), *variants),
        benchmark=BenchmarkSpec(threads=(1,), warmup_runs=1, min_runs=3, min_seconds=0.0,
                                throughput_batch=2))


@pytest.fixture(scope="module")
def methods_run(tmp_path_factory):
    from tfcompress.pipeline import Pipeline

    def v(name, **kw):
        return Variant(name, ExportSpec("float32"), PruneSpec(**kw))

    recipe = _methods_recipe((
        v("oneshot_global", target_sparsity=0.9, method="oneshot", scope="global"),
        v("iterative", target_sparsity=0.9, method="iterative", rounds=2),
        v("lottery", target_sparsity=0.9, method="lottery", rounds=2),
        v("lottery_reinit", target_sparsity=0.9, method="lottery", rounds=2, reinit=True),
        v("snip", target_sparsity=0.9, method="snip", scope="global"),
        v("gradual_skip", target_sparsity=0.8, frequency=5, skip=["last"]),
        v("piecewise", target_sparsity=0.6, schedule="piecewise", frequency=5,
          points=[[0.0, 0.3], [0.7, 0.6]]),
        Variant("seed1", ExportSpec("float32"), PruneSpec(0.9, method="oneshot"), seed=1,
                group="oneshot"),
    ))
    out = tmp_path_factory.mktemp("methods")
    result = Pipeline(recipe, profile="tiny", output_dir=out).run()
    import json

    variants = {v["variant"]: v for v in
                json.loads((result.run_dir / "results.json").read_text())["variants"]}
    return recipe, result, variants


def _kernel_sparsity(v, layer):
    s = v["source"]["layer_sparsity"][layer]
    return s["sparsity"]


def test_every_method_reaches_its_target_from_a_recipe(methods_run):
    _, result, variants = methods_run
    for name in ("iterative", "lottery", "lottery_reinit"):
        for layer in ("fc1", "fc2", "logits"):
            assert _kernel_sparsity(variants[name], layer) == pytest.approx(0.9, abs=0.01), name
    total = lambda v: (sum(s["zeros"] for s in v["source"]["layer_sparsity"].values())  # noqa
                       / sum(s["params"] for s in v["source"]["layer_sparsity"].values()))
    for name in ("oneshot_global", "snip"):
        assert total(variants[name]) == pytest.approx(0.9, abs=0.001), name
        ratios = [s["sparsity"] for s in variants[name]["source"]["layer_sparsity"].values()]
        assert max(ratios) - min(ratios) > 0.02, name  # global: ratios differ per layer
    assert _kernel_sparsity(variants["gradual_skip"], "logits") == 0.0
    assert _kernel_sparsity(variants["gradual_skip"], "fc1") == pytest.approx(0.8, abs=0.01)
    assert _kernel_sparsity(variants["piecewise"], "fc2") == pytest.approx(0.6, abs=0.01)
    names = {s.name for s in result.steps}
    assert {"baseline", "baseline_seed1", "lottery90_layer_reinit"} <= names


def test_lottery_ticket_rewinds_to_the_initialisation(tmp_path):
    from tfcompress.prune.methods.base import Job
    from tfcompress.prune.methods.lottery import lottery

    data = load(DataSpec("digits", train_limit=200, test_limit=50))
    build = lambda seed: (keras.utils.set_random_seed(seed),  # noqa: E731
                          MODELS.get("lenet_300_100")(data.input_shape, 10,
                                                      hidden=[16, 8]))[1]
    trained = build(0)
    trained.set_weights([w + 0.1 for w in trained.get_weights()])  # stands for training
    job = Job(spec=PruneSpec(0.5, method="lottery"), data=data,
              train=TrainSpec(epochs=0), finetune=TrainSpec(epochs=0), seed=0, work=tmp_path,
              trained=lambda: trained, initial=build)
    out = lottery(job)
    init = build(0)
    for layer in masks.candidates(out.model):
        k, k0 = layer.kernel.numpy(), init.get_layer(layer.name).kernel.numpy()
        mask = out.masks[layer.name]
        np.testing.assert_array_equal(k[mask], k0[mask])  # survivors back at init
        assert np.all(k[~mask] == 0)
        # the mask came from the trained weights' magnitudes
        assert np.abs(trained.get_layer(layer.name).kernel.numpy())[mask].min() >= \
            np.abs(trained.get_layer(layer.name).kernel.numpy())[~mask].max()


def test_m_by_n_leaves_exactly_two_of_four_and_says_which_layers_cannot(tmp_path):
    from tfcompress.prune.methods.base import Job
    from tfcompress.prune.methods.m_by_n import m_by_n

    data = load(DataSpec("digits", train_limit=128, test_limit=32))
    keras.utils.set_random_seed(0)
    model = MODELS.get("digits_cnn")(data.input_shape, 10, filters=[8, 8], dense_units=16)
    job = Job(spec=PruneSpec(0.5, method="m_by_n", m_by_n=[2, 4], frequency=1), data=data,
              train=TrainSpec(epochs=1, batch_size=32),
              finetune=TrainSpec(epochs=1, batch_size=32), seed=0, work=tmp_path,
              trained=lambda: model, initial=None)
    out = m_by_n(job)
    first, *rest = masks.candidates(out.model)
    assert first.name in out.facts["m_by_n_skipped"]  # 1 input channel: no group of 4
    assert "1 input channel" in out.facts["m_by_n_skipped"][first.name]
    assert out.facts["m_by_n_violations"] == []
    assert [l.name for l in rest] == out.facts["m_by_n_layers"]
    for layer in rest:
        g = criteria.groups(layer.kernel.numpy(), 4)
        assert np.all(np.count_nonzero(g, axis=1) == 2), layer.name


def test_the_lottery_control_reuses_the_tickets_mask(methods_run):
    _, result, _ = methods_run
    steps = {s.name: s for s in result.steps}
    cache = result.run_dir.parents[1] / "cache"
    ticket = np.load(cache / f"prune-{steps['lottery90_layer'].key}" / "masks.npz")
    control = np.load(cache / f"prune-{steps['lottery90_layer_reinit'].key}" / "masks.npz")
    assert sorted(ticket.files) == sorted(control.files) == ["fc1", "fc2", "logits"]
    for name in ticket.files:
        np.testing.assert_array_equal(ticket[name], control[name])
    model = keras.models.load_model(cache / f"prune-{steps['lottery90_layer_reinit'].key}"
                                    / "model.keras")
    assert np.all(model.get_layer("fc1").kernel.numpy()[~control["fc1"]] == 0)


def test_layer_sensitivity_prunes_one_layer_at_a_time_and_restores_it():
    from support import trained_digits_cnn
    from tfcompress.prune import sensitivity
    from tfcompress.recipe import SensitivitySpec

    model, data = trained_digits_cnn([4, 8], 16, epochs=5, test_limit=50)
    before = [w.copy() for w in model.get_weights()]
    spec = SensitivitySpec(ratios=(0.5, 0.99), tolerance=1.0)
    a = sensitivity.analyse(model, data.x_val, data.y_val, spec)
    for w, w0 in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, w0)  # every layer put back
    assert list(a["layers"]) == [l.name for l in masks.candidates(model)]
    for e in a["layers"].values():
        assert len(e["accuracy"]) == 2 and e["proposed"] in (0.0, 0.5, 0.99)
        if e["proposed"]:
            drop = a["dense_accuracy"] - e["accuracy"][spec.ratios.index(e["proposed"])]
            assert drop <= 0.01 + 1e-9
    # pruning a layer to 99% costs more than to 50%, somewhere
    assert any(e["accuracy"][1] < e["accuracy"][0] for e in a["layers"].values())
    kinds = sensitivity.by_kind(a)
    assert set(kinds) == {"conv", "dense"} and all(len(v) == 2 for v in kinds.values())


def test_repeats_over_seeds_are_summarised_as_mean_and_std():
    from tfcompress.report import table

    from types import SimpleNamespace

    def row(group, seed, acc, errors, before=None):  # what groups() reads of a Row
        return SimpleNamespace(group=group, seed=seed, compression="oneshot 90%",
                               export_mode="float32", sparsity=0.9, tflite_accuracy=acc,
                               test_errors=errors, accuracy_before_finetune=before)

    rows = [row("g", s, a, e, b) for s, a, e, b in ((0, 0.97, 30, 0.5), (1, 0.98, 20, 0.6),
                                                   (2, 0.99, 10, 0.7))]
    rows.append(row("alone", 0, 0.97, 30))
    (g,) = table.groups(rows)
    assert g.group == "g" and g.n == 3 and g.seeds == [0, 1, 2]
    assert g.accuracy_mean == pytest.approx(0.98) and g.accuracy_std == pytest.approx(0.01)
    assert g.errors_mean == pytest.approx(20) and g.errors_std == pytest.approx(10)
    assert g.before_mean == pytest.approx(0.6) and g.before_std == pytest.approx(0.1)
    rows[1].accuracy_before_finetune = None  # one seed without it: no mean of it
    assert table.groups(rows)[0].before_mean is None


def test_preflight_refuses_per_method_what_that_method_cannot_do(caplog):
    from tfcompress.prune.methods import preflight

    class Scale(L.Layer):  # weights tfmot cannot wrap; our own masks ignore the layer
        def build(self, shape):
            self.w = self.add_weight(shape=(shape[-1],), name="w")

        def call(self, x):
            return x * self.w

    inp = keras.Input((8,))
    model = keras.Model(inp, Scale(name="my_scale")(L.Dense(4, name="fc")(inp)))
    # tfmot wraps only the prunable layers: one it cannot prune (EfficientNet's Normalization,
    # a custom scale) is left dense, with a warning, not refused (issue 18)
    with caplog.at_level("WARNING", logger="tfcompress"):
        preflight(model, PruneSpec(0.5, frequency=1), finetune_steps=10)
    assert any("my_scale (Scale)" in r.message and "left dense" in r.message
               for r in caplog.records)
    preflight(model, PruneSpec(0.5, method="oneshot"), finetune_steps=0)
    with pytest.raises(InputError, match="prune.frequency=100"):
        preflight(_mlp(), PruneSpec(0.5), finetune_steps=20)
    with pytest.raises(InputError, match="layer in prune.skip 'nope'"):
        preflight(_mlp(), PruneSpec(0.5, method="snip", skip=["nope"]), finetune_steps=0)
    with pytest.raises(InputError, match="no channel group"):
        preflight(_mlp(), PruneSpec(0.5, method="filters", skip=["fc1", "fc2"]), 0)
    # slimming: refused before its L1 training when no group passes a batch norm; with some,
    # only those are ranked (the rest stay whole)
    from tfcompress.models import MODELS
    from tfcompress.prune.methods.structured import structured_groups

    with pytest.raises(InputError, match="passing no batch norm"):
        preflight(_mlp(), PruneSpec(0.5, method="slimming"), 0)
    bn = MODELS.get("digits_cnn")((8, 8, 1), 10, filters=[4, 4], batch_norm=True)
    preflight(bn, PruneSpec(0.5, method="slimming"), 0)
    a, chosen = structured_groups(bn, [], "bn_gamma")
    assert sorted(p for g in chosen for p in a.groups[g].producers) == ["conv1", "conv2"]
    assert "fc1" in [p for g in structured_groups(bn, [])[1] for p in a.groups[g].producers]


def test_efficientnet_with_its_normalization_layer_is_pruned_by_tfmot():
    """EfficientNet starts with Rescaling and Normalization (weights tfmot cannot prune): the
    preflight used to refuse it, though wrapping only the prunable layers prunes it (issue 18)."""
    from tfcompress.prune import magnitude
    from tfcompress.prune.methods import preflight

    keras.utils.set_random_seed(0)
    model = keras.applications.EfficientNetB0(weights=None, input_shape=(32, 32, 3), classes=2)
    found = magnitude.unsupported_layers(model)
    assert [b["type"] for b in found] == ["Normalization"] and not found[0]["fatal"]
    preflight(model, PruneSpec(0.5, frequency=1), finetune_steps=10)
    wrapped = magnitude.apply(model, PruneSpec(0.5, frequency=1), total_steps=10)
    names = [l.name for l in wrapped.layers if type(l).__name__ == "PruneLowMagnitude"]
    assert len(names) >= 60 and "prune_low_magnitude_stem_conv" in names


def test_a_keras3_recurrent_layer_is_left_dense_by_one_mask_methods_and_named(caplog):
    """The methods that keep one mask per layer (oneshot, lottery, snip, ...) leave a layer
    that prunes several weights (a GRU's kernel and recurrent kernel) dense, and say so once;
    ``gradual`` (``tfcompress.sparsity``) prunes each of its weights."""
    import keras as keras3

    model = keras3.Sequential([keras3.Input((5, 3)), keras3.layers.GRU(4, name="gru"),
                               keras3.layers.Dense(2, name="head")], name="rnn_model")
    with caplog.at_level("WARNING", logger="tfcompress"):
        names = [l.name for l in masks.candidates(model)]
        masks.candidates(model)
    assert names == ["head"]
    assert caplog.text.count("layer 'gru' (GRU) is left dense") == 1
    m = masks.magnitude(model, 0.5)
    assert set(m) == {"head"} and m["head"].mean() == 0.5


def test_keras3_one_mask_methods_rank_a_separable_convs_pointwise_kernel_and_an_embedding():
    """``masks.kernel`` of a Keras 3 layer is the weight ``tfcompress.sparsity`` prunes: these
    layers have no ``kernel`` (a one-shot run of a Keras 3 Xception raised AttributeError)."""
    import keras as keras3

    L = keras3.layers
    images = keras3.Sequential([keras3.Input((8, 8, 3)), L.SeparableConv2D(8, 3, name="sep"),
                                L.GlobalAveragePooling2D(), L.Dense(2, name="head")])
    tokens = keras3.Sequential([keras3.Input((5,), dtype="int32"), L.Embedding(20, 4, name="emb"),
                                L.Flatten(), L.Dense(2, name="out")])
    for model, name, weight in ((images, "sep", "pointwise_kernel"), (tokens, "emb", "embeddings")):
        m = masks.magnitude(model, 0.5)
        layer = model.get_layer(name)
        assert m[name].shape == tuple(getattr(layer, weight).shape) and m[name].mean() == 0.5
        masks.apply(model, m)
        assert np.count_nonzero(np.asarray(getattr(layer, weight))) == m[name].size // 2
