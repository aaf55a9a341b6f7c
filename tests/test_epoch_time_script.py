"""scripts/epoch_time.py times an epoch of registered models and refuses bad input in one line."""

import importlib.util

import pytest

from support import REPO

spec = importlib.util.spec_from_file_location("epoch_time", REPO / "scripts" / "epoch_time.py")
epoch_time = importlib.util.module_from_spec(spec)
spec.loader.exec_module(epoch_time)


def test_prints_one_row_per_model_with_its_parameters(capsys):
    assert epoch_time.main(["--models=lenet_300_100,conv2", "--shape=28,28,1",
                            "--images=64", "--batch=32", "--rounds=2"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| `")]
    assert [r.split("|")[1].strip() for r in rows] == ["`lenet_300_100`", "`conv2`"]
    assert rows[0].split("|")[2].strip() == "266,610"
    assert rows[0].split("|")[5].strip() == "1.00x"
    assert float(rows[1].split("|")[3]) > 0


@pytest.mark.parametrize("argv, message", [
    (["--models=conv9"], "Unknown model 'conv9'"),
    (["--models=,"], "--models=',' names no model"),
    (["--shape=32,x,3"], "--shape='32,x,3' is not comma-separated integers"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert epoch_time.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
