"""Distribution on loopback: keras-tuner's chief and two workers sharing one sweep, and a
two-worker MultiWorkerMirroredStrategy training (each process a real ``tfcompress.run``)."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from support import HANG, REPO
from tfcompress import catalogue
from tfcompress.pipeline import Pipeline
from tfcompress.recipe import apply_overrides
from tfcompress.sweep import tuner

TRIALS = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args, env):
    return subprocess.Popen([sys.executable, "-m", "tfcompress.run", *args], cwd=REPO,
                            env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(procs, timeout=HANG):
    out = {}
    for name, p in procs.items():
        try:
            out[name] = p.communicate(timeout=timeout)[0]
        except subprocess.TimeoutExpired:
            for q in procs.values():
                q.kill()
            raise
        assert p.returncode == 0, f"{name} exited {p.returncode}:\n{out[name][-3000:]}"
    return out


@pytest.mark.real_data
@pytest.mark.slow
def test_keras_tuner_chief_and_two_workers_run_every_trial_once(data_dir, tmp_path):
    port = str(free_port())
    args = ["--experiment=mnist_sparsity_sweep", "--profile=tiny", f"--data_dir={data_dir}",
            f"--output_dir={tmp_path / 'distributed'}", f"--override=sweep.max_trials={TRIALS}"]
    procs = {who: start(args, {"KERASTUNER_TUNER_ID": who, "KERASTUNER_ORACLE_IP": "127.0.0.1",
                               "KERASTUNER_ORACLE_PORT": port})
             for who in ("chief", "tuner0", "tuner1")}
    out = finish(procs)
    assert "sweep worker finished" in out["tuner0"] and "sweep worker finished" in out["tuner1"]
    assert "Report:" in out["chief"]

    project = next((tmp_path / "distributed" / "sweeps").iterdir())
    runs = tuner.runs(project)
    # every trial ran exactly once, on a worker (the chief only serves the oracle)
    assert sorted(r["trial_id"] for r in runs) == [str(i) for i in range(TRIALS)]
    assert {r["tuner_id"] for r in runs} <= {"tuner0", "tuner1"}
    assert all(r["status"] == "COMPLETED" for r in runs)
    run_dir = tmp_path / "distributed" / "mnist_sparsity_sweep" / "tiny"
    with open(run_dir / "sweep_trials.csv") as f:
        reported = {t["trial"]: t for t in csv.DictReader(f)}
    assert set(reported) == {r["trial_id"] for r in runs}
    for r in runs:  # what the chief's oracle reports is what the worker measured
        t = reported[r["trial_id"]]
        assert t["ran_on"] == r["tuner_id"]
        assert float(t["val_accuracy"]) == r["metrics"]["val_accuracy"]
        assert float(t["gzip_kib"]) == r["metrics"]["gzip_kib"]

    # the same sweep in one process: same trials, same results (latency aside)
    recipe = apply_overrides(catalogue.experiment("mnist_sparsity_sweep").for_profile("tiny"),
                             {"sweep.max_trials": TRIALS})
    Pipeline(recipe, profile="tiny", output_dir=tmp_path / "local", data_dir=data_dir).run()
    local = {r["trial_id"]: r for r in
             tuner.runs(next((tmp_path / "local" / "sweeps").iterdir()))}
    for r in runs:
        mine = local[r["trial_id"]]
        assert mine["overrides"] == r["overrides"]
        assert mine["metrics"]["accuracy"] == pytest.approx(r["metrics"]["accuracy"], abs=0.01)
        assert mine["metrics"]["gzip_kib"] == pytest.approx(r["metrics"]["gzip_kib"], rel=0.02)


@pytest.mark.slow  # a minute or more of a whole tiny experiment: make test-slow
def test_multi_worker_mirrored_training_on_two_loopback_workers(tmp_path):
    ports = [free_port(), free_port()]
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    args = ["--experiment=digits_prune_quant", "--profile=tiny", f"--output_dir={tmp_path}",
            "--override=train.strategy=multi_worker",
            "--override=finetune.strategy=multi_worker"]
    procs = {i: start(args, {"TF_CONFIG": json.dumps({"cluster": cluster,
                                                      "task": {"type": "worker", "index": i}})})
             for i in (0, 1)}
    out = finish(procs)
    assert all("multi_worker: 2 replica(s) in sync" in o for o in out.values())
    # worker 0 commits to the cache and writes the report; worker 1 trains in step and
    # writes to a scratch folder of its own
    assert (tmp_path / "digits_prune_quant" / "tiny" / "report.md").is_file()
    assert (tmp_path / ".worker1" / "digits_prune_quant" / "tiny" / "report.md").is_file()

    from tfcompress._keras import keras

    def baseline(root):
        [path] = [p for p in (root / "cache").iterdir() if p.name.startswith("train-")]
        return path.name, keras.models.load_model(path / "model.keras").get_weights()

    key0, chief = baseline(tmp_path)
    key1, other = baseline(tmp_path / ".worker1")
    assert key0 == key1
    assert all(np.array_equal(a, b) for a, b in zip(chief, other))  # trained in lockstep
    rows = [json.loads((root / "digits_prune_quant" / "tiny" / "results.json").read_text())
            for root in (tmp_path, tmp_path / ".worker1")]
    assert [r["tflite_accuracy"] for r in rows[0]["rows"]] == \
        [r["tflite_accuracy"] for r in rows[1]["rows"]]
