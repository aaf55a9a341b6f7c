"""The step cache shared between processes: reading another store's steps, per-step locks."""

from __future__ import annotations

import fcntl
import json

import pytest

from tfcompress.store import Store


def test_a_store_reuses_the_shared_stores_steps_but_commits_only_to_its_own(tmp_path):
    chief, worker = Store(tmp_path / "chief"), Store(tmp_path / "w1", shared=tmp_path / "chief")
    (chief.work_dir("train", "k") / "model.keras").write_text("chief's")
    chief.commit("train", "k", {"name": "baseline"})
    assert worker.get("train", "k") == tmp_path / "chief" / "train-k"
    assert worker.meta("train", "k")["name"] == "baseline"
    # a worker that made the step itself keeps its copy; the chief's is left alone
    (worker.work_dir("train", "k") / "model.keras").write_text("worker's")
    assert worker.commit("train", "k", {"name": "mine"}) == tmp_path / "w1" / "train-k"
    assert (tmp_path / "chief" / "train-k" / "model.keras").read_text() == "chief's"
    assert json.loads((tmp_path / "chief" / "train-k" / "meta.json").read_text())["name"] == \
        "baseline"
    assert worker.get("train", "k") == tmp_path / "w1" / "train-k"


def test_a_step_lock_is_held_against_other_holders(tmp_path):
    store = Store(tmp_path)
    with store.lock("prune", "k"):
        with open(tmp_path / ".locks" / "prune-k.lock", "a") as other:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with open(tmp_path / ".locks" / "prune-k.lock", "a") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released
