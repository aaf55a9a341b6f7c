"""Shared fixtures. Tests never download: TFCOMPRESS_OFFLINE=1 for this process and children."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ["TFCOMPRESS_OFFLINE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Decoded datasets and unpacked archives go to a cache private to this test session (shared
# with the CLI subprocesses), so the tests exercise the decoding and never touch ~/.cache.
os.environ["TFCOMPRESS_CACHE_DIR"] = tempfile.mkdtemp(prefix="tfcompress-test-cache-")

REPO = Path(__file__).resolve().parents[1]
#: Seconds after which a child process is taken for hung. Only a guard against a hang: no test
#: assumes any speed (CI machines are sometimes loaded), so it is far above any normal run.
HANG = 2400
DATA_DIR = Path(os.environ.get("TFCOMPRESS_DATA_DIR") or REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The local datasets (../shared/data in CI); tests that need them skip, loudly, without."""
    if not (DATA_DIR / "mnist.npz").is_file():
        pytest.skip(f"real data not found in {DATA_DIR}; set TFCOMPRESS_DATA_DIR")
    return DATA_DIR


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory):
    """The tiny digits experiment, run once for the whole session."""
    from tfcompress import registry
    from tfcompress.pipeline import Pipeline

    out = tmp_path_factory.mktemp("saved_models")
    recipe = registry.experiment("digits_prune_quant").for_profile("tiny")
    result = Pipeline(recipe, profile="tiny", output_dir=out).run()
    return recipe, out, result


def trained_digits_cnn(filters, dense_units, epochs, test_limit=300):
    """A small digits CNN trained for ``epochs`` on 400 images, and its data."""
    from tfcompress._keras import keras
    from tfcompress.data import load
    from tfcompress.models import MODELS
    from tfcompress.recipe import DataSpec, TrainSpec
    from tfcompress.train import loop

    data = load(DataSpec("digits", train_limit=400, test_limit=test_limit))
    keras.utils.set_random_seed(0)
    model = MODELS.get("digits_cnn")(data.input_shape, 10, filters=filters,
                                     dense_units=dense_units)
    loop.compile_model(model, TrainSpec(epochs=1))
    model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=32, verbose=0)
    return model, data
