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


def shares(experiment: str) -> pytest.MarkDecorator:
    """Marks a test that reads the session's tiny run of ``experiment`` (``tiny_runs``): under
    ``pytest -n --dist loadgroup`` (``make test``) the tests of one experiment run on one
    worker, which makes the run once and hands it to the others from memory, instead of a
    second worker waiting on the first one's step locks and benchmarking it again."""
    return pytest.mark.xdist_group(experiment)


def check_tiny_run(recipe, run_dir) -> None:
    """What every experiment's tiny run must show, read from its folder (results.json, the
    report, the files): also called by the tests that run an experiment another way."""
    import json

    import numpy as np

    from tfcompress import litert
    from tfcompress.prune import PRUNE_METHODS

    saved = json.loads((run_dir / "results.json").read_text())
    rows = {r["variant"]: r for r in saved["rows"]}
    tflite = {v: run_dir / "tflite" / f"{v}.tflite" for v in rows}
    names = [v.name for v in recipe.variants]
    assert list(rows)[:len(names)] == names  # each variant, in order (then a sweep's choice)
    base = rows[recipe.baseline]
    classes = litert.LiteModel(tflite[recipe.baseline]).output["shape"][-1]
    report = (run_dir / "report.md").read_text()
    variants = {v["variant"]: v for v in saved["variants"]}
    for v in recipe.variants:
        row = rows[v.name]
        assert f"`{v.name}`" in report, v.name
        # its file loads and runs, one probability per class; its accuracy is a count of
        # the test examples
        model = litert.LiteModel(tflite[v.name])
        probs = model.predict(np.zeros((2, *model.input["shape"][1:]), np.float32))
        assert probs.shape == (2, classes) and np.allclose(probs.sum(-1), 1, atol=0.05)
        n = variants[v.name]["test_examples"]
        assert row["tflite_accuracy"] * n == pytest.approx(round(row["tflite_accuracy"] * n))
        assert row["tflite_gzip_bytes"] < row["tflite_bytes"]
        assert 0 < row["nonzero_params"] <= row["params"]
        method = PRUNE_METHODS.get(v.prune.method) if v.prune is not None else None
        if method is not None and method.structured:
            assert row["params"] < base["params"], v.name  # physically smaller
        elif method is not None and not method.zeros:  # a smaller image: fewer multiply-adds
            assert row["macs"] < base["macs"], v.name
        elif (v.prune is not None and v.prune.target_sparsity > 0
              and v.distill is None and v.cluster is None and v.qat is None):
            # zeros where the dense model had none (the share of all parameters depends on
            # how many sit in layers that are not pruned: batch norms, depthwise kernels)
            assert row["nonzero_params"] < base["nonzero_params"], v.name
        if v.export.mode in ("int8", "int8_sparse"):
            assert row["fully_quantized"], v.name
    assert np.isfinite([r["p50_ms_1t"] for r in rows.values()]).all()
