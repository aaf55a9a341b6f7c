"""Every registered experiment runs at its tiny profile (Model Garden's habit: a test builds
and runs every registered experiment). One run per experiment for the whole session
(``conftest.tiny_runs``), shared with every other test that reads it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tfcompress import catalogue, litert
from tfcompress.prune import PRUNE_METHODS

#: The experiments whose tiny run ``make test`` makes anyway, for the tests that read it
#: (``test_pipeline``, ``test_phone``, ``test_sweep``, ``test_distill_quant_experiments``,
#: ``test_studies``) or that take under half a minute: their smoke test adds little. Every other
#: experiment's tiny run takes a minute or more (a 14.7 M-parameter VGG, ImageNet MobileNet,
#: the ResNet-56s, the lottery studies' rounds): ``make test-slow``, which CI runs too.
FAST = {"digits_prune_quant", "mnist_prune_quant", "resnet20_prune_quant",
        "resnet20_sparsity_sweep", "mnist_distill", "mnist_kd_prune_quant",
        "mnist_cluster_quant", "lenet_snip_curve", "lenet5_snip", "lenet_lottery_rates",
        "mnist_layer_sensitivity", "mnist_sparsity_sweep"}
#: experiments that need a model file from the user (``--model_path``): run in test_user_model
NEEDS_A_FILE = {"user_model_prune_quant"}


def _params():
    return [pytest.param(n, marks=[] if n in FAST else [pytest.mark.slow])
            for n in catalogue.experiment_names() if n not in NEEDS_A_FILE]


@pytest.mark.real_data
@pytest.mark.parametrize("name", _params())
def test_every_registered_experiment_runs_at_tiny(name, tiny_runs):
    recipe = catalogue.experiment(name).for_profile("tiny")
    result = tiny_runs(name)
    rows = {r["variant"]: r for r in result.rows}
    names = [v.name for v in recipe.variants]
    assert list(rows)[:len(names)] == names  # each variant, in order (then a sweep's choice)
    base = rows[recipe.baseline]
    classes = litert.LiteModel(result.tflite[recipe.baseline]).output["shape"][-1]
    report = (result.run_dir / "report.md").read_text()
    saved = {v["variant"]: v for v in json.loads(
        (result.run_dir / "results.json").read_text())["variants"]}
    for v in recipe.variants:
        row = rows[v.name]
        assert f"`{v.name}`" in report, v.name
        # its file loads and runs, one probability per class; its accuracy is a count of
        # the test examples
        model = litert.LiteModel(result.tflite[v.name])
        probs = model.predict(np.zeros((2, *model.input["shape"][1:]), np.float32))
        assert probs.shape == (2, classes) and np.allclose(probs.sum(-1), 1, atol=0.05)
        n = saved[v.name]["test_examples"]
        assert row["tflite_accuracy"] * n == pytest.approx(round(row["tflite_accuracy"] * n))
        assert row["tflite_gzip_bytes"] < row["tflite_bytes"]
        assert 0 < row["nonzero_params"] <= row["params"]
        if v.prune is not None and PRUNE_METHODS.get(v.prune.method).structured:
            assert row["params"] < base["params"], v.name  # physically smaller
        elif (v.prune is not None and v.prune.target_sparsity > 0
              and v.distill is None and v.cluster is None and v.qat is None):
            # zeros where the dense model had none (the share of all parameters depends on
            # how many sit in layers that are not pruned: batch norms, depthwise kernels)
            assert row["nonzero_params"] < base["nonzero_params"], v.name
        if v.export.mode in ("int8", "int8_sparse"):
            assert row["fully_quantized"], v.name
    assert np.isfinite([r["p50_ms_1t"] for r in rows.values()]).all()
