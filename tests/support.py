"""What tests import (constants and helpers), apart from ``conftest`` so that importing it has
no side effects and works however pytest is invoked (``tests/`` is on ``sys.path``: it has no
``__init__``). Fixtures live in ``conftest.py``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Seconds after which a child process is taken for hung. Only a guard against a hang: no test
#: assumes any speed (CI machines are sometimes loaded), so it is far above any normal run.
HANG = 2400
#: Seconds for a child process that only starts, reads its arguments and refuses them.
QUICK = 600
DATA_DIR = Path(os.environ.get("TFCOMPRESS_DATA_DIR") or REPO.parent / "shared" / "data")


def required(what: str) -> bool:
    """Under CI (``CI`` set, as ``.ci/run`` runs) or with ``TFCOMPRESS_REQUIRE_<WHAT>``, a test
    that lacks ``what`` (``DATA``, ``MEDIAPIPE``) fails instead of skipping: a wrong path in CI
    must not turn into a green run of skipped tests."""
    return bool(os.environ.get(f"TFCOMPRESS_REQUIRE_{what}") or os.environ.get("CI"))


def missing(what: str, why: str) -> None:
    """Fails (when ``what`` is required) or skips, saying ``why``."""
    if required(what):
        pytest.fail(why)
    pytest.skip(why)


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
