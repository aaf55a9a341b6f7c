"""The step cache: each step's outputs in a folder named by a hash of its configuration.

A step works in ``.<kind>-<key>.partial/`` (kept across interruptions, so training can resume
from its epoch backup there) and becomes visible as ``<kind>-<key>/`` only once ``meta.json``
is written and the folder renamed, so a folder without the ``.partial`` suffix is complete.

Processes sharing a store (sweep workers) take a lock per step, so a step is made once and
the others wait for it and reuse it.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tfcompress import atomic

#: Bump when a step's outputs change meaning, so old caches are not reused.
CACHE_VERSION = 2
META = "meta.json"


class Store:
    """Completed step outputs under ``root`` (normally ``saved_models/cache``).

    Args:
      shared: another store whose completed steps are reused but never written (a
        multi-worker training's non-chief workers read the chief's, write their own).
    """

    def __init__(self, root: str | Path, shared: str | Path | None = None):
        self.root = Path(root)
        self.shared = None if shared is None else Path(shared)
        atomic.sweep(self.root)  # what processes killed while committing left behind

    def path(self, kind: str, key: str) -> Path:
        """Where the step is (or will be) complete: this store, or the shared one's copy."""
        own = self.root / f"{kind}-{key}"
        if self.shared is not None and not (own / META).is_file():
            theirs = self.shared / f"{kind}-{key}"
            if (theirs / META).is_file():
                return theirs
        return own

    def get(self, kind: str, key: str) -> Path | None:
        """The completed folder for this step, or None."""
        path = self.path(kind, key)
        return path if (path / META).is_file() else None

    def meta(self, kind: str, key: str) -> dict[str, Any]:
        return json.loads((self.path(kind, key) / META).read_text())

    @contextlib.contextmanager
    def lock(self, kind: str, key: str, name: str = "") -> Iterator[None]:
        """Held while one process makes a step; others wait here (an OS file lock, released
        even if the process dies)."""
        with atomic.locked(self.root / ".locks" / f"{kind}-{key}.lock",
                           f"[{kind}] {name or key}: another process is making it; waiting"):
            yield

    def work_dir(self, kind: str, key: str) -> Path:
        """The folder a step writes into; left in place if the step is interrupted."""
        path = self.root / f".{kind}-{key}.partial"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def commit(self, kind: str, key: str, meta: dict[str, Any]) -> Path:
        """Marks the step complete: writes ``meta.json`` and moves the folder into place."""
        work = self.work_dir(kind, key)
        # Keras' epoch backup is useless once the step finished.
        shutil.rmtree(work / "backup", ignore_errors=True)
        atomic.write_json(work / META, {**meta, "kind": kind, "key": key,
                                        "cache_version": CACHE_VERSION,
                                        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        return atomic.replace_dir(work, self.root / f"{kind}-{key}")  # never the shared one
