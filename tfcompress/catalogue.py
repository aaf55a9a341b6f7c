"""The catalogue of experiments: the registered recipes by name, from the installed recipe
packages (the ``tfcompress.experiments`` entry points) and the ``--config`` files a user names.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from tfcompress.errors import InputError
from tfcompress.recipe import Recipe
from tfcompress.registry import Registry

#: The entry-point group recipes come from: tfcompress's own (``tfcompress.experiments``,
#: declared in setup.cfg) and those of any installed package that declares the same group.
ENTRY_POINTS = "tfcompress.experiments"

EXPERIMENTS: Registry[Any] = Registry("experiment")
#: Where each recipe was registered from (a module or a --config file), for --list.
ORIGINS: dict[str, str] = {}
_loaded: list[str] = []


def _experiments() -> Registry[Any]:
    """The registry, after the installed recipe packages (entry points) have been imported."""
    if not _loaded:
        for ep in entry_points(group=ENTRY_POINTS):
            try:
                ep.load()  # importing a recipes module registers its recipes
            except Exception as e:  # a broken plugin: one line naming it, not a traceback
                raise InputError(f"recipes entry point {ep.name!r} ({ep.value}) failed to "
                                 f"load: {type(e).__name__}: {e}") from None
            _loaded.append(ep.value)
        _loaded.append("")  # loaded, even if no entry point exists
    return EXPERIMENTS


def register_experiment(recipe: Any) -> Any:
    """Registers a recipe under its name; returns it so modules can keep a handle."""
    EXPERIMENTS.register(recipe.name, recipe)
    ORIGINS.setdefault(recipe.name, _caller_module())
    return recipe


def _caller_module() -> str:
    frame = inspect.currentframe()
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    return "" if frame is None else str(frame.f_globals.get("__name__", ""))


def load_config(path: str | Path) -> list[str]:
    """Imports a recipe file the user named (``--config``): the recipes it registers, and any
    module-level ``Recipe`` it defines, join the registry. Its code runs: the user asked for it.

    Returns:
      The names of the recipes the file added.

    Raises:
      InputError: no such file, not a .py file, an error while importing it, or no recipe.
    """
    p = Path(path)
    if not p.is_file() or p.suffix != ".py":
        raise InputError(f"--config must name a Python file of recipes; received {str(p)!r}")
    _experiments()
    before = set(EXPERIMENTS.names())
    name = f"tfcompress_config_{hashlib.sha256(str(p.resolve()).encode()).hexdigest()[:12]}"
    spec = importlib.util.spec_from_file_location(name, p)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except InputError as e:
        raise InputError(f"--config {p}: {e}") from None
    except Exception as e:  # the user's own code: one line, naming the file
        sys.modules.pop(name, None)
        raise InputError(f"--config {p} failed: {type(e).__name__}: {e}") from None
    for value in vars(module).values():
        if isinstance(value, Recipe) and value.name not in EXPERIMENTS:
            register_experiment(value)
    added = sorted(set(EXPERIMENTS.names()) - before)
    for n in added:
        ORIGINS[n] = str(p)
    if not added:
        raise InputError(f"--config {p} defines no new recipe (define a Recipe, or call "
                         f"tfcompress.register_experiment)")
    return added


def experiment(name: str) -> Any:
    """The registered recipe called ``name`` (InputError with close matches otherwise)."""
    return _experiments().get(name)


def experiment_names() -> list[str]:
    return _experiments().names()
