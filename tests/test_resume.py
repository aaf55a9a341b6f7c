"""A run killed mid-epoch and run again ends exactly where an uninterrupted run does."""

import json
import subprocess
import sys
import textwrap

import pytest

from support import HANG, REPO

OVERRIDES = ["train.epochs=3", "finetune.epochs=3", "benchmark.threads=[1]",
             "variants.*.prune.frequency=1"]

# Runs the tiny digits experiment; with KILL_AT = (fit call, epoch, batch), dies (os._exit,
# no cleanup, as with SIGKILL) in the middle of that epoch of that training.
CHILD = textwrap.dedent("""
    import os, sys
    from tfcompress import catalogue
    from tfcompress._keras import keras
    from tfcompress.pipeline import Pipeline
    from tfcompress.recipe import apply_overrides
    from tfcompress.train import loop

    out, overrides, kill = sys.argv[1], sys.argv[2].split(), sys.argv[3]
    if kill:
        call, epoch, batch = map(int, kill.split(","))
        fits, fit = [0], loop.fit

        class Kill(keras.callbacks.Callback):
            def on_epoch_begin(self, e, logs=None):
                self.epoch = e

            def on_train_batch_end(self, b, logs=None):
                if self.epoch == epoch and b == batch:
                    os._exit(137)

        def killing_fit(*args, callbacks=(), **kwargs):
            fits[0] += 1
            extra = [Kill()] if fits[0] == call else []
            return fit(*args, callbacks=[*callbacks, *extra], **kwargs)

        loop.fit = killing_fit
    recipe = catalogue.experiment("digits_prune_quant").for_profile("tiny")
    recipe = apply_overrides(recipe, overrides)
    Pipeline(recipe, profile="tiny", output_dir=out).run()
""")


def run(out, kill=""):
    return subprocess.run([sys.executable, "-c", CHILD, str(out), " ".join(OVERRIDES), kill],
                          cwd=REPO, capture_output=True, text=True, timeout=HANG)


def outcome(out):
    """Everything but the timings: per variant its results and the bytes of its .tflite."""
    run_dir = out / "digits_prune_quant" / "tiny"
    rows = json.loads((run_dir / "results.json").read_text())["rows"]
    keep = ("variant", "keras_accuracy", "tflite_accuracy", "params", "nonzero_params",
            "sparsity", "tflite_bytes", "tflite_gzip_bytes", "macs", "effective_macs")
    files = {r["variant"]: (run_dir / "tflite" / f"{r['variant']}.tflite").read_bytes()
             for r in rows}
    return [{k: r[k] for k in keep} for r in rows], files, run_dir


@pytest.mark.slow
def test_a_run_killed_mid_epoch_resumes_to_the_same_results(tmp_path):
    clean = run(tmp_path / "clean")
    assert clean.returncode == 0, clean.stderr[-3000:]
    # killed in the baseline's 2nd epoch, then (baseline cached) in pruning's 3rd epoch
    for kill in ("1,1,2", "2,2,1"):
        proc = run(tmp_path / "killed", kill)
        assert proc.returncode == 137, proc.stderr[-3000:]
    resumed = run(tmp_path / "killed")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    rows, files, _ = outcome(tmp_path / "clean")
    rows_resumed, files_resumed, run_dir = outcome(tmp_path / "killed")
    assert rows_resumed == rows  # field by field
    assert files_resumed == files  # bit for bit
    steps = json.loads((run_dir / "run.json").read_text())["steps"]
    assert sorted(s["kind"] for s in steps if s["resumed"]) == ["prune", "train"], steps
    assert "resumed after an interruption" in (run_dir / "report.md").read_text()
