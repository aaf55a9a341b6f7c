"""The Python API: the model and arrays a user holds in a notebook, and recipes by name."""

import json
import subprocess
import sys

import numpy as np
import pytest

import tfcompress
from support import HANG, REPO


def test_the_public_api_is_visible_to_dir_and_tab_completion():
    names = dir(tfcompress)
    for n in ("compress", "run", "Result", "Recipe", "PruneSpec", "register_experiment"):
        assert n in names
    assert callable(tfcompress.compress) and callable(tfcompress.run)


@pytest.mark.slow  # 35 s: its quick profile times every file (compress() in memory: below)
def test_the_readme_notebook_runs_with_tensorflow_imported_first(tmp_path):
    """tests/examples/notebook.py is the README's example: import tensorflow, then tfcompress,
    train a small tf_keras CNN on numpy arrays, compress it to 80% + int8."""
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "examples" / "notebook.py"),
                           str(tmp_path)], capture_output=True, text=True, timeout=HANG)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = tmp_path / "compress" / "quick"
    printed = proc.stdout.strip().splitlines()
    results = json.loads((run_dir / "results.json").read_text())
    rows = {r["variant"]: r for r in results["rows"]}
    assert set(rows) == {"int8", "pruned80_int8"}
    for line, name in zip(printed[-4:-2], ("int8", "pruned80_int8")):
        assert line.split()[:2] == [name, f"{rows[name]['tflite_accuracy']:.2%}"], line
    # the file the report names to ship, printed from Result.ship
    report = (run_dir / "report.md").read_text()
    ship = printed[-2].split()[1]
    assert printed[-2] == f"ship: {ship} {run_dir / 'tflite' / f'{ship}.tflite'}"
    assert f"**`tflite/{ship}.tflite`**" in report.split("## Ship this file")[1]
    assert printed[-1] == str(run_dir / "report.md")
    assert rows["pruned80_int8"]["tflite_accuracy"] > 0.5  # 10 classes: far above chance
    # the pruned Keras model: every prunable kernel at the target, within one weight
    from tfcompress._keras import keras

    pruned = keras.models.load_model(run_dir / "keras" / "pruned80_int8.keras")
    kernels = [l.get_weights()[0] for l in pruned.layers if l.get_weights()]
    assert len(kernels) == 3
    for k in kernels:
        assert abs(np.mean(k == 0) - 0.8) <= 1 / k.size + 1e-9
    assert (run_dir / "tflite" / "pruned80_int8.tflite").read_bytes()[4:8] == b"TFL3"


def small_model(seed=0):
    from tfcompress._keras import keras

    keras.utils.set_random_seed(seed)  # named layers: Keras numbers unnamed ones per process
    return keras.Sequential([keras.Input((8, 8, 1), name="image"),
                             keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
                             keras.layers.Flatten(name="flat"),
                             keras.layers.Dense(10, activation="softmax", name="out")],
                            name="small")


def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images[..., None] / 16.0).astype(np.float32), d.target


def test_a_model_in_memory_is_cached_by_its_content(tmp_path):
    x, y = digits()
    kw = dict(sparsity=0.5, exports=["float32"], epochs=1, output_dir=tmp_path,
              overrides={"benchmark.threads": [1], "benchmark.min_seconds": 0.0})
    first = tfcompress.compress(small_model(), (x[:400], y[:400]), name="first", **kw)
    again = tfcompress.compress(small_model(), (x[:400], y[:400]), name="again", **kw)
    other = tfcompress.compress(small_model(seed=1), (x[:400], y[:400]), name="other", **kw)

    def steps(result):
        return json.loads((result.run_dir / "run.json").read_text())["steps"]

    assert all(s["cached"] for s in steps(again) if s["kind"] != "benchmark")  # same content
    assert not any(s["cached"] for s in steps(other) if s["kind"] == "prune")
    assert first.row("float32")["tflite_accuracy"] == again.row("float32")["tflite_accuracy"]
    assert first.models["pruned50_float32"].count_params() == small_model().count_params()


def test_tf_data_and_registered_names_are_data_too(tmp_path):
    from tfcompress._keras import tf

    x, y = digits()
    ds = tf.data.Dataset.from_tensor_slices((x[:300], y[:300])).batch(32)
    test = tf.data.Dataset.from_tensor_slices((x[300:400], y[300:400]))  # unbatched
    kw = dict(sparsity=0.5, exports=["float32"], epochs=1, output_dir=tmp_path,
              overrides={"benchmark.threads": [1], "benchmark.min_seconds": 0.0})
    result = tfcompress.compress(small_model(), ds, test=test, name="from_tf_data", **kw)
    data = json.loads((result.run_dir / "run.json").read_text())["data"]
    assert data["test"] == 100 and data["train"] + data["val"] == 300
    named = tfcompress.compress(small_model(), "digits", name="named", **kw)
    assert json.loads((named.run_dir / "run.json").read_text())["data"]["name"] == "digits"


@pytest.mark.parametrize("model, data, kwargs, words", [
    ("nope.keras", None, {}, ["nope.keras", "does not exist"]),
    (object(), None, {}, ["Keras Model (Keras 3 or tf_keras)", "object"]),
    (None, (np.zeros((4, 8, 8)), np.zeros(3)), {}, ["images", "labels"]),
    (None, "digits", {"exports": []}, ["exports"]),
    (None, "digits", {"sparsity": 1.5}, ["target_sparsity"]),
    (None, "digits", {"method": "magic"}, ["magic", "gradual"]),
])
def test_bad_arguments_raise_one_input_error(model, data, kwargs, words, tmp_path):
    with pytest.raises(tfcompress.InputError) as e:
        tfcompress.compress(small_model() if model is None else model, data,
                            output_dir=tmp_path, **kwargs)
    for w in words:
        assert w in str(e.value)
    assert not (tmp_path / "compress").exists()


def test_run_takes_a_name_or_a_recipe(cached_out):
    result = tfcompress.run("digits_prune_quant", profile="tiny", output_dir=cached_out,
                            overrides={"benchmark.threads": [1]})
    assert result.report.is_file() and len(result.rows) == 6
    assert result.tflite["pruned80_int8"].is_file()
    assert set(result.keras_files) == {r["variant"] for r in result.rows}
    # a Recipe of one's own (derived, two variants): run as it is, under its own name
    import dataclasses

    from tfcompress.recipe import derive

    base = tfcompress.experiment("digits_prune_quant")
    mine = dataclasses.replace(derive(base, "my_digits", "two variants"), variants=tuple(
        v for v in base.variants if v.name in ("float32", "pruned80_int8")))
    own = tfcompress.run(mine, profile="tiny", output_dir=cached_out,
                         overrides={"benchmark.threads": [1]})
    assert own.run_dir == cached_out / "my_digits" / "tiny"
    assert [r["variant"] for r in own.rows] == ["float32", "pruned80_int8"]
    assert own.row("pruned80_int8")["tflite_accuracy"] == result.row(
        "pruned80_int8")["tflite_accuracy"]  # the same steps, found in the cache
    with pytest.raises(tfcompress.InputError, match="a Recipe or an experiment name"):
        tfcompress.run(42, profile="tiny", output_dir=cached_out)
