import gzip

import numpy as np
import pytest

from tfcompress.benchmark import latency, size
from tfcompress.recipe import BenchmarkSpec, ExportSpec


def test_summarize_percentiles_on_known_times():
    times_ns = np.arange(1, 101) * 1_000_000  # 1 .. 100 ms
    s = latency.summarize(times_ns, threads=1, batch=4)
    assert s.runs == 100 and s.min_ms == 1.0
    assert s.p50_ms == pytest.approx(50.5) and s.p99_ms == pytest.approx(99.01)
    assert s.p50_ms <= s.p90_ms <= s.p95_ms <= s.p99_ms
    assert s.mean_ms == pytest.approx(50.5)
    assert s.images_per_s == pytest.approx(4 / 0.0505)


@pytest.fixture(scope="module")
def tiny_tflite():
    from tfcompress.models import MODELS
    from tfcompress.quantize import tflite

    model = MODELS.get("digits_cnn")((8, 8, 1), 10, filters=[2, 2], dense_units=8)
    return tflite.convert(model, ExportSpec("float32"))


def test_measure_honours_min_runs_and_batch(tiny_tflite):
    x = np.zeros((3, 8, 8, 1), np.float32)
    spec = BenchmarkSpec(threads=(1,), warmup_runs=2, min_runs=17, min_seconds=0.0)
    s = latency.measure(tiny_tflite, x, spec, threads=1, batch=8)  # more than len(x)
    assert s.runs == 17 and s.batch == 8 and s.threads == 1
    assert 0 < s.min_ms <= s.p50_ms


def test_measure_runs_for_at_least_min_seconds(tiny_tflite):
    import time

    spec = BenchmarkSpec(threads=(1,), warmup_runs=0, min_runs=1, min_seconds=0.2)
    t0 = time.perf_counter()
    s = latency.measure(tiny_tflite, np.zeros((1, 8, 8, 1), np.float32), spec, threads=1)
    assert time.perf_counter() - t0 >= 0.2 and s.runs > 1


def test_file_sizes_and_weight_counts():
    data = bytes(1000) + b"abc"
    sizes = size.file_sizes(data)
    assert sizes["bytes"] == 1003
    assert sizes["gzip_bytes"] == len(gzip.compress(data, compresslevel=9, mtime=0)) < 100

    class Fake:
        def get_weights(self):
            return [np.array([[0.0, 1.0], [2.0, 0.0]]), np.array([0.0, 3.0])]

    assert size.count_weights(Fake()) == {"params": 6, "nonzero_params": 3}


def test_native_crosscheck_measures_the_same_file(tiny_tflite, tmp_path):
    from tfcompress.benchmark import native

    path = tmp_path / "m.tflite"
    path.write_bytes(tiny_tflite)
    (row,) = native.crosscheck([path], threads=1, runs=20)
    assert row["ours_p50_ms"] > 0 and row["native_median_ms"] >= 0
    assert row["file"] == str(path)


def test_interleaved_timing_keeps_every_rounds_median(tiny_tflite):
    x = np.zeros((3, 8, 8, 1), np.float32)
    spec = BenchmarkSpec(threads=(1,), warmup_runs=1, min_runs=12, min_seconds=0.0, rounds=4)
    out = latency.measure_all({"a": tiny_tflite, "b": tiny_tflite}, x, spec, threads=1)
    assert set(out) == {"a", "b"}
    for lat in out.values():
        assert lat.runs == 12 and len(lat.round_p50_ms) == 4
        assert min(lat.round_p50_ms) <= lat.p50_ms * 10  # the same unit (ms)


@pytest.mark.parametrize("rounds, reference, expected", [
    ([1.0, 1.2, 0.9, 1.1, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0], "same"),  # noise both ways
    ([0.97, 0.98, 0.96, 0.97, 0.98], [1.0] * 5, "same"),  # consistent, but under 5%
    ([0.5, 0.52, 0.49, 0.51, 0.5], [1.0] * 5, "faster"),
    ([0.5, 0.52, 0.49, 0.51, 0.5], [0.4, 1.0, 1.0, 1.0, 1.0], "same"),  # one round disagrees
    ([2.0, 1.6, 2.4, 2.0, 2.0], [1.0] * 5, "slower"),
    ([0.8, 0.6, 1.0, 0.7, 0.85], [1.0] * 5, "same"),  # one round shows no gain at all
])
def test_a_difference_is_claimed_only_beyond_the_noise(rounds, reference, expected):
    from tfcompress.benchmark import verdict

    s = verdict.compare(rounds, reference)
    assert s.verdict == expected, s
    assert (s.label().startswith("same speed within noise")) == (expected == "same")


def test_load_that_moves_between_rounds_cancels_in_the_ratio():
    """Both files slowed alike in round 2 (another process ran): still clearly 2x."""
    from tfcompress.benchmark import verdict

    s = verdict.compare([0.5, 1.5, 0.5, 0.5, 0.5], [1.0, 3.0, 1.0, 1.0, 1.0])
    assert s.verdict == "faster" and abs(s.speedup - 2.0) < 1e-9
    assert verdict.disturbed({"m": {"threads": 1, "round_p50_ms": [1.0, 3.0, 1.0]}}) == \
        ["m (1t: 3.00x)"]
    assert verdict.disturbed({"m": {"threads": 1, "round_p50_ms": [1.0, 1.1, 1.0]}}) == []


def test_load_on_one_file_in_some_rounds_is_not_a_difference():
    """Measured: two copies of one file, three loaders on two cores; the copy timed first in
    the round caught the bursts three times in five."""
    from tfcompress.benchmark import verdict

    s = verdict.compare([2.25, 1.01, 1.01, 2.52, 2.52], [1.0] * 5)
    assert s.verdict == "same"


def test_a_disturbed_second_thread_count_is_flagged_too(tmp_path, monkeypatch):
    """Each thread count is checked: one that is quiet does not hide a busy one."""
    from types import SimpleNamespace

    from tfcompress.benchmark import latency as lat_lib
    from tfcompress.pipeline import benchmark

    def fake(contents, x, spec, threads, batch=1):
        rounds = (1.0, 1.0, 1.0) if threads == 2 else (1.0, 3.0, 1.0)  # busy at 1 thread
        return {n: lat_lib.Latency(threads, batch, 3, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0,
                                   round_p50_ms=rounds) for n in contents}

    from tfcompress.pipeline.runner import Runner
    from tfcompress.store import Store

    calls = []
    monkeypatch.setattr(lat_lib, "measure_all", lambda *a, **k: calls.append(1) or fake(*a, **k))
    (tmp_path / "model.tflite").write_bytes(b"x")
    warned = []
    runner = Runner(Store(tmp_path / "cache"))
    data = SimpleNamespace(x_test=np.zeros((1, 8, 8, 1)))

    def measure(**spec):
        ctx = SimpleNamespace(recipe=SimpleNamespace(benchmark=BenchmarkSpec(threads=(1, 2),
                                                                             **spec)),
                              warn=warned.append, runner=runner)
        return benchmark.measure(ctx, data, {"m": SimpleNamespace(path=tmp_path)})

    measured = measure()
    assert len(warned) == 1 and "m (1t: 3.00x)" in warned[0]
    assert [(r.kind, r.cached) for r in runner.records] == [("benchmark", False)]  # a step
    assert set(measured.load_average) == {"before_benchmark", "after_benchmark"}
    timed = len(calls)
    # the same file again: the timing (and its warning) read back, nothing timed
    runner.reset()
    again = measure()
    assert len(calls) == timed and again.reused and again.of == measured.of
    assert len(warned) == 2 and "--benchmark=again" in warned[1]
    assert [(r.kind, r.cached) for r in runner.records] == [("benchmark", True)]
    runner.reset()
    assert not measure(reuse=False).reused and len(calls) == 2 * timed  # asked to time again
    (tmp_path / "model.tflite").write_bytes(b"y")  # another file: timed
    runner.reset()
    assert not measure().reused and len(calls) == 3 * timed
