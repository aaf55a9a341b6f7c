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
])
def test_test_size_builders_output_class_probabilities(name, shape, options):
    import numpy as np

    model = MODELS.get(name)(shape, 10, **options)
    assert model.count_params() < 20_000
    probs = model.predict(np.zeros((2, *shape), "float32"), verbose=0)
    assert probs.shape == (2, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
