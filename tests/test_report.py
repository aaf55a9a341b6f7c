import dataclasses

from tfcompress import catalogue
from tfcompress.recipe import PruneSpec
from tfcompress.report import table, to_csv
from tfcompress.report.variant import FileFacts, SourceFacts, VariantResult


def fake_variant(name, mode, prune, gzip_bytes, p50, acc=0.98):
    lat = {"p50_ms": p50, "p95_ms": p50 * 1.2, "mean_ms": p50, "std_ms": 0.01, "min_ms": p50,
           "p90_ms": p50, "p99_ms": p50 * 1.5, "images_per_s": 1000 / p50, "batch": 1,
           "threads": 1, "runs": 10}
    return VariantResult(**{
        "variant": name, "export_mode": mode, "seed": 0, "group": name, "test_examples": 100,
        "stages": {"prune": None if prune is None else PruneSpec(prune)},
        "stage_summaries": {"prune": None if prune is None else {
            "schedule": "polynomial_decay", "target_sparsity": prune}},
        "stage_labels": [] if prune is None else [f"polynomial_decay {prune:.0%}"],
        "source": SourceFacts(keras_test_accuracy=acc, params=100,
                              nonzero_params=100 if prune is None else 20),
        "tflite": FileFacts(tflite_accuracy=acc, bytes=gzip_bytes * 2, gzip_bytes=gzip_bytes,
                            coverage={"fully_quantized": mode == "int8", "float_ops": []}),
        **VariantResult.measured({  # as the benchmark's cache holds them
            "latency": {"1": lat, "2": {**lat, "threads": 2}},
            "throughput": {"1": {**lat, "batch": 32}, "2": {**lat, "batch": 32, "threads": 2}}}),
    })


def test_sparse_but_not_faster_is_judged_against_the_dense_counterpart():
    recipe = catalogue.experiment("digits_prune_quant")
    variants = [
        fake_variant("float32", "float32", None, 1000, 1.0),
        fake_variant("dynamic", "dynamic", None, 300, 1.0),
        fake_variant("int8", "int8", None, 250, 0.5),
        fake_variant("pruned80_float32", "float32", 0.8, 400, 0.99),
        fake_variant("pruned80_int8", "int8", 0.8, 100, 0.5),   # faster than float32 only
        fake_variant("constant80_int8", "int8", 0.8, 100, 0.3),  # really faster than int8
    ]
    rows = {r["variant"]: r for r in table.rows(recipe, variants)}
    assert rows["float32"]["notes"] == "" and rows["float32"]["gzip_x_smaller"] == 1.0
    assert rows["pruned80_float32"]["notes"].startswith("sparse but not faster")
    assert rows["pruned80_int8"]["reference"] == "int8"
    assert rows["pruned80_int8"]["notes"].startswith("sparse but not faster")
    assert rows["pruned80_int8"]["speedup_p50"] == 2.0  # vs the float32 baseline
    assert rows["constant80_int8"]["notes"] == ""
    assert rows["dynamic"]["notes"].startswith("smaller but not faster")
    assert rows["int8"]["notes"] == ""
    assert rows["pruned80_int8"]["sparsity"] == 0.8
    assert rows["pruned80_int8"]["gzip_x_smaller"] == 10.0


def test_csv_has_one_line_per_row_and_all_columns():
    text = to_csv([{"a": 1, "b": 2}, {"a": 3, "c": "x"}])
    lines = text.strip().splitlines()
    assert lines[0] == "a,b,c" and len(lines) == 3


def test_sparsity_figure_is_drawn_for_a_sweep_and_not_for_one_level(tmp_path):
    from tfcompress.report import plots

    recipe = catalogue.experiment("mobilenet_prune_quant")
    sweep = [fake_variant("float32", "float32", None, 1000, 1.0),
             fake_variant("int8", "int8", None, 250, 0.5)]
    sweep += [fake_variant(f"pruned{p}_int8", "int8", p / 100, 250 - 2 * p, 0.5)
              for p in (50, 60, 70)]
    rows = table.rows(recipe, sweep)
    assert [r["target_sparsity"] for r in rows] == [0.0, 0.0, 0.5, 0.6, 0.7]
    assert plots.sparsity_curves(rows, tmp_path) == ["sparsity.png"]
    assert (tmp_path / "sparsity.png").stat().st_size > 10_000
    two_levels = table.rows(recipe, sweep[:3])
    assert plots.sparsity_curves(two_levels, tmp_path / "none") == []
    assert not (tmp_path / "none").exists()


def test_readme_table_script_prints_one_row_per_variant(digits_run):
    import subprocess
    import sys

    from support import QUICK, REPO

    recipe, _, result = digits_run
    for args in ([], ["--macs"], ["--stages"]):
        proc = subprocess.run([sys.executable, str(REPO / "scripts" / "readme_table.py"), *args,
                               str(result.run_dir / "results.csv")],
                              capture_output=True, text=True, check=True, timeout=QUICK)
        lines = proc.stdout.strip().splitlines()
        assert len(lines) == 2 + len(recipe.variants)
        assert [l.split(" | ")[0] for l in lines[2:]] == [f"| `{v.name}`" for v in recipe.variants]
        assert ("MACs" in lines[0]) == (args == ["--macs"])
        assert ("compression" in lines[0]) == (args == ["--stages"])


def test_a_difference_inside_the_round_to_round_noise_is_reported_as_the_same_speed():
    recipe = catalogue.experiment("digits_prune_quant")
    variants = [fake_variant("float32", "float32", None, 1000, 1.0),
                fake_variant("int8", "int8", None, 250, 1.0),
                fake_variant("pruned80_int8", "int8", 0.8, 100, 0.8)]
    # int8 ran 0.8x of float32 overall, but one round in five it was slower: noise
    for v, rounds in zip(variants, [(1.0, 1.0, 1.0, 1.0, 1.0), (1.0, 1.0, 1.0, 1.0, 1.0),
                                    (0.7, 0.8, 1.3, 0.8, 0.8)]):
        v.latency[1] = dataclasses.replace(v.latency[1], round_p50_ms=rounds)
    rows = {r["variant"]: r for r in table.rows(recipe, variants)}
    assert rows["pruned80_int8"]["speed_vs_baseline"] == "same"
    assert table.speedup_cell(rows["pruned80_int8"]) == "same"
    assert "same speed within noise" in rows["pruned80_int8"]["notes"]
    assert table.speedup_cell(rows["float32"]) == "1.00x"


def _row(variant, acc, gzip, p50, keras=None):
    """What ``ship`` reads of a row (``report.row.Row``)."""
    from types import SimpleNamespace

    return SimpleNamespace(variant=variant, tflite_accuracy=acc, tflite_gzip_bytes=gzip,
                           timing={1: SimpleNamespace(p50_ms=p50)}, keras_accuracy=keras)


def test_ship_picks_the_smallest_file_within_the_budget_and_warns_near_chance():
    from tfcompress.report import ship

    rows = [_row("float32", 0.900, 1000, 1.0, keras=0.9), _row("int8", 0.895, 300, 0.5),
            _row("pruned90_int8", 0.850, 100, 0.5), _row("pruned50_int8", 0.893, 300, 0.4)]
    assert ship.choose(rows, "float32", 1.0).variant == "pruned50_int8"  # tie: faster
    assert ship.choose(rows, "float32", 5.0).variant == "pruned90_int8"
    assert ship.choose(rows, "float32", 0.0).variant == "float32"
    assert ship.near_chance(rows, "float32", 10) is None
    chance = [_row("float32", 0.5, 1000, 1.0, keras=0.5)]
    assert "chance is 50.0%" in ship.near_chance(chance, "float32", 2)
    assert ship.near_chance([_row("float32", 0.56, 1000, 1.0, keras=0.56)], "float32", 2) is None


def test_a_row_is_typed_and_its_columns_are_the_csv_line():
    """The report reads attributes; ``columns()`` is the row's line of results.csv (fixed
    order: what the variant is, accuracy, size, then per thread count the latency, then the
    comparisons and the notes), and the row reads as a mapping of those columns."""
    from tfcompress.report.row import Row

    recipe = catalogue.experiment("digits_prune_quant")
    rows = table.rows(recipe, [fake_variant("float32", "float32", None, 1000, 1.0),
                               fake_variant("int8", "int8", None, 250, 0.5)])
    r = rows[1]
    assert isinstance(r, Row) and r.variant == "int8" and r.threads == [1, 2]
    assert r.timing[2].p95_ms == r["p95_ms_2t"] == 0.6 and r.p50_ms() == 0.5
    assert r.gzip_x_smaller == r["gzip_x_smaller"] == 4.0 and r.reference == "float32"
    cols = r.columns()
    assert list(cols)[:3] == ["variant", "export_mode", "pruning"] and list(cols)[-1] == "notes"
    assert list(cols).index("p50_ms_1t") < list(cols).index("p50_ms_2t") < list(cols).index(
        "speedup_p50")
    assert "target_speedup" not in cols and "peak_rss_kib" not in cols  # not measured here
    assert dict(r) == cols and len(r) == len(cols)
    assert to_csv([x.columns() for x in rows]).splitlines()[0] == ",".join(cols)
    assert r.target_speedup is None and r.batches == {}


def test_bar_charts_draw_honest_latency_the_baseline_chance_and_the_file_to_ship(
        tmp_path, monkeypatch):
    from tfcompress import atomic
    from tfcompress.report import plots

    figures = {}

    def keep(path, save):  # the figure behind each file, to read what was drawn
        figures[path.name] = save.func.__self__
        save(str(path))

    monkeypatch.setattr(atomic, "write_with", keep)
    recipe = catalogue.experiment("digits_prune_quant")
    rows = table.rows(recipe, [fake_variant("float32", "float32", None, 1000, 0.004, acc=0.97),
                               fake_variant("int8", "int8", None, 250, 0.003, acc=0.965)])
    written = plots.bar_charts(rows, tmp_path, "float32", 10, ship="int8")
    assert written == ["accuracy.png", "gzip_size.png", "latency_p95.png"]
    for name, fig in figures.items():
        ax = fig.axes[0]
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert "to ship: int8" in labels, name
        assert ax.get_ylim()[0] >= 0, name
    acc = figures["accuracy.png"].axes[0]
    lines = {round(line.get_ydata()[0], 3) for line in acc.get_lines()}
    assert {97.0, 10.0} <= lines  # the baseline and chance, drawn
    assert acc.get_ylim()[0] <= 10.0  # chance is on the axis: a half-point gap looks its size
    lat = figures["latency_p95.png"].axes[0]
    caps = [c for c in lat.containers if hasattr(c, "has_yerr") and c.has_yerr]
    segments = caps[0].lines[2][0].get_segments()
    # whiskers from each p50 up to its p95 (p95 = 1.2 x p50 here): nothing below the bar
    assert [tuple(round(y, 6) for y in s[:, 1]) for s in segments] == [(0.004, 0.0048),
                                                                         (0.003, 0.0036)]
    texts = [t.get_text() for t in lat.texts]
    assert texts == ["0.004", "0.003"]  # three significant digits at most


def test_the_reports_command_line_is_one_a_user_can_run_again(monkeypatch):
    import sys

    from tfcompress.pipeline import provenance

    monkeypatch.setattr(sys, "argv", ["/repo/tfcompress/run.py", "--experiment=x",
                                      "--override=name=my run"])
    assert provenance.command() == "tfcompress --experiment=x '--override=name=my run'"
    monkeypatch.setattr(sys, "argv", ["/repo/.venv/bin/tfcompress", "--profile=tiny"])
    assert provenance.command() == "tfcompress --profile=tiny"
    monkeypatch.setattr(sys, "argv", ["notebook.py", "out"])
    assert provenance.command() == "notebook.py out (through the Python API)"


def test_a_variant_reads_its_timings_as_records_and_writes_them_back_as_the_cache_holds_them():
    """``VariantResult``: typed ``Latency`` and ``Memory`` by number, read by attribute; its
    ``to_dict`` (``results.json``) is the benchmark's plain data again, keys as strings."""
    from tfcompress.benchmark.latency import Latency
    from tfcompress.report.variant import Memory

    v = fake_variant("int8", "int8", None, 250, 0.5)
    assert isinstance(v.latency[1], Latency) and v.latency[2].threads == 2
    assert v.throughput[1].batch == 32 and v.throughput[1].images_per_s == 32 / (0.5 / 1e3)
    v.memory = Memory.of({"peak_rss_kib": 812, "rss_before_kib": 90000, "threads": 1})
    plain = v.to_dict()
    assert set(plain["latency"]) == {"1", "2"} and plain["latency"]["1"]["p50_ms"] == 0.5
    assert plain["latency"]["1"]["images_per_s"] == 2000.0 and plain["prune"] is None
    assert plain["memory"] == {"peak_rss_kib": 812, "rss_before_kib": 90000, "threads": 1}
    again = VariantResult.measured(plain)  # the round trip is exact
    assert again["latency"] == v.latency and again["throughput"] == v.throughput
    assert again["memory"] == v.memory and again["batches"] is None
    rows = table.rows(catalogue.experiment("digits_prune_quant"),
                      [fake_variant("float32", "float32", None, 1000, 1.0), v])
    assert rows[1]["peak_rss_kib"] == 812 and rows[1]["speedup_p50"] == 2.0


def test_tradeoff_scatters_zoom_to_the_accuracies_and_no_name_covers_another(
        tmp_path, monkeypatch):
    """Five files within a point of accuracy and a few KiB of each other (as the demo's are):
    the axis spans their accuracies (a point either side at least), and every name is
    readable."""
    from tfcompress import atomic
    from tfcompress.report import plots

    figures = {}

    def keep(path, save):
        figures[path.name] = save.func.__self__
        save(str(path))

    monkeypatch.setattr(atomic, "write_with", keep)
    recipe = catalogue.experiment("digits_prune_quant")
    variants = [fake_variant("float32", "float32", None, 260_000, 0.010, acc=0.9805),
                fake_variant("dynamic", "dynamic", None, 72_200, 0.004, acc=0.9805),
                fake_variant("int8", "int8", None, 72_400, 0.004, acc=0.9805),
                fake_variant("pruned80_int8", "int8", 0.8, 27_800, 0.004, acc=0.9749),
                fake_variant("constant80_int8", "int8", 0.8, 28_500, 0.004, acc=0.9749)]
    written = plots.tradeoffs(table.rows(recipe, variants), tmp_path, ship="pruned80_int8")
    assert written == ["accuracy_vs_latency.png", "accuracy_vs_size.png"]
    for name, fig in figures.items():
        ax = fig.axes[0]
        low, high = ax.get_ylim()
        assert 96.0 <= low <= 96.49 and 99.05 <= high <= 100.0, (name, low, high)
        fig.canvas.draw()
        boxes = [t.get_window_extent() for t in ax.texts]
        assert sorted(t.get_text() for t in ax.texts) == sorted(v.variant for v in variants)
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert not a.overlaps(b), (name, a, b)
