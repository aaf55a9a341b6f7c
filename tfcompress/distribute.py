"""``tf.distribute`` strategies a recipe names for its training (``train.strategy``).

* ``default``: no strategy (one device).
* ``mirrored``: ``MirroredStrategy`` over this machine's devices (its GPUs; on a CPU-only
  machine one replica).
* ``multi_worker``: ``MultiWorkerMirroredStrategy``; every worker runs the same command with
  its own ``TF_CONFIG`` (``{"cluster": {"worker": [...]}, "task": {"type": "worker",
  "index": i}}``). Worker 0 (or the ``chief`` task) is the one that commits results; the
  others train in step with it and write to a scratch folder of their own.

``train.batch_size`` stays the global batch: each of N replicas gets 1/N of it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

from tfcompress.errors import InputError
from tfcompress.registry import Registry

#: ``train.strategy`` -> a maker of the ``tf.distribute`` strategy (None: no strategy)
STRATEGIES: Registry = Registry(
    "strategy",
    {
        "default": "tfcompress.distribute:no_strategy",
        "mirrored": "tfcompress.distribute:mirrored",
        "multi_worker": "tfcompress.distribute:multi_worker",
    },
)

log = logging.getLogger("tfcompress")

_made: dict[str, Any] = {}


def _tf_config() -> dict[str, Any] | None:
    """``TF_CONFIG`` parsed (None when it is not set); its task is checked here."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return None
    try:
        config = json.loads(raw)
        str(config["task"]["type"]), int(config["task"]["index"])
    except (ValueError, KeyError, TypeError):
        raise InputError(f"TF_CONFIG must be JSON with a task {{\"type\", \"index\"}} and a "
                         f"cluster; received {raw!r}") from None
    return config


def task() -> tuple[str, int] | None:
    """This process's (task type, index) from ``TF_CONFIG``, or None when it is not set."""
    config = _tf_config()
    return None if config is None else (str(config["task"]["type"]),
                                        int(config["task"]["index"]))


def is_chief() -> bool:
    """Whether this process writes results: always, unless it is a multi-worker cluster's
    non-chief task (the chief is the ``chief`` task, else worker 0)."""
    config = _tf_config()
    if config is None:
        return True
    t = task()
    return t[0] == "chief" if "chief" in config.get("cluster", {}) else t == ("worker", 0)


def strategy(name: str) -> Any:
    """The strategy called ``name`` (a name the recipe validated; one per process:
    TensorFlow allows one multi-worker strategy per program)."""
    if name == "multi_worker" and _tf_config() is None:
        raise InputError("train.strategy multi_worker needs TF_CONFIG (the cluster's workers "
                         "and this task's type and index); it is not set")
    if name not in _made:
        _made[name] = STRATEGIES.get(name)()
        log.info("tf.distribute %s: %d replica(s) in sync", name,
                 _made[name].num_replicas_in_sync)
    return _made[name]


def no_strategy() -> None:
    return None


def mirrored() -> Any:
    from tfcompress._keras import tf

    return tf.distribute.MirroredStrategy()


def multi_worker() -> Any:
    from tfcompress._keras import tf

    return tf.distribute.MultiWorkerMirroredStrategy()


@contextlib.contextmanager
def scope(name: str) -> Iterator[None]:
    """Variables made inside (models built, loaded or wrapped for pruning, optimizers) are
    distributed by the strategy ``name``; ``default`` (no strategy) does nothing."""
    if STRATEGIES.get(name) is no_strategy:
        yield
        return
    with strategy(name).scope():
        yield
