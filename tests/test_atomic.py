"""Publishing a run folder and committing a cache entry, killed at every write point.

A child process does the real work with each file-system call counted; at call ``k`` it dies
with ``os._exit`` (no cleanup handler runs, as with SIGKILL), before or after the call. The
folder must never be missing or half-written, and the next run must leave nothing behind.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from support import QUICK
from tfcompress import atomic
from tfcompress.store import Store

CHILD = textwrap.dedent("""
    import os, shutil, sys, tempfile
    from pathlib import Path
    from tfcompress import atomic
    from tfcompress.store import Store

    action, root, version, point, when = sys.argv[1:6]
    root, point = Path(root), int(point)
    calls = 0

    def hooked(fn):
        def call(*args, **kwargs):
            global calls
            calls += 1
            mine = calls
            if mine == point and when == "before":
                os._exit(137)
            try:
                return fn(*args, **kwargs)
            finally:  # also after a call that failed (mkdir of an existing folder)
                if mine == point and when == "after":
                    os._exit(137)
        return call

    for module, name in [(os, "rename"), (os, "replace"), (os, "mkdir"), (os, "rmdir"),
                         (os, "unlink"), (os, "remove"), (os, "fsync"), (shutil, "rmtree"),
                         (tempfile, "mkdtemp"), (tempfile, "mkstemp"), (atomic, "exchange")]:
        setattr(module, name, hooked(getattr(module, name)))

    def fill(tmp):
        atomic.write_text(tmp / "report.md", version)
        atomic.write_bytes(tmp / "plots" / "size.png", version.encode())

    if action == "publish":
        atomic.replace_tree(root / "exp" / "quick", fill)
    else:
        store = Store(root / "cache")
        if store.get("train", "k") is None:
            work = store.work_dir("train", "k")
            (work / "backup").mkdir(exist_ok=True)
            atomic.write_text(work / "model.keras", version)
            store.commit("train", "k", {"version": version})
    print("CALLS", calls)
""")


def child(action, root, version, point=10**9, when="before"):
    return subprocess.run([sys.executable, "-c", CHILD, action, str(root), version, str(point),
                           when], capture_output=True, text=True, timeout=QUICK)


def hidden(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*"))


def write_points(action, tmp_path):
    proc = child(action, tmp_path / "count", "v1")
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[-1])


@pytest.mark.parametrize("action", ["publish", "commit"])
def test_a_kill_at_any_write_point_leaves_nothing_behind(action, tmp_path):
    points = write_points(action, tmp_path)
    assert points >= 8  # the hooks do see the writes
    for k in range(1, points + 1):
        for when in ("before", "after"):
            root = tmp_path / f"{k}{when}"
            if action == "publish":
                assert child(action, root, "v1").returncode == 0
            killed = child(action, root, "v2", k, when)
            assert killed.returncode == 137, (k, when, killed.stderr)
            if action == "publish":  # never missing, never half-written
                final = root / "exp" / "quick"
                assert (final / "report.md").read_text() in ("v1", "v2"), (k, when)
                assert (final / "plots" / "size.png").is_file(), (k, when)
            rerun = child(action, root, "v2")
            assert rerun.returncode == 0, (k, when, rerun.stderr)
            if action == "publish":
                final = root / "exp" / "quick"
                assert (final / "report.md").read_text() == "v2"
                assert hidden(root) == [], (k, when)
            else:
                entry = root / "cache" / "train-k"
                assert (entry / "model.keras").read_text() in ("v1", "v2")
                assert sorted(p.name for p in entry.iterdir()) == ["meta.json", "model.keras"]
                assert hidden(root / "cache") == [], (k, when)


def test_two_processes_publishing_the_same_folder_both_succeed(tmp_path):
    loop = ("import sys\nfrom pathlib import Path\nfrom tfcompress import atomic\n"
            "for i in range(40):\n"
            "    atomic.replace_tree(Path(sys.argv[1]), lambda t: [(t / f'f{j}').write_text("
            "sys.argv[2]) for j in range(20)])\n")
    final = tmp_path / "exp" / "quick"
    procs = [subprocess.Popen([sys.executable, "-c", loop, str(final), name],
                              stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    errors = [p.communicate(timeout=QUICK)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    texts = {(final / f"f{j}").read_text() for j in range(20)}
    assert len(texts) == 1 and texts <= {"a", "b"}  # one publisher's whole folder
    assert hidden(tmp_path) == []


def test_sweep_removes_only_what_dead_processes_of_this_host_left(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, timeout=QUICK).stdout.strip()
    host = atomic.socket.gethostname()
    left = tmp_path / f".quick.~{host}~{dead}~abc"
    mine = tmp_path / f".quick.~{host}~{os.getpid()}~abc"
    other_host = tmp_path / f".quick.~elsewhere~{dead}~abc"
    for p in (left, mine, other_host):
        p.mkdir()
    (tmp_path / "quick").mkdir()
    assert atomic.sweep(tmp_path) == [left]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [mine.name, other_host.name, "quick"])


def test_exchange_swaps_two_folders_in_one_step(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "x").write_text("a"), (b / "x").write_text("b")
    if not atomic.exchange(a, b):
        pytest.skip("this file system cannot swap folders atomically")
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


def test_a_store_sweeps_on_open(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, timeout=QUICK).stdout.strip()
    trash = tmp_path / f".train-k.~{atomic.socket.gethostname()}~{dead}~trash"
    trash.mkdir(parents=True)
    Store(tmp_path)
    assert not trash.exists()
