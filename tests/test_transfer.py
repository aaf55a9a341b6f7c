"""Transfer-learning backbones and the Cats vs Dogs data."""

import numpy as np
import pytest

from tfcompress._keras import keras
from tfcompress.data import load
from tfcompress.errors import InputError
from tfcompress.models import MODELS, imagenet, keras3, transfer
from tfcompress.prune import magnitude
from tfcompress.recipe import DataSpec


def test_mobilenet_head_takes_0_1_pixels_and_is_prunable():
    model = MODELS.get("transfer")((32, 32, 3), 2, backbone="mobilenet", alpha=0.25,
                                   weights=None)
    assert model.get_layer("backbone").input_shape == (None, 32, 32, 3)
    assert model.output_shape == (None, 2)
    assert magnitude.unsupported_layers(model) == []
    x = np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0).sum(axis=1), 1.0, rtol=1e-5)


def test_vgg_preprocessing_inside_the_model_equals_keras_caffe_mode():
    keras.utils.set_random_seed(0)
    ref = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    model = MODELS.get("transfer")((32, 32, 3), 2, backbone="vgg16", weights=None)
    backbone = model.get_layer("backbone")
    backbone.set_weights(ref.get_weights())
    transfer.fold_bgr(backbone)
    x = np.random.default_rng(1).uniform(0, 1, (2, 32, 32, 3)).astype("float32")
    features = keras.Model(model.input, backbone(model.get_layer("imagenet_mean").output))
    expected = ref.predict(keras.applications.vgg16.preprocess_input(x * 255.0), verbose=0)
    np.testing.assert_allclose(features.predict(x, verbose=0), expected, rtol=1e-3, atol=1e-3)


def test_missing_imagenet_weights_name_the_file_and_where_keras_looks(tmp_path, monkeypatch):
    monkeypatch.setattr(imagenet, "keras_cache_dir", lambda: tmp_path)
    with pytest.raises(InputError) as e:
        MODELS.get("transfer")((224, 224, 3), 2, backbone="vgg16", weights="imagenet")
    msg = str(e.value)
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in msg and str(tmp_path) in msg
    with pytest.raises(InputError, match="mobilenet_7_5_224_tf_no_top.h5"):
        MODELS.get("transfer")((224, 224, 3), 2, backbone="mobilenet", alpha=0.75,
                               weights=str(tmp_path / "nope.h5"))
    with pytest.raises(InputError, match="backbone 'resnet50'"):
        MODELS.get("transfer")((32, 32, 3), 2, backbone="resnet50", weights=None)


@pytest.mark.real_data
def test_local_mobilenet_weights_load(data_dir):
    path = data_dir / "mobilenet_7_5_224_tf_no_top.h5"
    model = MODELS.get("transfer")((224, 224, 3), 2, backbone="mobilenet", alpha=0.75,
                                   weights=str(path))
    ref = keras.applications.MobileNet(alpha=0.75, include_top=False, weights=str(path),
                                       input_shape=(224, 224, 3))
    for a, b in zip(model.get_layer("backbone").get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.real_data
def test_cats_vs_dogs_from_the_shared_archive(data_dir):
    d = load(DataSpec("cats_vs_dogs", image_size=(32, 32)), data_dir, offline=True)
    assert d.class_names == ("cats", "dogs") and d.input_shape == (32, 32, 3)
    assert len(d.y_train) + len(d.y_val) == 2000 and len(d.y_test) == 1000
    assert np.bincount(d.y_test).tolist() == [500, 500]


def test_missing_cats_vs_dogs_says_where_to_put_it(tmp_path):
    with pytest.raises(InputError, match="cats_and_dogs_filtered.tar"):
        load(DataSpec("cats_vs_dogs"), tmp_path, offline=True)


def test_a_nested_backbone_is_pruned_to_the_target():
    from tfcompress.recipe import PruneSpec, TrainSpec
    from tfcompress.train import loop

    keras.utils.set_random_seed(0)
    model = MODELS.get("transfer")((32, 32, 3), 2, backbone="mobilenet", alpha=0.25,
                                   weights=None)
    pruned = magnitude.apply(model, PruneSpec(0.5, frequency=1), total_steps=4)
    loop.compile_model(pruned, TrainSpec(epochs=1))
    x = np.random.default_rng(0).uniform(0, 1, (16, 32, 32, 3)).astype("float32")
    pruned.fit(x, np.arange(16) % 2, batch_size=4, epochs=1, verbose=0,
               callbacks=magnitude.callbacks())
    per_layer = magnitude.layer_sparsity(magnitude.strip(pruned))
    assert "conv1" in per_layer and "logits" in per_layer  # backbone and head layers
    assert not any("dw" in name for name in per_layer)  # tfmot keeps depthwise kernels dense
    for name, s in per_layer.items():
        assert abs(s["sparsity"] - 0.5) <= 1.0 / s["params"] + 1e-9, name


def test_backbone_batch_norm_stays_in_inference_mode_when_training():
    keras.utils.set_random_seed(0)
    model = MODELS.get("transfer")((32, 32, 3), 2, backbone="mobilenet", alpha=0.25,
                                   weights=None)
    bn = model.get_layer("backbone").get_layer("conv1_bn")
    before = bn.moving_mean.numpy().copy()
    model.compile("sgd", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).uniform(0, 1, (8, 32, 32, 3)).astype("float32")
    model.fit(x, np.arange(8) % 2, epochs=1, verbose=0)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), before)


@pytest.mark.parametrize("to", [lambda m: m, keras3.to_keras3], ids=["keras2", "keras3"])
def test_a_nested_backbone_is_flattened_and_its_filters_pruned_exactly(to):
    """Structured pruning enters the backbone: the flat model computes what the nested one
    does, its batch norms stay in inference mode when the model trains (the backbone was
    called with training=False), and zeroed channels removed leave the outputs unchanged."""
    from tfcompress.structured import criteria, flatten, graph, rebuild, zoo

    model = to(_tiny_mobilenet())
    flat = flatten.flatten(model)
    assert flatten.nested(model) == ["backbone"] and flatten.nested(flat) == []
    x = np.random.default_rng(0).uniform(0, 1, (8, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(flat.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    a = graph.analyse(flat)
    pruned_inside = {p for g in a.prunable().values() for p in g.producers}
    assert {"conv1", "conv_pw_1", "conv_pw_12"} <= pruned_inside, a.unsupported
    copy = rebuild.rebuild(flat, a, {})
    zoo.randomize(copy)
    keep = criteria.select(criteria.scores(copy, a, "l1", list(a.prunable())), 0.3)
    drop = {g: np.setdiff1d(np.arange(a.groups[g].size), k) for g, k in keep.items()}
    rebuild.zero_channels(copy, a, drop)
    small = rebuild.rebuild(copy, a, keep)
    assert small.count_params() < 0.6 * copy.count_params()
    np.testing.assert_allclose(small.predict(x, verbose=0), copy.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-5)
    bn = small.get_layer("conv1_bn")
    before = bn.moving_mean.numpy().copy()
    small.compile("sgd", "sparse_categorical_crossentropy")
    small.fit(x, np.arange(8) % 2, epochs=1, verbose=0)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), before)


def _tiny_mobilenet():
    keras.utils.set_random_seed(0)
    return MODELS.get("transfer")((32, 32, 3), 2, backbone="mobilenet", alpha=0.25,
                                  weights=None)


def test_freeze_then_unfreeze_top_keeps_lower_layers_and_batch_norm_frozen():
    from tfcompress.train import freeze

    model = freeze.freeze(_tiny_mobilenet(), "backbone")
    assert [w.name.split("/")[0] for w in model.trainable_weights] == ["logits", "logits"]
    freeze.unfreeze(model, "backbone", "conv_dw_12")
    base = model.get_layer("backbone")
    names = [l.name for l in base.layers]
    start = names.index("conv_dw_12")
    for i, layer in enumerate(base.layers):
        want = i >= start and not isinstance(layer, keras.layers.BatchNormalization)
        assert layer.trainable == want or not layer.weights, layer.name
    assert base.get_layer("conv_pw_13").trainable and not base.get_layer("conv_pw_11").trainable
    with pytest.raises(InputError, match="conv_dw_99.*conv_dw_"):
        freeze.unfreeze(model, "backbone", "conv_dw_99")
    with pytest.raises(InputError, match="transfer.backbone layer 'trunk'"):
        freeze.freeze(model, "trunk")


@pytest.mark.real_data
def test_two_phase_training_moves_only_what_each_phase_unfreezes(data_dir, tmp_path):
    from tfcompress import catalogue
    from tfcompress.pipeline import Pipeline, steps
    from tfcompress.recipe import apply_overrides

    recipe = apply_overrides(catalogue.experiment("mobilenet_prune_quant").for_profile("tiny"),
                             {"transfer.unfreeze_from": "conv_dw_13"})
    ctx = Pipeline(recipe, profile="tiny", output_dir=tmp_path, data_dir=data_dir).context
    data = load(recipe.data, data_dir, offline=True)
    # ImageNet weights: a random backbone with frozen batch norm gives ~0 features (no gradient)
    weights = str(data_dir / "mobilenet_7_5_224_tf_no_top.h5")

    def pretrained():
        keras.utils.set_random_seed(0)
        return MODELS.get("transfer")((32, 32, 3), 2, backbone="mobilenet", alpha=0.75,
                                      weights=weights)

    model = pretrained()
    base = model.get_layer("backbone")
    before = {n: base.get_layer(n).get_weights()[0].copy()
              for n in ("conv1", "conv_pw_12", "conv_pw_13")}
    bn_before = base.get_layer("conv_pw_13_bn").moving_mean.numpy().copy()
    head_before = model.get_layer("logits").get_weights()[0].copy()
    history = steps.train_transfer(ctx, model, data, tmp_path / "work")
    assert set(history) == {"head", "finetune"}
    assert (tmp_path / "work" / "head_weights.h5").is_file()
    assert not np.array_equal(model.get_layer("logits").get_weights()[0], head_before)
    np.testing.assert_array_equal(base.get_layer("conv1").get_weights()[0], before["conv1"])
    np.testing.assert_array_equal(base.get_layer("conv_pw_12").get_weights()[0],
                                  before["conv_pw_12"])
    assert not np.array_equal(base.get_layer("conv_pw_13").get_weights()[0],
                              before["conv_pw_13"])
    np.testing.assert_array_equal(base.get_layer("conv_pw_13_bn").moving_mean.numpy(),
                                  bn_before)
    # A repeated (resumed) step loads the head phase's weights instead of training it again.
    again = steps.train_transfer(ctx, pretrained(), data, tmp_path / "work")
    assert set(again) == {"finetune"}


def test_missing_imagenet_weights_are_refused_before_tensorflow_starts(tmp_path):
    """The CLI's and run()'s check of a transfer model's weights (``api.check_files``) needs
    neither Keras nor TensorFlow: a VGG16 without its file is refused in a second."""
    import os
    import subprocess
    import sys

    from support import QUICK, REPO

    code = ("import sys\n"
            "from tfcompress import api, catalogue\n"
            "from tfcompress.errors import InputError\n"
            "recipe = catalogue.experiment('vgg16_prune_quant')\n"
            "try:\n"
            "    api.check_files(recipe, None, True)\n"
            "except InputError as e:\n"
            "    print('refused:', e)\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n")
    env = {**os.environ, "HOME": str(tmp_path), "TFCOMPRESS_DATA_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=QUICK)
    assert proc.returncode == 0, proc.stderr[-2000:]
    refused, imported = proc.stdout.strip().splitlines()[-2:]
    assert refused.startswith("refused: ImageNet weights for vgg16"), proc.stdout
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in refused
    assert str(tmp_path / ".keras" / "models") in refused
    assert imported == "False False"


@pytest.mark.real_data
def test_imagenet_weights_are_found_in_the_data_dir(data_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(imagenet, "keras_cache_dir", lambda: tmp_path)
    found = imagenet.resolve_weights("imagenet", "mobilenet", 0.75, 224, data_dir, True)
    assert found == str(data_dir / "mobilenet_7_5_224_tf_no_top.h5")
    # no 160 px file here: the 224 one serves (no-top weights fit any input size)
    assert imagenet.resolve_weights("imagenet", "mobilenet", 0.75, 160, data_dir, True) == found
    assert imagenet.check({"backbone": "mobilenet", "alpha": 0.75}, (224, 224), data_dir,
                          True) == []
    assert "random weights" in imagenet.check({"weights": None}, None)[0]
    with pytest.raises(InputError, match="mobilenet_5_0_224_tf_no_top.h5"):
        imagenet.check({"backbone": "mobilenet", "alpha": 0.5}, (224, 224), data_dir, True)


def test_a_nested_model_whose_layer_names_clash_is_refused_in_one_line():
    from tfcompress.structured import flatten

    inner_in = keras.Input((8, 8, 3))
    inner = keras.Model(inner_in, keras.layers.Conv2D(4, 3, name="conv")(inner_in), name="inner")
    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 1, name="conv")(inner(inp))
    with pytest.raises(InputError, match=r"share layer names \['conv'\]"):
        flatten.flatten(keras.Model(inp, x))
