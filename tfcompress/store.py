"""The step cache: each step's outputs in a folder named by a hash of its configuration.

A step works in ``.<kind>-<key>.partial/`` (kept across interruptions, so training can resume
from its epoch backup there) and becomes visible as ``<kind>-<key>/`` only once ``meta.json``
is written and the folder renamed, so a folder without the ``.partial`` suffix is complete.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from tfcompress import atomic

#: Bump when a step's outputs change meaning, so old caches are not reused.
CACHE_VERSION = 2
META = "meta.json"


class Store:
    """Completed step outputs under ``root`` (normally ``saved_models/cache``)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, kind: str, key: str) -> Path:
        return self.root / f"{kind}-{key}"

    def get(self, kind: str, key: str) -> Path | None:
        """The completed folder for this step, or None."""
        path = self.path(kind, key)
        return path if (path / META).is_file() else None

    def meta(self, kind: str, key: str) -> dict[str, Any]:
        return json.loads((self.path(kind, key) / META).read_text())

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
        return atomic.replace_dir(work, self.path(kind, key))
