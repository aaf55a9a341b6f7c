"""One protocol for every step: a cached step's output is reused, else made and committed.

A step is its kind, its name, the configuration its output depends on (hashed into the cache
key), how it produces its output into a work folder, and the ``tf.distribute`` strategy it trains
under. The runner finds it in the store, or makes it under the store's lock (another process may
be making it), resuming from the epoch backup an interrupted run left, and records what it did.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfcompress import distribute
from tfcompress.recipe import fingerprint
from tfcompress.store import CACHE_VERSION, Store

log = logging.getLogger("tfcompress")


@dataclass(frozen=True)
class Artifact:
    """A completed step: its cache folder and the facts it recorded (``meta.json``)."""

    path: Path
    meta: dict[str, Any]


@dataclass
class StepRecord:
    name: str
    kind: str
    key: str
    cached: bool
    seconds: float
    resumed: bool = False  # made after an interruption, from its last epoch backup


class Runner:
    """Runs steps against ``store``; ``records`` lists each step once per run, in order."""

    def __init__(self, store: Store, records: list[StepRecord] | None = None):
        self.store = store
        self.records: list[StepRecord] = [] if records is None else records  # may be shared
        self._memo: dict[tuple[Any, ...], Artifact] = {}

    def reset(self) -> None:
        """A new run: nothing recorded or remembered (the list object stays the same)."""
        self.records.clear()
        self._memo.clear()

    def record(self, step: StepRecord) -> None:
        """Records a step that did not go through ``run`` (the benchmark: never cached)."""
        self.records.append(step)

    def once(self, key: tuple[Any, ...], make: Callable[[], Artifact]) -> Artifact:
        """``make()`` the first time ``key`` is asked for in this run, then its artifact."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def run(self, kind: str, name: str, config: Any,
            produce: Callable[[Path], dict[str, Any]], strategy: str = "default") -> Artifact:
        """The step's artifact from the cache, else made by ``produce`` (under the
        ``tf.distribute`` ``strategy`` when it trains) and committed."""
        key = fingerprint(kind, CACHE_VERSION, config)
        t0 = time.perf_counter()
        found = self.store.get(kind, key)
        if not found:
            with self.store.lock(kind, key, name):
                found = self.store.get(kind, key)  # made meanwhile by another process?
                if not found:
                    work = self.store.work_dir(kind, key)
                    # an epoch backup left by an interrupted run: training resumes from it
                    resumed = any((work / "backup").rglob("state.json"))
                    log.info("[%s] %s: %s (cache key %s)", kind, name,
                             "resuming" if resumed else "running", key)
                    with distribute.scope(strategy):
                        meta = produce(work)
                    path = self.store.commit(kind, key, {"name": name, **meta,
                                                         "resumed": resumed})
        if found:
            log.info("[%s] %s: reusing %s", kind, name, found)
            path = found
        artifact = Artifact(path, self.store.meta(kind, key))
        if not any(s.kind == kind and s.key == key for s in self.records):  # once per run
            self.records.append(StepRecord(name, kind, key, bool(found),
                                           time.perf_counter() - t0,
                                           bool(artifact.meta.get("resumed"))))
        return artifact
