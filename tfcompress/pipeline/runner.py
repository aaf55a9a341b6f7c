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
from tfcompress.progress import clock
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
        self.progress = Progress()

    def reset(self) -> None:
        """A new run: nothing recorded or remembered (the list object stays the same)."""
        self.records.clear()
        self._memo.clear()
        self.progress = Progress()

    def once(self, key: tuple[Any, ...], make: Callable[[], Artifact]) -> Artifact:
        """``make()`` the first time ``key`` is asked for in this run, then its artifact."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def run(self, kind: str, name: str, config: Any,
            produce: Callable[[Path], dict[str, Any]], strategy: str = "default",
            again: bool = False) -> Artifact:
        """The step's artifact from the cache, else made by ``produce`` (under the
        ``tf.distribute`` ``strategy`` when it trains) and committed (``again``: made and
        committed even when cached, replacing it)."""
        key = fingerprint(kind, CACHE_VERSION, config)
        t0 = time.perf_counter()
        found = None if again else self.store.get(kind, key)
        if not found:
            with self.store.lock(kind, key, name):
                # made meanwhile by another process?
                found = None if again else self.store.get(kind, key)
                if not found:
                    work = self.store.work_dir(kind, key)
                    # an epoch backup left by an interrupted run: training resumes from it
                    resumed = any((work / "backup").rglob("state.json"))
                    log.info("[%s] %s: %s (%s, cache key %s)", kind, name,
                             "resuming" if resumed else "running",
                             self.progress.begin(kind), key)
                    with distribute.scope(strategy):
                        meta = produce(work)
                    path = self.store.commit(kind, key, {"name": name, **meta,
                                                         "resumed": resumed})
                    log.info("[%s] %s: done in %s; %s", kind, name,
                             clock(time.perf_counter() - t0),
                             self.progress.end(kind, time.perf_counter() - t0))
        if found:
            log.info("[%s] %s: reusing %s (%s)", kind, name, found, self.progress.begin(kind))
            self.progress.end(kind, None)
            path = found
        artifact = Artifact(path, self.store.meta(kind, key))
        if not any(s.kind == kind and s.key == key for s in self.records):  # once per run
            self.records.append(StepRecord(name, kind, key, bool(found),
                                           time.perf_counter() - t0,
                                           bool(artifact.meta.get("resumed"))))
        return artifact


class Progress:
    """Where a run stands: ``step i of N`` (N from the plan, ``expect``), the time since the
    run began and, once a step of a kind has been made, an estimate of what is left: each
    planned step of that kind at what the made ones cost on average (a cached one costs
    nothing, so the estimate errs long). Steps of a kind not made yet are counted, not timed:
    a training step says nothing of what an export costs."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.planned: list[str] = []
        self.seen: list[str] = []
        self.made: dict[str, list[float]] = {}

    def expect(self, kinds: list[str]) -> None:
        """The kinds of the cached steps the run will ask for, one per step."""
        self.planned = list(kinds)

    def begin(self, kind: str) -> str:
        self.seen.append(kind)
        total = max(len(self.planned), len(self.seen))
        return f"step {len(self.seen)} of {total}" if self.planned else f"step {len(self.seen)}"

    def end(self, kind: str, seconds: float | None) -> str:
        if seconds is not None:
            self.made.setdefault(kind, []).append(seconds)
        elapsed = f"{clock(time.perf_counter() - self.t0)} elapsed"
        left = self.left()
        if left is None:
            return elapsed
        timed, untimed = left
        kinds = ", ".join(sorted(set(untimed)))
        steps = f"{len(untimed)} step{'s' if len(untimed) > 1 else ''}"
        if timed is None:
            return f"{elapsed}; {steps} left, not timed yet ({kinds})"
        more = f", plus {steps} not timed yet ({kinds})" if untimed else ""
        return f"{elapsed}, about {clock(timed)} left{more}"

    def left(self) -> tuple[float | None, list[str]] | None:
        """What the planned steps not yet begun should take: (seconds for those of a kind
        already made, or None when there are none; the kinds of the others, one per step).
        None: nothing made yet, or nothing left."""
        remaining = list(self.planned)
        for kind in self.seen:
            if kind in remaining:
                remaining.remove(kind)
        if not self.made or not remaining:
            return None
        mean = {k: sum(v) / len(v) for k, v in self.made.items()}
        known = [mean[k] for k in remaining if k in mean]
        return (sum(known) if known else None), [k for k in remaining if k not in mean]
