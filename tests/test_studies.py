"""The seed studies' own machinery: pruning curves without retraining (``curve``), a variant's
own training schedule (the learning-rate study), the structured criteria (random, L1, BN-gamma,
Taylor), and their registered experiments at the tiny profile."""

import json

import numpy as np
import pytest

from tfcompress import catalogue
from tfcompress._keras import keras, tf
from tfcompress.errors import InputError
from tfcompress.prune import curve
from tfcompress.recipe import CurveSpec, PruneSpec, TrainSpec, Variant, apply_overrides
from support import shares

L = keras.layers


def _mlp(seed=0):
    keras.utils.set_random_seed(seed)
    inp = keras.Input((8,))
    x = L.Dense(32, activation="relu", name="fc1")(inp)
    x = L.Dense(16, activation="relu", name="fc2")(x)
    return keras.Model(inp, L.Dense(3, activation="softmax", name="out")(x))


def test_curve_prunes_each_ratio_exactly_and_restores_the_model():
    model = _mlp()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8)).astype("float32")
    y = np.argmax(model.predict(x, verbose=0), axis=1)  # the dense model is 100% right
    before = [w.copy() for w in model.get_weights()]
    spec = CurveSpec(ratios=(0.0, 0.5, 0.9), criteria=("magnitude", "random"),
                     timing_batch=8, timing_rounds=3, timing_runs=1)
    out = curve.analyse(model, x, y, spec, seed=0)
    weights = 8 * 32 + 32 * 16 + 16 * 3
    assert out["weights"] == weights
    for c in ("magnitude", "random"):
        e = out["criteria"][c]
        assert e["accuracy"][0] == 1.0
        assert e["sparsity"] == pytest.approx([0.0, np.floor(0.5 * weights) / weights,
                                               np.floor(0.9 * weights) / weights])
        assert len(e["ms_rounds"]) == 3 and all(len(r) == 3 for r in e["ms_rounds"])
    # removing the smallest weights costs less than removing as many at random
    assert out["criteria"]["magnitude"]["accuracy"][1] > out["criteria"]["random"]["accuracy"][1]
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)


def test_curve_aggregates_seeds_per_group_with_times_relative_to_the_dense_round():
    def entry(seed, group, acc, rounds):
        return {"group": group, "seed": seed, "ratios": [0.0, 0.5],
                "criteria": {"magnitude": {"accuracy": acc, "ms_rounds": rounds}}}

    curves = [entry(0, "a", [0.9, 0.5], [[10.0, 20.0], [11.0, 22.0]]),
              entry(1, "a", [0.8, 0.7], [[10.0, 10.0], [10.0, 12.0]]),
              entry(0, "b", [0.7, 0.6], [[5.0, 5.0], [5.0, 5.0]])]
    agg = curve.aggregate(curves)
    a = agg["a"]["magnitude"]
    assert a["seeds"] == [0, 1]
    assert a["accuracy_mean"] == pytest.approx([0.85, 0.6])
    assert a["accuracy_std"] == pytest.approx([np.std([0.9, 0.8], ddof=1),
                                               np.std([0.5, 0.7], ddof=1)])
    # each model against its own unpruned accuracy: -0.4 and -0.1
    assert a["drop_mean"] == pytest.approx([0.0, -0.25])
    assert a["drop_std"] == pytest.approx([0.0, np.std([-0.4, -0.1], ddof=1)])
    assert a["ms_mean"] == pytest.approx([np.mean([10, 20, 10, 10]), np.mean([11, 22, 10, 12])])
    # each round against the dense time of the same round and model
    assert a["relative_mean"] == pytest.approx(
        [1.0, float(np.prod([1.1, 1.1, 1.0, 1.2]) ** 0.25)])
    assert a["relative_std"][1] == pytest.approx(np.std([1.1, 1.1, 1.0, 1.2], ddof=1))
    assert agg["b"]["magnitude"]["accuracy_std"] == [0.0, 0.0]


@pytest.mark.parametrize("override, match", [
    ({"curve.ratios": [0.5, 0.2]}, "curve.ratios must be rising numbers in \\[0, 1\\)"),
    ({"curve.ratios": [0.0, 1.0]}, "curve.ratios must be rising"),
    ({"curve.criteria": ["magnitude", "snip"]}, "curve.criteria.*'snip'"),
    ({"curve.scope": "network"}, "curve.scope.*'network'"),
    ({"curve.timing_rounds": 0}, "curve.timing_rounds must be a positive integer"),
])
def test_curve_settings_are_checked_where_they_enter(override, match):
    recipe = catalogue.experiment("resnet18_lr_pruning")
    with pytest.raises(InputError, match=match):
        apply_overrides(recipe, override)


def test_a_variant_trains_its_own_baseline_schedule_only_where_that_makes_sense():
    from tfcompress.recipe import DistillSpec, ModelSpec

    with pytest.raises(InputError, match="variants.v.train must be a training schedule"):
        Variant("v", train={"learning_rate": 0.1})
    with pytest.raises(InputError, match="variants.v.train must be unset with distill"):
        Variant("v", train=TrainSpec(epochs=1),
                distill=DistillSpec(student=ModelSpec("lenet_300_100")))
    transfer = catalogue.experiment("mobilenet_prune_quant")
    with pytest.raises(InputError, match="variants.float32.train must be unset in a transfer"):
        apply_overrides(transfer, {"variants.float32.train": TrainSpec(epochs=1)})


def test_structured_criterion_is_checked_and_only_for_filters():
    assert PruneSpec(0.5, method="filters", criterion="taylor").criterion == "taylor"
    with pytest.raises(InputError, match="prune.criterion 'l2'.*bn_gamma, l1, random, taylor"):
        PruneSpec(0.5, method="filters", criterion="l2")
    with pytest.raises(InputError, match="prune.criterion must be l1 unless method is filters"):
        PruneSpec(0.5, method="oneshot", criterion="random")


def _conv_net(seed=0, k=keras):
    k.utils.set_random_seed(seed)
    inp = k.Input((8, 8, 3))
    x = k.layers.Conv2D(6, 3, padding="same", name="c1")(inp)
    x = k.layers.ReLU(name="r1")(k.layers.BatchNormalization(name="bn1")(x))
    x = k.layers.SeparableConv2D(5, 3, padding="same", name="sep")(x)
    x = k.layers.GlobalAveragePooling2D(name="gap")(k.layers.ReLU(name="r2")(x))
    return k.Model(inp, k.layers.Dense(3, activation="softmax", name="out")(x))


@pytest.mark.parametrize("flavor", ["tf_keras", "keras3"])
def test_taylor_importance_is_the_squared_first_order_change_of_the_loss(flavor):
    from tfcompress._keras3 import keras as keras3
    from tfcompress.structured import criteria, graph

    model = _conv_net(k=keras if flavor == "tf_keras" else keras3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 8, 8, 3)).astype("float32")
    y = rng.integers(0, 3, size=40)
    a = graph.analyse(model)
    groups = sorted(a.prunable())
    got = criteria.taylor(model, a, groups, x, y, batches=1, batch_size=40)
    # by hand: (sum over each output filter's weights and bias of g * w)^2
    layers = {"c1": (model.get_layer("c1").kernel, model.get_layer("c1").bias),
              "sep": (model.get_layer("sep").pointwise_kernel, model.get_layer("sep").bias)}
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x, training=False))
    flat = [v for pair in layers.values() for v in pair]
    grads = dict(zip(map(id, flat), tape.gradient(loss, flat)))
    for g in groups:
        (producer,) = a.groups[g].producers
        kernel, bias = layers[producer]
        gw = (grads[id(kernel)] * kernel).numpy()
        expected = (gw.reshape(-1, gw.shape[-1]).sum(axis=0)
                    + (grads[id(bias)] * bias).numpy()) ** 2
        np.testing.assert_allclose(got[g], expected, rtol=1e-4)
    assert {a.groups[g].producers[0] for g in groups} == {"c1", "sep"}


def test_random_criterion_is_seeded_and_selects_exactly_the_ratio():
    from tfcompress.structured import criteria, graph

    model = _conv_net()
    a = graph.analyse(model)
    groups = sorted(a.prunable())
    one = criteria.scores(model, a, "random", groups, seed=1)
    assert all(np.array_equal(one[g], criteria.scores(model, a, "random", groups, seed=1)[g])
               for g in groups)
    assert not all(np.array_equal(one[g], criteria.scores(model, a, "random", groups,
                                                          seed=2)[g]) for g in groups)
    keep = criteria.select(one, 0.5)
    assert {g: len(k) for g, k in keep.items()} == {g: a.groups[g].size - a.groups[g].size // 2
                                                    for g in groups}


@pytest.mark.slow  # a minute or more of a whole tiny experiment: make test-slow
@shares("resnet18_lr_pruning")
def test_resnet18_learning_rate_study_at_tiny(tiny_runs):
    recipe = catalogue.experiment("resnet18_lr_pruning").for_profile("tiny")
    result = tiny_runs(recipe.name)
    info = json.loads((result.run_dir / "run.json").read_text())
    trained = [s for s in info["steps"] if s["kind"] == "train"]
    # two learning rates x two seeds (three in the quick profile): each baseline trained once
    assert sorted(s["name"] for s in trained) == sorted(
        ["baseline", "baseline_seed1", "baseline_lr0.001", "baseline_lr0.001_seed1"])
    curves = info["curve"]
    assert sorted((c["group"], c["seed"]) for c in curves) == sorted(
        (g, s) for g in ("lr0.001", "lr0.01") for s in (0, 1))
    rows = {r["variant"]: r for r in result.rows}
    for c in curves:
        e = c["criteria"]["magnitude"]
        assert c["ratios"] == [0.0, 0.4, 0.8]
        # ratio 0 is the trained model itself
        assert e["accuracy"][0] == pytest.approx(c["keras_test_accuracy"])
        assert e["sparsity"] == pytest.approx(c["ratios"], abs=1e-3)
        assert len(e["ms_rounds"]) == 3 and all(len(r) == 2 for r in e["ms_rounds"])
    # the learning rates' models differ: their unpruned accuracies are the rows' Keras ones
    by_variant = {c["variant"]: c for c in curves}
    assert by_variant["lr0_01_seed0"]["keras_test_accuracy"] == rows["lr0_01_seed0"][
        "keras_accuracy"]
    report = (result.run_dir / "report.md").read_text()
    assert "## Pruned without retraining" in report
    assert "Accuracy, `lr0.001` magnitude minus `lr0.01` magnitude" in report
    assert "Change from unpruned, `lr0.001` magnitude minus `lr0.01` magnitude" in report
    assert (result.run_dir / "plots" / "prune_curve.png").is_file()


@pytest.mark.slow  # a minute or more of a whole tiny experiment: make test-slow
@shares("resnet20_structured_criteria")
def test_structured_criteria_comparison_at_tiny(tiny_runs):
    recipe = catalogue.experiment("resnet20_structured_criteria").for_profile("tiny")
    result = tiny_runs(recipe.name)
    rows = {r["variant"]: r for r in result.rows}
    for c in ("random", "l1", "bn_gamma", "taylor"):
        for s in (0, 1):
            r = rows[f"filters50_{c}_seed{s}"]
            assert r["params"] < rows["float32"]["params"]  # physically smaller
            assert r["accuracy_before_finetune"] is not None
    # every criterion keeps the same number of channels; what differs is which
    assert len({rows[f"filters50_{c}_seed0"]["params"]
                for c in ("random", "l1", "bn_gamma", "taylor")}) == 1
    info = json.loads((result.run_dir / "run.json").read_text())
    assert {c for e in info["curve"] for c in e["criteria"]} == {"magnitude", "random"}
    report = (result.run_dir / "report.md").read_text()
    assert "| `filters50_taylor` | filters taylor 50% |" in report
    assert "Accuracy, `dense` magnitude minus `dense` random" in report


def test_conv_networks_have_frankle_and_carbins_layout():
    from tfcompress.models import MODELS, conv

    sizes = {n: MODELS.get(n)((32, 32, 3), 10).count_params() for n in ("conv2", "conv4",
                                                                          "conv6")}
    # the paper: 4.3 M, 2.4 M, 1.7 M (its Conv-6 figure leaves part of fc1 out)
    assert sizes == {"conv2": 4_301_642, "conv4": 2_425_930, "conv6": 2_262_602}
    model = MODELS.get("conv6")((32, 32, 3), 10)
    convs = [l for l in model.layers if type(l).__name__ == "Conv2D"]
    assert [l.filters for l in convs] == [64, 64, 128, 128, 256, 256]
    assert all(l.kernel_size == (3, 3) and l.padding == "same" for l in convs)
    assert [l.units for l in model.layers if type(l).__name__ == "Dense"] == [256, 256, 10]
    with pytest.raises(InputError, match="pairs must be an integer in \\[1, 3\\].*received 4"):
        conv.build((32, 32, 3), 10, pairs=4)


def test_lottery_rates_prune_each_layer_kind_at_its_own_rate_of_the_survivors():
    from tfcompress.models import MODELS
    from tfcompress.prune.methods.lottery import rated_masks

    model = MODELS.get("conv2")((32, 32, 3), 10, widths=[8], dense=[32, 16])
    rates = {"conv": 0.1, "dense": 0.2, "output": 0.5}
    one = rated_masks(model, rates, 1, (), None)
    two = rated_masks(model, rates, 2, (), one)
    expected = {"conv1": 0.1, "conv2": 0.1, "fc1": 0.2, "fc2": 0.2, "logits": 0.5}
    for name, rate in expected.items():
        for i, masks in ((1, one), (2, two)):
            m = masks[name]
            assert m.size - m.sum() == int(np.floor((1 - (1 - rate) ** i) * m.size)), name
        assert not np.any(two[name] & ~one[name])  # pruned weights stay pruned


def test_lottery_rates_are_checked_where_they_enter():
    with pytest.raises(InputError, match="prune.rates must be unset unless method is lottery"):
        PruneSpec(0.2, method="iterative", rates=[["dense", 0.2]])
    with pytest.raises(InputError, match="kinds from \\['conv', 'dense', 'output'\\]"):
        PruneSpec(0.36, method="lottery", rounds=2, rates=[["fc", 0.2], ["dense", 0.2]])
    with pytest.raises(InputError, match="prune.target_sparsity must be 0.488 with prune.rates"):
        PruneSpec(0.5, method="lottery", rounds=3, rates=[["dense", 0.2]])


@pytest.mark.slow  # a minute or more of a whole tiny experiment: make test-slow
@shares("conv2_lottery_ticket")
def test_conv2_lottery_study_at_tiny_measures_every_round(tiny_runs):
    recipe = catalogue.experiment("conv2_lottery_ticket").for_profile("tiny")
    result = tiny_runs(recipe.name)
    variants = json.loads((result.run_dir / "results.json").read_text())["variants"]
    by = {v["variant"]: v for v in variants}
    for s in (0, 1, 2):
        rounds = by[f"tickets_seed{s}"]["source"]["rounds"]
        assert [r["round"] for r in rounds] == [1, 2]
        # the dense layers hold most weights: Pm close to 0.8 then 0.64
        assert 0.78 < rounds[0]["remaining"] < 0.84 and 0.61 < rounds[1]["remaining"] < 0.68
        assert all(1 <= r["early_stop_epoch"] <= 2 for r in rounds)
        # the last round's ticket is the variant's model
        assert rounds[-1]["test_accuracy"] == pytest.approx(
            by[f"tickets_seed{s}"]["source"]["keras_test_accuracy"])
        # the control is the ticket's mask on fresh weights
        ticket = by[f"tickets_seed{s}"]["source"]["layer_sparsity"]
        control = by[f"tickets_reinit_seed{s}"]["source"]["layer_sparsity"]
        assert {k: v["zeros"] for k, v in ticket.items()} == {k: v["zeros"]
                                                             for k, v in control.items()}
    report = (result.run_dir / "report.md").read_text()
    assert "## Lottery ticket rounds" in report and "| `tickets` | 2 |" in report
    assert (result.run_dir / "plots" / "lottery.png").is_file()


@shares("preact_resnet56_pruning_comparison")
def test_mlmark_throughput_by_batch_and_peak_memory_at_tiny(tiny_runs):
    recipe = catalogue.experiment("preact_resnet56_pruning_comparison").for_profile("tiny")
    assert recipe.model.options["preact"] is True
    result = tiny_runs(recipe.name)
    rows = {r["variant"]: r for r in result.rows}
    for r in rows.values():
        for b in (1, 4):
            assert r[f"images_per_s_b{b}"] > 0 and r[f"images_per_s_b{b}_std"] >= 0
        assert r["peak_rss_kib"] > 0  # the interpreter's arena at least
    variants = json.loads((result.run_dir / "results.json").read_text())["variants"]
    lat = next(v for v in variants if v["variant"] == "float32")["batches"]["4"]
    assert lat["batch"] == 4 and len(lat["round_p50_ms"]) == 5
    report = (result.run_dir / "report.md").read_text()
    assert "## Throughput by batch size and peak memory" in report
    assert "batch 4 img/s" in report and "MiB |" in report
    assert (result.run_dir / "plots" / "throughput.png").is_file()


def test_peak_memory_grows_with_the_file_it_runs(tmp_path):
    from tfcompress.benchmark.memory import peak_rss
    from tfcompress.quantize import tflite
    from tfcompress.recipe import ExportSpec

    x = np.random.default_rng(0).normal(size=(8, 8)).astype("float32")
    sizes = {}
    for units in (16, 1024):
        keras.utils.set_random_seed(0)
        inp = keras.Input((8,))
        h = L.Dense(units, activation="relu")(inp)
        h = L.Dense(units, activation="relu")(h)
        model = keras.Model(inp, L.Dense(3, activation="softmax")(h))
        path = tmp_path / f"m{units}.tflite"
        path.write_bytes(tflite.convert(model, ExportSpec("float32"), x))
        sizes[units] = peak_rss(path)["peak_rss_kib"]
    # 1024 x 1024 float32 weights: XNNPACK packs a 4 MiB copy
    assert sizes[1024] - sizes[16] > 3 * 1024


@shares("lenet_snip_curve")
def test_snip_curve_at_tiny(tiny_runs):
    recipe = catalogue.experiment("lenet_snip_curve").for_profile("tiny")
    result = tiny_runs(recipe.name)
    rows = result.rows
    for s in (0.5, 0.9, 0.99):
        got = [r["sparsity"] for r in rows if r["group"] == f"snip{round(s * 100)}"]
        assert len(got) == 2 and all(abs(g - s) < 0.01 for g in got)
    assert (result.run_dir / "plots" / "sparsity.png").is_file()


def test_conv_lottery_recipes_carry_the_papers_rates_and_schedules():
    # the quick subset halves for Conv-4/6: an image costs them about twice Conv-2's time
    for name, conv_rate, lr, images in (("conv2", 0.1, 2e-4, 5000), ("conv4", 0.1, 3e-4, 2500),
                                        ("conv6", 0.15, 3e-4, 2500)):
        recipe = catalogue.experiment(f"{name}_lottery_ticket")
        assert recipe.model.name == name and recipe.train.learning_rate == lr
        assert recipe.for_profile("quick").data.train_limit == images
        tickets = [v for v in recipe.variants if v.group == "tickets"]
        assert len(tickets) == 3 and dict(tickets[0].prune.rates) == {
            "conv": conv_rate, "dense": 0.2, "output": 0.1}
        full = recipe.for_profile("full")
        assert full.data.train_limit == 45_000 and full.train.batch_size == 60
        assert {v.prune.rounds for v in full.variants if v.prune} == {15}


@pytest.mark.parametrize("name", [pytest.param(n, marks=shares(n))
                                  for n in ("lenet5_snip", "lenet_lottery_rates")])
def test_the_other_new_studies_run_at_tiny(name, tiny_runs):
    recipe = catalogue.experiment(name).for_profile("tiny")
    result = tiny_runs(recipe.name)
    pruned = [r for r in result.rows if r["target_sparsity"] > 0]
    assert pruned and all(abs(r["sparsity"] - r["target_sparsity"]) < 0.05 for r in pruned)
