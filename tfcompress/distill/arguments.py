"""The arguments every distiller takes, checked the same way for both Keras."""

from __future__ import annotations

from typing import Any


def check(student: Any, teacher: Any, alpha: Any, temperature: Any, *,
          alpha_may_be_zero: bool) -> None:
    """``alpha`` >= 0 (or > 0), ``temperature`` > 0, two different models.

    Raises:
      ValueError: naming the value and what is allowed.
    """
    low = alpha >= 0 if alpha_may_be_zero else alpha > 0
    if not (isinstance(alpha, (int, float)) and low):
        raise ValueError(f"alpha must be a number {'>=' if alpha_may_be_zero else '>'} 0; "
                         f"received {alpha!r}")
    if not (isinstance(temperature, (int, float)) and temperature > 0):
        raise ValueError(f"temperature must be a number > 0; received {temperature!r}")
    if student is teacher:
        raise ValueError("student and teacher must be different models")
