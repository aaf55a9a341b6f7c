"""The command line as a user meets it: exit status 2 and one line for bad input."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import HANG, QUICK, REPO, check_tiny_run
from tfcompress import catalogue
from tfcompress.errors import InputError


def run_cli(*args, env=None, timeout=HANG):
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


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_the_tools_own_flags_grouped_and_exits_0(flag):
    import shutil

    console = shutil.which("tfcompress", path=str(Path(sys.executable).parent))
    for proc in (run_cli(flag), subprocess.run([console, flag], capture_output=True,
                                                text=True, timeout=HANG)):
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout
        for name in ("--experiment", "--profile", "--model_path", "--data_dir", "--override",
                     "--pixel_range", "--benchmark", "What to run:", "Your own model and data:",
                     "143 terminated (SIGTERM)"):
            assert name in out, name
        assert "--logtostderr" not in out  # absl's own: under --helpfull only
        assert "cats_vs_dogs" in out


def test_sigterm_is_handled_as_ctrl_c_is(tmp_path, data_dir):
    """A scheduler's SIGTERM: one line saying how to resume, exit 143, no traceback."""
    import signal

    proc = subprocess.Popen([sys.executable, "-m", "tfcompress.run", "--profile=tiny",
                             f"--output_dir={tmp_path}", f"--data_dir={data_dir}"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    try:
        for line in proc.stdout:  # the first step has begun: stop it mid-training
            seen.append(line)
            if "[train] baseline: running" in line:
                proc.send_signal(signal.SIGTERM)
                break
        seen.append(proc.communicate(timeout=QUICK)[0])
    finally:
        proc.kill()
    out = "".join(seen)
    assert proc.returncode == 143, out
    assert "tfcompress: terminated (SIGTERM); run the same command again to resume" in out
    assert "Traceback" not in out
    assert not list(tmp_path.glob("*/*/report.md"))


def test_every_benchmark_mode_is_a_valid_recipe_change():
    from tfcompress.recipe.core import BENCHMARK_MODES, SHORT

    base = catalogue.experiment("mnist_prune_quant")
    specs = {m: base.benchmark.in_mode(m) for m in BENCHMARK_MODES}
    assert specs["reuse"] == base.benchmark and not specs["again"].reuse
    assert specs["short"].rounds < base.benchmark.rounds and specs["short"].min_seconds == 0
    assert specs["short"].min_runs == SHORT["min_runs"] < base.benchmark.min_runs
    # short never times more than the profile itself: the tiny profile's 5 runs stay 5
    tiny = base.for_profile("tiny").benchmark
    short = tiny.in_mode("short")
    for name in SHORT:
        assert getattr(short, name) == min(getattr(tiny, name), SHORT[name]), name
    assert short.min_runs <= tiny.min_runs and short.warmup_runs <= tiny.warmup_runs
    with pytest.raises(InputError, match="sometimes"):
        base.benchmark.in_mode("sometimes")
    assert run_cli("--benchmark=sometimes").returncode == 2
    import tfcompress

    with pytest.raises(InputError, match="Unknown benchmark mode 'sometimes'"):
        tfcompress.run("mnist_prune_quant", profile="tiny", benchmark="sometimes")


def test_an_unknown_profile_is_refused_before_anything_says_running():
    proc = run_cli("--profile=fast")
    assert proc.returncode == 2
    assert "fast" in error_line(proc) and "running" not in proc.stdout


def test_the_full_profile_warns_on_a_machine_without_a_gpu(caplog):
    from tfcompress import api
    from tfcompress._keras import tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    recipe = catalogue.experiment("resnet56_prune_quant").for_profile("full")
    with caplog.at_level("WARNING", logger="tfcompress"):
        api._warn_without_a_gpu(recipe)
    assert "full profile of resnet56_prune_quant" in caplog.text
    assert "182 training epochs" in caplog.text and "meant for a GPU" in caplog.text


@pytest.mark.parametrize("args, words", [
    (["--experiment=digit_prune_quant"], ["digit_prune_quant", "Did you mean: digits_prune_quant"]),
    (["--profile=huge"], ["huge", "tiny", "quick", "full"]),
    (["--override=train.epochz=3"], ["epochz", "epochs"]),
    (["--override=train.epochs=-1"], ["epochs", "integer >= 0", "-1"]),
    (["--experiment=mnist_distill", "--override=variants.kd_T4_seed0.distill.temperature=0"],
     ["distill.temperature", "> 0", "0"]),
    (["--experiment=mnist_qat_vs_ptq", "--override=variants.qat_int8.export.mode=float16"],
     ["qat_int8.export.mode", "int8", "float16"]),
    (["--experiment=mnist_cluster_quant", "--override=variants.*.cluster.init=kmeans"],
     ["cluster.init", "kmeans_plus_plus"]),
    (["--experiment=mnist_sparsity_sweep", "--override=sweep.tuner=grid"],
     ["sweep.tuner", "grid", "bayesian", "hyperband"]),
    (["--experiment=mnist_sparsity_sweep", "--override=sweep.max_gzip_kib=-1"],
     ["max_gzip_kib", "positive", "-1"]),
    (["--override=train.strategy=horovod"], ["horovod", "mirrored", "multi_worker"]),
    (["--profile=tiny", "--override=train.strategy=multi_worker"], ["TF_CONFIG", "not set"]),
    (["--experiment=mnist_sparsity_sweep", "--override=finetune.strategy=multi_worker"],
     ["multi_worker", "KERASTUNER_TUNER_ID"]),
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


def test_tiny_run_from_the_command_line(digits_run, cached_out):
    proc = run_cli("--experiment=digits_prune_quant", "--profile=tiny",
                   f"--output_dir={cached_out}", "--override=benchmark.threads=[1]")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "pruned80_int8" in proc.stdout and "Report:" in proc.stdout
    # the runtime's start-up noise stays off the terminal (tfcompress.quiet)
    for noise in ("cuInit", "cudart_stub", "absl::InitializeLog", "XNNPACK delegate", "oneDNN",
                  "cpu_feature_guard"):
        assert noise not in proc.stderr, proc.stderr
    assert "tfcompress: [benchmark] float32, 1 thread(s)" in proc.stdout  # progress: stdout
    made = cached_out / "digits_prune_quant" / "tiny" / "tflite" / "pruned80_int8.tflite"
    # the same steps as the API's run of the same recipe (found in the cache they share)
    assert made.read_bytes() == digits_run[2].tflite["pruned80_int8"].read_bytes()


def test_the_stderr_filter_drops_exactly_the_known_noise_and_keeps_order():
    child = (
        "import os, sys\n"
        "from tfcompress import quiet\n"
        "quiet.filter_stderr()\n"
        "lines = ['one', 'WARNING: All log messages before absl::InitializeLog() is called are "
        "written to STDERR', 'E0000 00:00:1796618828.575997    7965 cuda_platform.cc:52] failed "
        "call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)', "
        "'E0000 00:00:1796618828.575997    7965 other.cc:1] a real error', "
        "'fully_quantize: 0, inference_type: 6, input_inference_type: UINT8, "
        "output_inference_type: UINT8', 'I0000 00:00:1796645623.875709   29457 port.cc:153] "
        "oneDNN custom operations are on. You may see slightly different numerical results due "
        "to floating-point round-off errors from different computation orders. To turn them "
        "off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.', 'I0000 "
        "00:00:1796642811.162867    4398 cpu_feature_guard.cc:227] This TensorFlow binary is "
        "optimized to use available CPU instructions in performance-critical operations.', "
        "'To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 FMA, in "
        "other operations, rebuild TensorFlow with the appropriate compiler flags.', 'two']\n"
        "for line in lines:\n"
        "    os.write(2, (line + '\\n').encode())\n"
        "print('three', file=sys.stderr)\n"
        "os.kill(os.getpid(), 11)\n")  # a crash: what was written still reaches the terminal
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          timeout=QUICK)
    assert proc.returncode == -11
    assert proc.stderr.splitlines() == ["one", "E0000 00:00:1796618828.575997    7965 other.cc:1] "
                                        "a real error", "two", "three"]
    quiet_off = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                               timeout=QUICK, env={**os.environ, "TFCOMPRESS_RUNTIME_LOGS": "1"})
    assert len(quiet_off.stderr.splitlines()) == 10


def test_vgg16_quick_without_weights_stops_with_one_line_naming_the_file(tmp_path, data_dir):
    proc = run_cli("--experiment=vgg16_prune_quant", f"--data_dir={data_dir}",
                   f"--output_dir={tmp_path / 'out'}", env={"HOME": str(tmp_path)},
                   timeout=HANG)
    assert proc.returncode == 2, proc.stderr
    line = error_line(proc)
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in line
    assert str(tmp_path / ".keras" / "models") in line and "--weights" in line
    assert not (tmp_path / "out").exists()
    proc = run_cli("--experiment=vgg16_prune_quant", f"--weights={tmp_path / 'vgg.h5'}",
                   f"--data_dir={data_dir}", f"--output_dir={tmp_path / 'out'}")
    assert proc.returncode == 2 and "vgg.h5" in error_line(proc)


@pytest.mark.real_data
@pytest.mark.slow
def test_vgg16_tiny_runs_and_its_report_says_the_weights_are_random(tmp_path, data_dir):
    import json

    proc = run_cli("--experiment=vgg16_prune_quant", "--profile=tiny", f"--data_dir={data_dir}",
                   f"--output_dir={tmp_path}", "--override=data.test_limit=none")
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "vgg16_prune_quant" / "tiny"
    # the experiment's smoke test (test_experiments leaves VGG16 to this run)
    check_tiny_run(catalogue.experiment("vgg16_prune_quant").for_profile("tiny"), run)
    report = (run / "report.md").read_text()
    assert "random weights" in report and "sparsity.png" in report
    assert (run / "plots" / "sparsity.png").is_file()
    rows = json.loads((run / "results.json").read_text())["rows"]
    assert [r["variant"] for r in rows] == ["float32", "int8", "pruned50_int8", "pruned90_int8"]
    assert rows[3]["sparsity"] > rows[2]["sparsity"] > 0.4
    for r in rows:
        card = json.loads((run / "tflite" / f"{r['variant']}.json").read_text())
        assert card["input_shape"] == [32, 32, 3] and card["class_names"] == ["cats", "dogs"]
    baseline = json.loads((run / "run.json").read_text())
    assert baseline["warnings"] and baseline["recipe"]["transfer"]["unfreeze_from"] == \
        "block5_conv1"
    # The script a user runs before copying the file to a phone: the real validation JPEGs
    # (the test split), classified from the files, give the report's accuracy.
    validation = next(Path(os.environ["TFCOMPRESS_CACHE_DIR"]).glob(
        "unpacked/cats_and_dogs_filtered-*/cats_and_dogs_filtered/validation"))
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "classify_tflite.py"),
                           str(run / "tflite" / "pruned50_int8.tflite"), str(validation)],
                          capture_output=True, text=True, timeout=HANG)
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("accuracy:") and "/1000 " in last
    correct = int(last.split()[1].split("/")[0])
    assert correct / 1000 == rows[2]["tflite_accuracy"], last


USER_RECIPE = '''
from tfcompress import PruneSpec, Variant, ExportSpec, derive, experiment

BASE = experiment("digits_prune_quant")
mine = derive(BASE, "my_digits90", "digits pruned to 90%, from my own recipe file",
              variants=(Variant("float32", ExportSpec("float32")),
                        Variant("pruned90", ExportSpec("int8"), PruneSpec(0.9, frequency=2))))
'''


def test_recipes_live_under_the_package_name_only(tmp_path):
    """A project with its own experiments/ package neither shadows ours nor is shadowed."""
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "__init__.py").write_text("raise ImportError('theirs')\n")
    (tmp_path / "recipes.py").write_text(USER_RECIPE)
    proc = subprocess.run([sys.executable, "-m", "tfcompress.run", "--list",
                           "--config=recipes.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=HANG)
    assert proc.returncode == 0, proc.stderr
    names = [line.split()[0] for line in proc.stdout.strip().splitlines()]
    assert "digits_prune_quant" in names and "my_digits90" in names
    assert "[recipes.py]" in proc.stdout  # where a user's recipe came from
    clean = tmp_path / "clean"
    clean.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # as installed
    proc = subprocess.run([sys.executable, "-c", "import experiments"], cwd=clean, env=env,
                          capture_output=True, text=True, timeout=HANG)
    assert proc.returncode == 1 and "No module named 'experiments'" in proc.stderr


def test_a_user_recipe_runs_through_the_cli(tmp_path):
    (tmp_path / "recipes.py").write_text(USER_RECIPE)
    proc = run_cli(f"--config={tmp_path / 'recipes.py'}", "--experiment=my_digits90",
                   "--profile=tiny", f"--output_dir={tmp_path / 'out'}",
                   "--override=benchmark.threads=[1]")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "out" / "my_digits90" / "tiny" / "tflite" / "pruned90.tflite").is_file()


@pytest.mark.parametrize("content, words", [
    (None, ["--config", "Python file"]),
    ("x = 1\n", ["defines no new recipe"]),
    ("raise RuntimeError('boom')\n", ["failed", "RuntimeError: boom"]),
])
def test_a_bad_config_is_one_line(content, words, tmp_path):
    path = tmp_path / "recipes.py"
    if content is not None:
        path.write_text(content)
    line = error_line(run_cli(f"--config={path}", "--list"))
    for w in words:
        assert w in line
