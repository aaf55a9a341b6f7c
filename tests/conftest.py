"""Shared fixtures. Tests never download: TFCOMPRESS_OFFLINE=1 for this process and children."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ["TFCOMPRESS_OFFLINE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Decoded datasets and unpacked archives go to a cache private to this test session (shared
# with the CLI subprocesses), so the tests exercise the decoding and never touch ~/.cache.
os.environ["TFCOMPRESS_CACHE_DIR"] = tempfile.mkdtemp(prefix="tfcompress-test-cache-")

from support import DATA_DIR, missing


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The local datasets (../shared/data in CI); tests that need them skip, loudly, without
    (and fail under CI: ``support.required``)."""
    if not (DATA_DIR / "mnist.npz").is_file():
        missing("DATA", f"real data not found in {DATA_DIR}; set TFCOMPRESS_DATA_DIR")
    return DATA_DIR


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory):
    """The tiny digits experiment, run once for the whole session."""
    from tfcompress import registry
    from tfcompress.pipeline import Pipeline

    out = tmp_path_factory.mktemp("saved_models")
    recipe = registry.experiment("digits_prune_quant").for_profile("tiny")
    result = Pipeline(recipe, profile="tiny", output_dir=out).run()
    return recipe, out, result

