"""What a person watching a training sees: ``Epoch k/N`` with the real total, a bar on a
terminal, and in a log (no terminal) one line per epoch plus a line every ``every`` seconds of a
long epoch, so a log never goes quiet for minutes.

Each epoch is its own ``fit`` call (``loop.fit``: exact resume), so Keras' own progress bar
would number epochs ``2/2 ... 30/30`` and never print ``Epoch 1/30``; this callback prints what
the whole training is.
"""

from __future__ import annotations

import functools
import sys
import time
from typing import Any

from tfcompress import flavor
from tfcompress.progress import clock

#: seconds between the lines of a long epoch in a non-interactive log
EVERY = 30.0


def _metrics(logs: dict[str, Any] | None) -> str:
    return " - ".join(f"{k}: {float(v):.4f}" for k, v in (logs or {}).items() if _number(v))


class _Progress:
    """The callback's behaviour, mixed into the Keras flavour's ``Callback`` (``callback``)."""

    def __init__(self, epoch: int, epochs: int, steps: int, label: str = "",
                 interactive: bool | None = None, every: float = EVERY, out=None):
        super().__init__()
        self.epoch, self.epochs, self.steps, self.every = epoch, epochs, steps, every
        self.label = f"{label} " if label else ""
        self.out = out or sys.stdout
        self.interactive = self.out.isatty() if interactive is None else interactive
        self._bar = None

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = self._last = time.perf_counter()
        self._print(f"{self.label}Epoch {self.epoch + 1}/{self.epochs}")
        self._bar = None

    def _update_bar(self, current: int, logs: dict | None, finalize: bool = False) -> None:
        values = [(k, float(v)) for k, v in (logs or {}).items() if _number(v)]
        if self._bar is None:
            # the logs hold running means already: shown as they are, not averaged again
            names = [k for k, _ in values]
            self._bar = flavor.module(self.model).utils.Progbar(
                self.steps, stateful_metrics=names + [f"val_{k}" for k in names])
        self._bar.update(current, values, finalize=finalize)

    def on_train_batch_end(self, batch, logs=None):
        if self.interactive:
            self._update_bar(batch + 1, logs)
            return
        now = time.perf_counter()
        if now - self._last >= self.every and batch + 1 < self.steps:
            self._last = now
            rate = (now - self._t0) / (batch + 1)
            self._print(f"  {batch + 1}/{self.steps} steps - {clock(now - self._t0)} - "
                        f"about {clock(rate * (self.steps - batch - 1))} left in this epoch"
                        f" - {_metrics(logs)}")

    def on_epoch_end(self, epoch, logs=None):
        took = time.perf_counter() - self._t0
        if self.interactive:  # the bar's last update, with the validation metrics
            self._update_bar(self.steps, logs, finalize=True)
            return
        self._print(f"  {self.steps}/{self.steps} steps - {clock(took)} - {_metrics(logs)}")


def _number(v: Any) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


@functools.lru_cache(maxsize=None)
def _class(base: type) -> type:
    return type("EpochProgress", (_Progress, base), {})


def callback(kmod: Any, epoch: int, epochs: int, steps: int, label: str = "", **kwargs):
    """The progress callback for epoch ``epoch`` (from 0) of ``epochs``, a ``Callback`` of the
    Keras flavour ``kmod`` (``tf_keras`` or Keras 3) the model trains under."""
    return _class(kmod.callbacks.Callback)(epoch, epochs, steps, label, **kwargs)
