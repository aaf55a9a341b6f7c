"""Every distillation / quantization experiment at its tiny profile, and what its rows must
show: students of the right size, the teacher shared, stages recorded, PQAT / clustering
invariants in the files themselves."""

from __future__ import annotations

import json

import pytest

from support import shares
from tfcompress import catalogue

pytestmark = pytest.mark.real_data


def _run(name, tiny_runs):
    """The session's tiny run of ``name`` (``conftest.tiny_runs``), its steps read back."""
    recipe = catalogue.experiment(name).for_profile("tiny")
    result = tiny_runs(name)
    steps = json.loads((result.run_dir / "run.json").read_text())["steps"]
    return recipe, result, steps, {r["variant"]: r for r in result.rows}


@shares("mnist_distill")
def test_mnist_distill_tiny(tiny_runs):
    recipe, result, steps, rows = _run("mnist_distill", tiny_runs)
    assert set(rows) == {v.name for v in recipe.variants}
    # one teacher for every seed; each student trained once per seed and temperature
    trained = [s for s in steps if s["kind"] == "train"]
    assert len(trained) == 1
    distilled = [s for s in steps if s["kind"] == "distill"]
    assert len(distilled) == len(recipe.variants) - 1
    params = {r["params"] for n, r in rows.items() if n != "float32"}
    assert len(params) == 1 and params.pop() < rows["float32"]["params"]
    report = (result.run_dir / "report.md").read_text()
    assert "## Across seeds" in report and "`kd_T4`" in report and "`scratch`" in report
    saved = json.loads((result.run_dir / "results.json").read_text())
    assert saved["variants"][1]["distill"]["alpha"] == 0.0


@shares("mnist_kd_prune_quant")
def test_mnist_kd_prune_quant_tiny(tiny_runs):
    recipe, result, steps, rows = _run("mnist_kd_prune_quant", tiny_runs)
    kd = rows["kd_pruned80_int8"]
    assert kd["compression"].startswith("KD mnist_cnn T=4") and "80%" in kd["compression"]
    assert kd["fully_quantized"] and kd["params"] < rows["float32"]["params"]
    assert kd["gzip_x_smaller"] > rows["kd_int8"]["gzip_x_smaller"]
    # PQAT keeps the pruned student's zeros in the file (to 0.1%)
    assert abs(rows["kd_pruned80_pqat_int8"]["file_weight_sparsity"]
               - kd["file_weight_sparsity"]) <= 0.001
    # the pruned student is the distilled one, not the teacher pruned
    assert rows["kd_pruned80_int8"]["params"] == rows["kd_int8"]["params"]


@pytest.mark.slow  # a minute or more of a whole tiny experiment: make test-slow
@shares("mnist_qat_vs_ptq")
def test_mnist_qat_vs_ptq_tiny(tiny_runs):
    _, result, steps, rows = _run("mnist_qat_vs_ptq", tiny_runs)
    assert rows["int8_int8_io"]["fully_quantized"]
    assert rows["qat_int8"]["fully_quantized"] and rows["int8_per_tensor"]["fully_quantized"]
    assert rows["float32"]["float_ops"] and not rows["int16x8"]["float_ops"]
    saved = json.loads((result.run_dir / "results.json").read_text())
    io = {v["variant"]: v["tflite"]["coverage"]["input_dtype"] for v in saved["variants"]}
    assert io["int8"] == "uint8" and io["int8_int8_io"] == "int8" and io["int16x8"] == "int16"
    stored = {v["variant"]: {t["dtype"] for t in v["tflite"]["weights"]}
              for v in saved["variants"]}
    # (on a model this small float16's DEQUANTIZE ops outweigh the halved weights)
    assert stored["float16"] == {"float16"} and stored["float32"] == {"float32"}
    assert "## Compression stages" in (result.run_dir / "report.md").read_text()


@shares("mnist_cluster_quant")
def test_mnist_cluster_quant_tiny(tiny_runs):
    _, result, steps, rows = _run("mnist_cluster_quant", tiny_runs)
    for name in ("cluster16_float32", "cluster16_int8", "cluster16_cqat_int8",
                 "pruned50_cluster16_int8", "pruned50_cluster16_pcqat_int8"):
        assert rows[name]["file_unique_per_channel_max"] <= 16, name
    assert rows["cluster16_float32"]["tflite_gzip_bytes"] < rows["float32"]["tflite_gzip_bytes"]
    assert rows["cluster16_int8"]["tflite_gzip_bytes"] < rows["int8"]["tflite_gzip_bytes"]
    sparse = rows["pruned50_cluster16_int8"]["file_weight_sparsity"]
    assert sparse > 0.45
    assert abs(rows["pruned50_cluster16_pcqat_int8"]["file_weight_sparsity"] - sparse) <= 0.001


@pytest.mark.slow
@pytest.mark.parametrize("name", [pytest.param(n, marks=shares(n)) for n in
                                  ("resnet56_to_resnet20_distill", "resnet56_combined")])
def test_resnet_distill_tiny(name, tiny_runs):
    recipe, result, steps, rows = _run(name, tiny_runs)
    assert set(rows) == {v.name for v in recipe.variants}
    kd = [r for n, r in rows.items() if n.startswith(("resnet20_kd", "kd_"))]
    assert kd and all(r["params"] < rows["float32"]["params"] for r in kd)
    if name == "resnet56_combined":
        both = rows["kd_filters50_int8"]
        assert both["macs"] < rows["kd_resnet20_float32"]["macs"] < rows["float32"]["macs"]
        assert both["fully_quantized"]
