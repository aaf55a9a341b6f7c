"""Progress bars for long steps (calibration, evaluation, benchmarking).

tqdm draws a bar on a terminal and stays quiet in logs (CI), where absl logging reports
each step instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def clock(seconds: float) -> str:
    """A duration as a person reads it: ``M:SS``, or ``H:MM:SS`` from an hour."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def progress(iterable: Iterable[T], desc: str, **kwargs: Any) -> Iterable[T]:
    # disable=None: draw only when stderr is a terminal.
    return tqdm(iterable, desc=desc, disable=None, leave=False, **kwargs)
