import csv
import json

import numpy as np
import pytest

from tfcompress import litert, catalogue
from tfcompress.pipeline import Pipeline
from support import shares


def test_run_writes_the_report_and_valid_tflite_files(digits_run):
    recipe, out, result = digits_run
    run_dir = out / "digits_prune_quant" / "tiny"
    assert result.run_dir == run_dir
    for name in ("report.md", "results.json", "results.csv", "run.json",
                 "plots/accuracy.png", "plots/gzip_size.png", "plots/latency_p95.png",
                 "plots/schedule.png"):
        assert (run_dir / name).is_file(), name
    rows = list(csv.DictReader((run_dir / "results.csv").open()))
    assert [r["variant"] for r in rows] == [v.name for v in recipe.variants]
    report = (run_dir / "report.md").read_text()
    for v in recipe.variants:
        assert f"`{v.name}`" in report
    int8 = litert.LiteModel(run_dir / "tflite" / "pruned80_int8.tflite")
    assert int8.input_dtype == np.uint8 and int8.output_dtype == np.uint8  # pixels, as apps
    assert int8.input["quantization"] == (1.0, 0)
    info = json.loads((run_dir / "run.json").read_text())
    assert info["profile"] == "tiny" and info["versions"]["tensorflow"].startswith("2.21")
    assert info["machine"]["cores"] >= 1 and info["seed"] == recipe.seed
    assert (run_dir / "tensorboard" / "baseline").resolve().is_dir()
    # the schedules drawn are the ones the fine-tuning ran: each ends at its target
    curves = {c["label"]: c for c in info["schedules"]}
    assert set(curves) == {"polynomial_decay 80%", "constant 80%"}
    assert curves["polynomial_decay 80%"]["sparsity"][-1] == pytest.approx(0.8)
    assert len(curves["polynomial_decay 80%"]["step"]) > 3


def test_every_variant_is_measured_and_compared(digits_run):
    recipe, _, result = digits_run
    from tfcompress.data import load

    by_name = {r["variant"]: r for r in result.rows}
    test_examples = len(load(recipe.data).y_test)
    for r in result.rows:
        for t in recipe.benchmark.threads:
            assert r[f"p50_ms_{t}t"] > 0 and r[f"p99_ms_{t}t"] >= r[f"p50_ms_{t}t"]
            assert r[f"images_per_s_{t}t"] > 0
        n = test_examples  # an accuracy is a count of correct test examples over all of them
        assert r["test_errors"] == round((1 - r["tflite_accuracy"]) * n)
        assert r["tflite_accuracy"] * n == pytest.approx(round(r["tflite_accuracy"] * n))
    # ratios are the reference's figure over the variant's (the baseline's own is 1 by
    # definition, so check them on the others)
    base = by_name["float32"]
    for name in ("int8", "pruned80_int8", "dynamic"):
        r = by_name[name]
        assert r["gzip_x_smaller"] == pytest.approx(
            base["tflite_gzip_bytes"] / r["tflite_gzip_bytes"], rel=0.01)
        assert r["speedup_p50"] == pytest.approx(base["p50_ms_1t"] / r["p50_ms_1t"], rel=0.01)
    assert by_name["int8"]["fully_quantized"] and not by_name["float32"]["fully_quantized"]
    assert by_name["pruned80_int8"]["sparsity"] > 0.7
    assert by_name["pruned80_int8"]["tflite_gzip_bytes"] < by_name["int8"]["tflite_gzip_bytes"]
    # float32 TFLite of the same Keras model: same accuracy (tolerance: one example)
    for name in ("float32", "pruned80_float32"):
        r = by_name[name]
        assert abs(r["tflite_accuracy"] - r["keras_accuracy"]) <= 1 / 200 + 1e-9


def test_a_second_run_reuses_every_cached_step(digits_run, cached_out, monkeypatch, caplog):
    from tfcompress.pipeline import plan

    caplog.set_level("INFO", logger="tfcompress")
    recipe, _, first = digits_run  # its steps are in the cache cached_out shares
    first_steps = json.loads((first.run_dir / "run.json").read_text())["steps"]

    def no_training(*args, **kwargs):
        raise AssertionError("the cached baseline was retrained")

    monkeypatch.setattr("tfcompress.train.loop.fit", no_training)
    result = Pipeline(recipe, profile="tiny", output_dir=cached_out).run()
    made = [(s.kind, s.name) for s in result.steps if s.kind != "benchmark"]
    assert len(made) == 1 + 2 + len(recipe.variants)  # baseline, two prunes, every export
    # the same files on the same machine: the benchmark's timing is reused too
    assert all(s.cached for s in result.steps), made
    assert [s.kind for s in result.steps].count("benchmark") == 1
    # the progress counts the steps the plan foresaw
    assert plan.step_kinds(recipe) == [s.kind for s in result.steps]
    said = [r.getMessage() for r in caplog.records if "/cache/" in r.getMessage()]
    n = len(result.steps)
    assert [m.rsplit("(", 1)[1] for m in said] == [f"step {i} of {n})" for i in range(1, n + 1)]
    assert sorted(made) == sorted((s["kind"], s["name"]) for s in first_steps
                                  if s["kind"] != "benchmark")
    assert result.rows == first.rows  # the same timings, read back
    report = (result.run_dir / "report.md").read_text()
    assert "by an earlier run of the same files on this machine (reused" in report


def test_progress_estimates_what_is_left_from_the_steps_made():
    from tfcompress.pipeline.runner import Progress

    p = Progress()
    p.expect(["train", "prune", "prune", "export", "export"])
    assert p.begin("train") == "step 1 of 5" and p.left() is None  # nothing made yet
    said = p.end("train", 10.0)
    # a training step says nothing of what pruning or an export costs: counted, not timed
    assert p.left() == (None, ["prune", "prune", "export", "export"])
    assert said.endswith("; 4 steps left, not timed yet (export, prune)"), said
    p.begin("prune")
    said = p.end("prune", 30.0)
    assert p.left() == (pytest.approx(30.0), ["export", "export"])  # the other prune at 30 s
    assert said.endswith(", about 0:30 left, plus 2 steps not timed yet (export)")
    p.begin("prune")
    p.end("prune", None)  # cached: costs nothing, teaches nothing
    assert p.left() == (None, ["export", "export"])
    p.begin("export")
    said = p.end("export", 4.0)
    assert p.left() == (pytest.approx(4.0), []) and said.endswith(", about 0:04 left"), said
    for _ in range(2):  # a step the plan did not foresee: the total grows
        p.begin("export")
    assert p.seen[-1] == "export" and p.begin("export") == "step 7 of 7"
    assert p.left() is None


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path, monkeypatch):
    import dataclasses

    import tfcompress.quantize.tflite as tflite

    full = catalogue.experiment("digits_prune_quant").for_profile("tiny")
    # three files, one pruned: interrupted while converting the third
    recipe = dataclasses.replace(full, variants=tuple(
        v for v in full.variants if v.name in ("float32", "int8", "pruned80_int8")))

    real_convert, calls = tflite.convert, []

    def convert_then_interrupt(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_convert(*args, **kwargs)

    monkeypatch.setattr(tflite, "convert", convert_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        Pipeline(recipe, profile="tiny", output_dir=tmp_path).run()
    assert not (tmp_path / "digits_prune_quant" / "tiny").exists(), "half-written report"

    monkeypatch.setattr(tflite, "convert", real_convert)
    result = Pipeline(recipe, profile="tiny", output_dir=tmp_path).run()
    steps = [(s.kind, s.cached) for s in result.steps]
    assert ("train", True) in steps and ("prune", True) in steps
    exports = [cached for kind, cached in steps if kind == "export"]
    assert exports[:2] == [True, True] and not any(exports[2:])
    assert (result.run_dir / "report.md").is_file()
    assert not list((tmp_path / "cache").glob(".*.partial")), "stale work folders left"


def test_a_changed_recipe_retrains_only_what_depends_on_it(digits_run, cached_out):
    recipe, _, _ = digits_run
    from tfcompress.recipe import apply_overrides

    changed = apply_overrides(recipe, ["variants.int8.export.calibration_samples=8"])
    result = Pipeline(changed, profile="tiny", output_dir=cached_out).run()
    fresh = [(s.kind, s.name) for s in result.steps if not s.cached and s.kind != "benchmark"]
    assert fresh == [("export", "int8")]


@pytest.mark.real_data
@shares("mnist_prune_quant")
def test_mnist_tiny_smoke(tiny_runs):
    result = tiny_runs("mnist_prune_quant")
    rows = {r["variant"]: r for r in result.rows}
    assert rows["pruned80_int8"]["fully_quantized"]
    assert rows["pruned80_int8"]["gzip_x_smaller"] > 2


@pytest.mark.slow
@pytest.mark.real_data
@shares("resnet56_prune_quant")
def test_resnet_tiny_smoke(tiny_runs):
    recipe = catalogue.experiment("resnet56_prune_quant").for_profile("tiny")
    result = tiny_runs(recipe.name)
    rows = {r["variant"]: r for r in result.rows}
    assert set(rows) == {v.name for v in recipe.variants}
    assert rows["pruned90_int8"]["fully_quantized"]
    # unstructured sparsity leaves the dense MACs and removes effective ones
    assert rows["pruned90_int8"]["macs"] == rows["int8"]["macs"]
    assert rows["pruned90_int8"]["effective_macs"] < 0.2 * rows["int8"]["effective_macs"]
    assert "effective MACs" in (result.run_dir / "report.md").read_text()


def test_the_preflight_reports_every_problem_in_one_line(tmp_path):
    """What is wrong with several variants is said together (variants with the same
    problem named together), before any training, not one problem per run."""
    from tfcompress.errors import InputError
    from tfcompress.recipe import ExportSpec, PruneSpec, Variant, derive

    base = catalogue.experiment("digits_prune_quant")
    recipe = derive(base, "preflight_all", "three bad variants", variants=(
        Variant("float32", ExportSpec("float32")),
        Variant("a", ExportSpec("int8"), PruneSpec(0.8, frequency=1000)),
        Variant("b", ExportSpec("float32"), PruneSpec(0.8, frequency=1000)),
        Variant("c", ExportSpec("int8"), PruneSpec(0.8, frequency=500))))
    with pytest.raises(InputError) as e:
        Pipeline(recipe, profile="quick", output_dir=tmp_path).run()
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("2 problems, found before any training: (1) ")
    assert "variants a, b: prune.frequency=1000" in msg and "(2) variant c: prune.frequency=500" \
        in msg
    assert not list(tmp_path.glob("cache/*"))  # nothing trained


def test_preflight_warnings_are_said_only_when_the_run_goes_on(tmp_path, caplog):
    from tfcompress.data import load
    from tfcompress.errors import InputError
    from tfcompress.pipeline import preflight
    from tfcompress.recipe import ExportSpec, PruneSpec, Variant, derive

    caplog.set_level("WARNING", logger="tfcompress")
    base = catalogue.experiment("digits_prune_quant")
    ctx = Pipeline(base, profile="quick", output_dir=tmp_path).context
    window = round(0.75 * (ctx.finetune_steps(load(ctx.recipe.data)) - 1))
    thin = Variant("thin", ExportSpec("float32"), PruneSpec(0.8, frequency=window // 2))
    bad = Variant("bad", ExportSpec("float32"), PruneSpec(0.8, frequency=10 * window))
    for variants, refused in (((thin, bad), True), ((thin,), False)):
        recipe = derive(base, "held", "held warnings",
                        variants=(Variant("float32", ExportSpec("float32")), *variants))
        pipeline = Pipeline(recipe, profile="quick", output_dir=tmp_path)
        ctx = pipeline.context
        data = load(ctx.recipe.data)
        caplog.clear()
        if refused:
            with pytest.raises(InputError, match="variant bad"):
                preflight.variants(ctx, data)
            assert not ctx.warnings and "hardly gradual" not in caplog.text
        else:
            preflight.variants(ctx, data)
            assert len(ctx.warnings) == 1 and "variant thin" in ctx.warnings[0]
            assert "hardly gradual" in caplog.text
