"""Errors that mean "the user asked for something invalid" (CLI exit status 2)."""

from __future__ import annotations

import contextlib
import contextvars
import difflib
from collections.abc import Iterable, Iterator


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


#: who is running the library: ``python`` (a call of ``run``/``compress``; the default) or
#: ``cli`` (``tfcompress.run``'s command line, set by its ``main``)
_CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("tfcompress_caller",
                                                              default="python")
CALLERS = ("python", "cli")


@contextlib.contextmanager
def called_from(caller: str) -> Iterator[None]:
    """Errors raised inside name their fix in ``caller``'s spelling first (``fix``)."""
    if caller not in CALLERS:
        raise unknown_name("caller", caller, CALLERS)
    token = _CALLER.set(caller)
    try:
        yield
    finally:
        _CALLER.reset(token)


def fix(*, cli: str, python: str, recipe: str | None = None) -> str:
    """How to fix an input, in the spelling of whoever runs the library first (a flag or
    ``--override`` from the command line; an argument from Python), the others after it in
    parentheses: ``fix(cli="run with --pixel_range=0-255", python="pass pixel_range='0-255'")``
    -> ``pass pixel_range='0-255' (command line: run with --pixel_range=0-255)`` in Python."""
    others = [("recipe", recipe)] if recipe else []
    if _CALLER.get() == "cli":
        first, others = cli, [("Python", python), *others]
    else:
        first, others = python, [("command line", cli), *others]
    return first + " (" + "; ".join(f"{who}: {how}" for who, how in others) + ")"


class SweepFailed(RuntimeError):
    """A sweep produced nothing to choose from: every trial failed, or too many in a row
    (CLI exit status 1, one line naming the first reason and where the trials are)."""
