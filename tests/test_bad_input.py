"""Bad input, as a careless or hostile user gives it: one line on stderr, exit status 2, nothing
written, no code from the user's file run. (The recipe-level checks are also in test_recipe.)"""

import re
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from support import HANG, QUICK, REPO

# What TensorFlow's C++ runtime prints on import, before any of our code runs.
RUNTIME = re.compile(r"^([IWE]\d{4} |WARNING: All log messages before absl|To enable the "
                     r"following instructions|INFO: Created TensorFlow Lite XNNPACK delegate)")


def run_cli(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "tfcompress.run", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=HANG)


def only_line(proc) -> str:
    """Exit 2, and the error is the one line the tool itself put on stderr."""
    assert proc.returncode == 2, proc.stderr[-3000:]
    ours = [line for line in proc.stderr.splitlines() if line and not RUNTIME.match(line)]
    assert len(ours) == 1 and ours[0].startswith("tfcompress: error: "), proc.stderr[-3000:]
    return ours[0]


TINY = ["--profile=tiny", "--override=benchmark.threads=[1]"]


@pytest.mark.parametrize("args, words", [
    (["--override=train.learning_rate=1e999"], ["learning_rate", "inf"]),
    (["--mean=nan"], ["--mean=nan: --mean must be", "nan"]),
    (["--std=inf"], ["--std=inf: --std must be", "inf"]),
    (["--override=seed=-1"], ["seed", "2147483647", "-1"]),
    (["--override=variants.pruned80_int8.seed=99999999999"], ["seed", "99999999999"]),
    (["--override=data.split_seed=-3"], ["split_seed", "-3"]),
    (["--override=train=3"], ["whole train section", "train.<field>=value"]),
    (["--override=variants=3"], ["variants", "list of variants"]),
    (["--override=data=x"], ["whole data section"]),
    (["--override=train.epochs=1000000000"], ["epochs", "10,000", "1000000000"]),
    (["--override=name=../escaped_run"], ["name", "no path", "../escaped_run"]),
    (["--override=name=/abs/path"], ["name", "/abs/path"]),
    (["--override=model.options.filterz=[4,8]", *TINY], ["filterz", "filters", "dense_units"]),
    (["--override=model.options.filters=[-4,8]", *TINY], ["model.options", "filters"]),
    (["--dataset=imagenet"], ["imagenet", "digits", "mnist", "cifar10", "image folder"]),
    (["--output_dir="], ["--output_dir", "''"]),
    (["--output_dir=/proc/tfcompress-out", *TINY], ["/proc/tfcompress-out", "cannot be written"]),
    ([f"--output_dir={'x' * 300}", *TINY], ["longer than 255"]),
])
def test_bad_value_is_one_line_and_exit_2(args, words, tmp_path):
    proc = run_cli(*args, cwd=tmp_path)
    line = only_line(proc)
    for w in words:
        assert w in line, line
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_an_output_dir_through_a_file_is_refused_before_any_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    for out in (blocker, blocker / "sub"):
        line = only_line(run_cli(f"--output_dir={out}", *TINY))
        assert str(blocker) in line
    assert blocker.read_text() == "keep me" and sorted(tmp_path.iterdir()) == [blocker]


def test_a_run_name_never_writes_outside_the_output_dir(tmp_path):
    from tfcompress import outdir
    from tfcompress.errors import InputError

    for name in ("..", "../x", "/etc", "a/../../b", ""):
        with pytest.raises(InputError, match="inside --output_dir"):
            outdir.run_dir(tmp_path / "out", name, "tiny")
    assert outdir.run_dir(tmp_path / "out", "exp", "tiny") == tmp_path / "out" / "exp" / "tiny"


def test_output_dir_check_leaves_no_folder_behind(tmp_path):
    from tfcompress import outdir

    outdir.check(tmp_path / "a" / "b" / "c")
    assert list(tmp_path.iterdir()) == []


def test_processes_checking_one_new_output_dir_at_once_all_pass(tmp_path, monkeypatch):
    """A sweep's chief and workers start together on a fresh --output_dir: one makes the
    folder another is about to make, or removes the folder it made for its own check while
    another writes its probe into it. Both races are played here, one after the other."""
    import tempfile
    from pathlib import Path

    from tfcompress import outdir

    out = tmp_path / "a" / "b"
    real_mkdir, real_mkstemp = Path.mkdir, tempfile.mkstemp
    played = []

    def made_by_another_first(self, *args, **kwargs):
        if self == out and "mkdir" not in played:  # another process made it just now
            played.append("mkdir")
            real_mkdir(self)
            raise FileExistsError(17, "File exists", str(self))
        return real_mkdir(self, *args, **kwargs)

    def removed_by_another_first(*args, **kwargs):
        if "rmdir" not in played:  # the other process finished its check: its folders go
            played.append("rmdir")
            out.rmdir()
            out.parent.rmdir()
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", made_by_another_first)
    monkeypatch.setattr(tempfile, "mkstemp", removed_by_another_first)
    assert outdir.check(out) == out
    assert played == ["mkdir", "rmdir"]
    assert list(tmp_path.iterdir()) == []  # and it still leaves nothing behind


def test_a_savedmodel_with_a_lambda_is_refused_and_its_code_never_runs(tmp_path):
    """tf_keras revives a SavedModel's Lambda from its bytecode, ignoring safe_mode."""
    marker = tmp_path / "MARKER"
    make = f"""
from tfcompress._keras import keras
def f(x):
    import pathlib
    pathlib.Path({str(marker)!r}).write_text("the file's code ran")
    return x
inp = keras.Input((8, 8, 1))
x = keras.layers.Flatten()(keras.layers.Lambda(f, name="evil")(inp))
keras.Model(inp, keras.layers.Dense(10, activation="softmax")(x)).save(
    {str(tmp_path / "sm")!r}, save_format="tf")
"""
    assert subprocess.run([sys.executable, "-c", make], capture_output=True,
                          timeout=QUICK).returncode == 0
    marker.unlink()  # written while saving (tracing), not by us
    out = tmp_path / "out"
    proc = run_cli("--experiment=user_model_prune_quant", f"--model_path={tmp_path / 'sm'}",
                   "--dataset=digits", f"--output_dir={out}", *TINY)
    line = only_line(proc)
    assert "Lambda" in line and "evil" in line
    assert not marker.exists()
    assert not out.exists() or not any(out.rglob("*.partial"))


def test_a_text_file_named_tar_gz_is_one_line(tmp_path):
    bogus = tmp_path / "images.tar.gz"
    bogus.write_text("not an archive\n")
    line = only_line(run_cli(f"--dataset={bogus}", f"--output_dir={tmp_path / 'out'}", *TINY))
    assert "not a readable tar archive" in line


def test_too_few_images_per_class_is_one_line(tmp_path):
    from PIL import Image

    for c in ("cat", "dog"):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(tmp_path / "imgs" / c / "1.png")
    line = only_line(run_cli(f"--dataset={tmp_path / 'imgs'}", "--image_size=8,8",
                             f"--output_dir={tmp_path / 'out'}", *TINY))
    assert "at least" in line and "cat" in line and str(tmp_path / "imgs") in line


def test_a_decompression_bomb_is_skipped_unread(tmp_path):
    from PIL import Image

    from tfcompress.data import image_folder

    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(3):
            Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(tmp_path / c / f"{i}.png")
    Image.new("1", (10_000, 6_000)).save(tmp_path / "a" / "bomb.png")  # 60 MP, a few KiB
    assert (tmp_path / "a" / "bomb.png").stat().st_size < 100_000
    files = [(c, p) for c in ("a", "b") for p in sorted((tmp_path / c).iterdir())]
    x, y, skipped = image_folder.decode(files, ("a", "b"), (8, 8))
    assert skipped == 1 and x.shape == (6, 8, 8, 3)


def test_empty_mnist_arrays_are_one_error(tmp_path):
    from tfcompress.data import load
    from tfcompress.errors import InputError
    from tfcompress.recipe import DataSpec

    empty = np.zeros((0, 28, 28), np.uint8)
    np.savez(tmp_path / "mnist.npz", x_train=empty, y_train=np.zeros(0, np.uint8),
             x_test=empty, y_test=np.zeros(0, np.uint8))
    with pytest.raises(InputError) as e:
        load(DataSpec("mnist"), tmp_path, offline=True)
    assert str(tmp_path / "mnist.npz") in str(e.value)  # names the file at fault


@pytest.mark.parametrize("card, words", [
    ("{not json", ["not a readable JSON card"]),
    ('{"input_shape": [8, 8, 1], "pixel_max": 16}', ["class_names"]),
    ('{"input_shape": [8, 8], "class_names": ["a"], "pixel_max": 16}', ["input_shape"]),
    ('{"input_shape": [16, 16, 1], "class_names": ["a"], "pixel_max": 16}',
     ["takes input [8, 8, 1]", "m.json) says input_shape [16, 16, 1]"]),
    ('[1, 2]', ["JSON object"]),
])
def test_classify_script_refuses_a_bad_card_in_one_line(card, words, tmp_path, digits_run):
    _, out, _ = digits_run
    model = tmp_path / "m.tflite"
    model.write_bytes((out / "digits_prune_quant" / "tiny" / "tflite" / "int8.tflite")
                      .read_bytes())
    model.with_suffix(".json").write_text(card)
    image = tmp_path / "x.png"
    from PIL import Image

    Image.new("L", (8, 8)).save(image)
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "classify_tflite.py"),
                           str(model), str(image)], capture_output=True, text=True,
                          timeout=QUICK)
    ours = [line for line in proc.stderr.splitlines() if line and not RUNTIME.match(line)]
    assert proc.returncode == 2 and len(ours) == 1, proc.stderr
    for w in words:
        assert w in ours[0]


def test_classify_script_refuses_a_model_that_is_not_tflite(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)  # an .h5 renamed
    model.with_suffix(".json").write_text('{"input_shape": [8, 8, 1], "class_names": ["a", "b"],'
                                          ' "pixel_max": 16}')
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "classify_tflite.py"),
                           str(model), str(tmp_path)], capture_output=True, text=True,
                          timeout=QUICK)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "not a readable .tflite" in proc.stderr


@pytest.mark.parametrize("args", [[], ["/nonexistent.tflite"], [str(Path(__file__))]])
def test_coverage_refusals_carry_its_prefix(args):
    proc = subprocess.run([sys.executable, "-m", "tfcompress.quantize.coverage", *args],
                          capture_output=True, text=True, timeout=QUICK)
    ours = [line for line in proc.stderr.splitlines() if line and not RUNTIME.match(line)]
    assert proc.returncode == 2 and len(ours) == 1 and ours[0].startswith("coverage: error: ")
    if not args:
        assert "usage: python -m tfcompress.quantize.coverage FILE.tflite" in ours[0]


def test_a_tar_archive_error_spanning_lines_becomes_one(tmp_path):
    from tfcompress.data import image_folder
    from tfcompress.errors import InputError

    bogus = tmp_path / "x.tar.gz"
    bogus.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with pytest.raises(InputError) as e:
        image_folder.unpack(bogus)
    assert "\n" not in str(e.value)
    assert not tarfile.is_tarfile(bogus)  # stdlib agrees it is no archive


@pytest.mark.parametrize("kind", ["header", "gzip"])
def test_an_archive_damaged_in_the_middle_is_refused_naming_the_archive(kind, tmp_path,
                                                                       monkeypatch):
    """tarfile takes a damaged header mid-archive for its end, and gzip's checksum is only
    checked at the stream's end: either way the archive is named, not the folder it was
    being unpacked to."""
    import gzip

    from PIL import Image

    from tfcompress.data import image_folder
    from tfcompress.errors import InputError

    monkeypatch.setenv("TFCOMPRESS_CACHE_DIR", str(tmp_path / "cache"))
    for split in ("train", "test"):
        for c in ("a", "b"):
            (tmp_path / "imgs" / split / c).mkdir(parents=True)
            for i in range(6):
                Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(
                    tmp_path / "imgs" / split / c / f"{i}.png")
    with tarfile.open(tmp_path / "imgs.tar", "w") as tar:
        tar.add(tmp_path / "imgs", arcname="imgs")
    data = bytearray((tmp_path / "imgs.tar").read_bytes())
    with tarfile.open(tmp_path / "imgs.tar") as tar:
        middle = tar.getmembers()[len(tar.getmembers()) // 2].offset
    if kind == "header":
        data[middle:middle + 512] = b"\x07" * 512  # a header block that is not one
        archive = tmp_path / "damaged.tar"
        archive.write_bytes(bytes(data))
    else:
        packed = bytearray(gzip.compress(bytes(data)))
        half = len(packed) // 2
        packed[half:half + 64] = bytes(64)
        archive = tmp_path / "damaged.tar.gz"
        archive.write_bytes(bytes(packed))
    with pytest.raises(InputError) as e:
        image_folder.read(archive, None, "damaged")
    msg = str(e.value)
    assert msg.startswith(f"{archive} ") or msg.startswith(f"{archive}:"), msg
    assert "not a readable tar archive" in msg and "\n" not in msg
    assert not list((tmp_path / "cache").glob("unpacked/*/imgs"))  # nothing half-unpacked


def test_a_fix_is_spelled_for_whoever_called_first():
    from tfcompress import errors

    both = {"cli": "run with --pixel_range=0-255", "python": "pass pixel_range='0-255'",
            "recipe": "data.pixel_range=0-255"}
    assert errors.fix(**both) == ("pass pixel_range='0-255' (command line: run with "
                                  "--pixel_range=0-255; recipe: data.pixel_range=0-255)")
    with errors.called_from("cli"):
        assert errors.fix(**both) == ("run with --pixel_range=0-255 (Python: pass "
                                      "pixel_range='0-255'; recipe: data.pixel_range=0-255)")
    assert errors.fix(**both).startswith("pass ")  # the caller is restored on the way out
    with pytest.raises(errors.InputError, match="Unknown caller 'shell'"):
        with errors.called_from("shell"):
            pass
