"""The checks every spec runs where its values enter: one line naming the field, what is
allowed and what was received."""

from __future__ import annotations

import math
import re
from typing import Any

from tfcompress.errors import InputError

#: field metadata: leave the field out of hashes while it holds its default, so that fields
#: added later do not invalidate cached steps of recipes that do not use them.
LATER = {"hash_default": False}


def _require(ok: bool, path: str, allowed: str, value: Any) -> None:
    if not ok:
        raise InputError(f"{path} must be {allowed}; received {value!r}")


def _positive_int(path: str, value: Any) -> None:
    _require(isinstance(value, int) and not isinstance(value, bool) and value > 0,
             path, "a positive integer", value)


def _number(value: Any) -> bool:
    """A finite int or float (never a bool, NaN or infinity)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


#: Seeds go to numpy, Python and TensorFlow alike; this is the range all of them take.
MAX_SEED = 2**31 - 1
#: More epochs than any published schedule by far: a larger number is a typo, not a plan.
MAX_EPOCHS = 10_000
#: Recipe names become folder names under --output_dir, so they may not hold a path.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def _seed(path: str, value: Any, *, optional: bool = False) -> None:
    ok = (optional and value is None) or (
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SEED)
    _require(ok, path, f"an integer in [0, {MAX_SEED}]" + (" or none" if optional else ""),
             value)


def _as_tuples(spec: Any, *names: str) -> None:
    """Lists given for tuple fields (from Python or --override) become tuples: recipes are
    immutable and hashable."""
    for name in names:
        value = getattr(spec, name)
        if isinstance(value, list):
            object.__setattr__(spec, name, tuple(value))


def _fraction(path: str, value: Any, *, open_top: bool = False) -> None:
    ok = _number(value) and 0.0 <= value and (value < 1.0 if open_top else value <= 1.0)
    _require(ok, path, "a number in [0, 1)" if open_top else "a number in [0, 1]", value)
