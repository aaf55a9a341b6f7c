"""Shared fixtures. Tests never download: TFCOMPRESS_OFFLINE=1 for this process and children."""

from __future__ import annotations

import os
import sys
import tempfile
import zlib
from pathlib import Path

import pytest

os.environ["TFCOMPRESS_OFFLINE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Decoded datasets and unpacked archives go to a cache private to this test session (shared
# with the CLI subprocesses and with pytest-xdist's workers: its files are written atomically),
# so the tests exercise the decoding and never touch ~/.cache.
# CI's two sessions (make test, make test-slow) share one: TFCOMPRESS_TEST_DATA_CACHE.
_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID")
if os.environ.get("TFCOMPRESS_TEST_DATA_CACHE"):
    Path(os.environ["TFCOMPRESS_TEST_DATA_CACHE"]).mkdir(parents=True, exist_ok=True)
    os.environ["TFCOMPRESS_CACHE_DIR"] = os.environ["TFCOMPRESS_TEST_DATA_CACHE"]
elif _RUN:
    _cache = Path(tempfile.gettempdir()) / f"tfcompress-test-cache-{_RUN}"
    _cache.mkdir(exist_ok=True)
    os.environ["TFCOMPRESS_CACHE_DIR"] = str(_cache)
else:
    os.environ["TFCOMPRESS_CACHE_DIR"] = tempfile.mkdtemp(prefix="tfcompress-test-cache-")

from support import DATA_DIR, missing


@pytest.fixture(autouse=True)
def _seeded(request):
    """Every test starts from the same random state whatever its worker ran before it
    (pytest-xdist hands tests out in no fixed order, and a model built without a seed draws
    from the global generators): Python's, NumPy's, TensorFlow's and both Kerases' seeded
    from the test's id."""
    # Keras 3 (TensorFlow imports it; every worker imports both anyway) seeds Python, NumPy
    # and TensorFlow and resets its own global SeedGenerator
    import keras

    seed = zlib.crc32(request.node.nodeid.encode()) % 2**31
    keras.utils.set_random_seed(seed)
    if "tf_keras" in sys.modules:  # its own generator of layer seeds, else drawn from `random`
        sys.modules["tf_keras"].utils.set_random_seed(seed)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The local datasets (../shared/data in CI); tests that need them skip, loudly, without
    (and fail under CI: ``support.required``)."""
    if not (DATA_DIR / "mnist.npz").is_file():
        missing("DATA", f"real data not found in {DATA_DIR}; set TFCOMPRESS_DATA_DIR")
    return DATA_DIR


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One step cache for the whole test session, shared by pytest-xdist's workers (the store
    locks each step, so a step two workers need is made once): tests that read a tiny run, and
    do not test the cache itself, take their trained models from here."""
    if os.environ.get("TFCOMPRESS_TEST_STEP_CACHE"):  # CI: make test and make test-slow share it
        path = Path(os.environ["TFCOMPRESS_TEST_STEP_CACHE"])
        path.mkdir(parents=True, exist_ok=True)
        return path
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the folder every worker's basetemp lives in
    path = root / "shared-step-cache"
    path.mkdir(exist_ok=True)
    return path


def output_dir_sharing(cache: Path, folder: Path) -> Path:
    """``folder`` made an output folder whose step cache is ``cache``."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "cache").exists():
        (folder / "cache").symlink_to(cache, target_is_directory=True)
    return folder


@pytest.fixture
def cached_out(shared_cache, tmp_path) -> Path:
    """A test's own output folder over the session's step cache: its runs reuse every step
    another test made (the run folder is its own)."""
    return output_dir_sharing(shared_cache, tmp_path / "out")


class TinyRuns:
    """Every registered experiment run at most once at the tiny profile for the session, in
    one output folder per worker over the shared step cache; tests read them, never write."""

    def __init__(self, out: Path):
        self.out = out
        self._results: dict[str, object] = {}

    def __call__(self, name: str):
        """The ``tfcompress.Result`` of experiment ``name`` at tiny (real data from
        ``$TFCOMPRESS_DATA_DIR``)."""
        if name not in self._results:
            import tfcompress

            if (tfcompress.experiment(name).data.name != "digits"  # scikit-learn ships digits
                    and not (DATA_DIR / "mnist.npz").is_file()):
                missing("DATA", f"real data not found in {DATA_DIR}; set TFCOMPRESS_DATA_DIR")
            self._results[name] = tfcompress.run(name, profile="tiny", output_dir=self.out,
                                                 data_dir=DATA_DIR)
        return self._results[name]


@pytest.fixture(scope="session")
def tiny_runs(shared_cache, tmp_path_factory) -> TinyRuns:
    return TinyRuns(output_dir_sharing(shared_cache, tmp_path_factory.mktemp("tiny_runs")))


@pytest.fixture(scope="session")
def digits_run(tiny_runs):
    """The tiny digits experiment, run once for the whole session: its recipe, output folder
    (over the shared step cache) and result. Read it; a test that runs it again does so in its
    own folder over the same cache (``cached_out``)."""
    from tfcompress import catalogue

    result = tiny_runs("digits_prune_quant")
    recipe = catalogue.experiment("digits_prune_quant").for_profile("tiny")
    return recipe, tiny_runs.out, result


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under ``--dist loadgroup``, the tests of one group run on one worker.

    A module-scoped fixture is made once per worker that runs a test using it: the tests that
    use one get a group of their own, so it is made once (a test already in a group keeps its
    group). pytest-xdist 3.8 groups by a ``@group`` suffix it writes into ``item._nodeid``,
    which pytest 9 no longer reads (a node's id is ``item._id``): without the suffix written
    here, every ``xdist_group`` mark (``support.shares``) was silently ignored."""
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        defs = getattr(item, "_fixtureinfo", None)
        for name in getattr(defs, "names_closure", ()):
            fixture = defs.name2fixturedefs.get(name)
            if fixture and fixture[-1].scope == "module":
                item.add_marker(pytest.mark.xdist_group(f"{item.module.__name__}.{name}"))
                break
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                         for m in item.iter_markers("xdist_group")})
        if groups and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(groups)}")
