"""Name -> object registries: every name a recipe may use.

Each name that appears in a recipe (dataset, model, optimizer, schedule, export mode, ...) is
turned into an object by one ``Registry``, in exactly one place. Entries are
``"module:attribute"`` strings imported on first use, so validating a recipe or listing
experiments does not import TensorFlow. The registered experiments are ``catalogue``'s.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

from tfcompress.errors import unknown_name

T = TypeVar("T")


class Registry(Generic[T]):
    """A named table of lazily imported objects of one kind (e.g. "model")."""

    def __init__(self, kind: str, entries: Mapping[str, str] | None = None):
        self.kind = kind
        self._targets: dict[str, str] = {}
        self._objects: dict[str, T] = {}
        for name, target in (entries or {}).items():
            self.register(name, target)

    def register(self, name: str, target: str | T) -> None:
        """Adds ``name``; ``target`` is an object or a ``"module:attribute"`` string."""
        if name in self._targets or name in self._objects:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        if isinstance(target, str):
            self._targets[name] = target
        else:
            self._objects[name] = target

    def unregister(self, name: str) -> None:
        """Withdraws ``name`` (a plugin's or a test's own entry)."""
        self.check(name)
        self._targets.pop(name, None)
        self._objects.pop(name, None)

    def names(self) -> list[str]:
        return sorted({*self._targets, *self._objects})

    def __contains__(self, name: object) -> bool:
        return name in self._targets or name in self._objects

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def check(self, name: str) -> str:
        """Returns ``name`` if registered, else raises InputError listing the choices."""
        if name not in self:
            raise unknown_name(self.kind, name, self.names())
        return name

    def get(self, name: str) -> T:
        self.check(name)
        if name not in self._objects:
            module, _, attr = self._targets[name].partition(":")
            self._objects[name] = getattr(importlib.import_module(module), attr)
        return self._objects[name]
