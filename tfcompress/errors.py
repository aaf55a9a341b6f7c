"""Errors that mean "the user asked for something invalid" (CLI exit status 2)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class InputError(ValueError):
    """Invalid user input: unknown name, impossible value, missing or corrupt file.

    The message is one line that names the value, what is allowed and what was received.
    """


def unknown_name(kind: str, name: str, choices: Iterable[str]) -> InputError:
    """Builds the error for an unknown name, listing close matches and every choice."""
    choices = sorted(choices)
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return InputError(
        f"Unknown {kind} {name!r}.{hint} Expected one of: {', '.join(choices)}."
    )


class SweepFailed(RuntimeError):
    """A sweep produced nothing to choose from: every trial failed, or too many in a row
    (CLI exit status 1, one line naming the first reason and where the trials are)."""
