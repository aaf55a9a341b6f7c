"""The command line as a user meets it: exit status 2 and one line for bad input."""

import os
import subprocess
import sys

import pytest

from conftest import REPO


def run_cli(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "tfcompress.run", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def error_line(proc):
    lines = [l for l in proc.stderr.splitlines() if l.startswith("tfcompress: error:")]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_list_names_every_experiment_with_a_description():
    proc = run_cli("--list")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    names = [l.split()[0] for l in lines]
    assert "digits_prune_quant" in names and "mnist_prune_quant" in names
    assert all(len(l.split(None, 1)) == 2 for l in lines)


@pytest.mark.parametrize("args, words", [
    (["--experiment=digit_prune_quant"], ["digit_prune_quant", "Did you mean: digits_prune_quant"]),
    (["--profile=huge"], ["huge", "tiny", "quick", "full"]),
    (["--override=train.epochz=3"], ["epochz", "epochs"]),
    (["--override=train.epochs=-1"], ["epochs", "integer >= 0", "-1"]),
    (["--bogus_flag=1"], ["bogus_flag"]),
    (["stray"], ["stray"]),
])
def test_bad_input_exits_2_with_one_line(args, words):
    proc = run_cli(*args)
    assert proc.returncode == 2, proc.stderr
    line = error_line(proc)
    for w in words:
        assert w in line


def test_missing_dataset_exits_2_and_says_where_to_put_it(tmp_path):
    proc = run_cli("--experiment=mnist_prune_quant", "--profile=tiny",
                   f"--data_dir={tmp_path}", f"--output_dir={tmp_path / 'out'}")
    assert proc.returncode == 2
    line = error_line(proc)
    assert "mnist.npz" in line and str(tmp_path) in line
    assert not (tmp_path / "out" / "mnist_prune_quant").exists()


def test_tiny_run_from_the_command_line(tmp_path):
    proc = run_cli("--experiment=digits_prune_quant", "--profile=tiny",
                   f"--output_dir={tmp_path}", "--override=benchmark.threads=[1]")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "pruned80_int8" in proc.stdout and "Report:" in proc.stdout
    assert (tmp_path / "digits_prune_quant" / "tiny" / "tflite" / "pruned80_int8.tflite").is_file()
