import pytest

from tfcompress.models import MODELS


def test_mnist_cnn_has_the_published_size():
    # tfmot's MNIST guide / the seed study: 3.27 M parameters, 12.5 MB of float32 weights.
    model = MODELS.get("mnist_cnn")((28, 28, 1), 10)
    assert model.count_params() == 3_274_634
    assert model.layers[-1].name == "probs"


@pytest.mark.parametrize("name, shape, options", [
    ("mnist_cnn", (28, 28, 1), {"filters": [4, 8], "dense_units": 32}),
    ("digits_cnn", (8, 8, 1), {"filters": [4, 8], "dense_units": 16}),
    ("resnet", (32, 32, 3), {"depth": 8, "widths": [4, 8, 16]}),
    ("resnet", (32, 32, 3), {"depth": 8, "widths": [4, 8, 16], "preact": True}),
    ("resnet18", (32, 32, 3), {"widths": [4, 8, 8, 16], "blocks": [1, 1, 1, 1]}),
    ("lenet_300_100", (28, 28, 1), {"hidden": [16, 8]}),
    ("lenet5", (28, 28, 1), {"filters": [2, 4], "dense_units": 8}),
])
def test_test_size_builders_output_class_probabilities(name, shape, options):
    import numpy as np

    model = MODELS.get(name)(shape, 10, **options)
    assert model.count_params() < 20_000
    probs = model.predict(np.zeros((2, *shape), "float32"), verbose=0)
    assert probs.shape == (2, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_lenets_have_the_published_size():
    assert MODELS.get("lenet_300_100")((28, 28, 1), 10).count_params() == 266_610
    assert MODELS.get("lenet5")((28, 28, 1), 10).count_params() == 431_080  # Han et al.: 431K


def test_resnet18_is_the_cifar_variant():
    # 3x3 stride-1 stem, no max-pool, 2-2-2-2 basic blocks of 64-128-256-512: 11.17 M
    # parameters in the literature (plus 3 option-B projections' batch norms here)
    from tfcompress.benchmark.macs import count

    model = MODELS.get("resnet18")((32, 32, 3), 10)
    assert model.count_params() == 11_183_562
    assert model.get_layer("stem_conv").strides == (1, 1)
    assert model.get_layer("s4b2_conv2").output.shape[1:] == (4, 4, 512)
    assert not [l for l in model.layers if "MaxPool" in type(l).__name__]
    assert round(count(model)["macs"] / 1e6) == 555


def test_resnet18_refuses_mismatched_stages():
    from tfcompress.errors import InputError

    with pytest.raises(InputError, match="widths and blocks.*widths=\\[4, 8\\], blocks=\\[2\\]"):
        MODELS.get("resnet18")((32, 32, 3), 10, widths=[4, 8], blocks=[2])


def test_resnet_depth_must_be_6n_plus_2():
    from tfcompress.errors import InputError

    with pytest.raises(InputError, match="6n \\+ 2.*received 21"):
        MODELS.get("resnet")((32, 32, 3), 10, depth=21)


def test_resnet_blocks_have_residual_adds_and_projection_shortcuts():
    model = MODELS.get("resnet20")((32, 32, 3), 10)
    adds = [l for l in model.layers if l.name.endswith("_add")]
    projections = [l for l in model.layers if l.name.endswith("_proj")]
    assert len(adds) == 9 and len(projections) == 2  # option B: 1x1 conv at the 2 downsamplings
    assert model.output_shape == (None, 10)
