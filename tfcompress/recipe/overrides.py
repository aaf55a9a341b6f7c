"""``--override key=value``: dotted paths into a recipe, each change validated again."""

from __future__ import annotations

import ast
import dataclasses
import functools
import typing
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tfcompress.errors import InputError, unknown_name
from tfcompress.recipe.checks import _number
from tfcompress.recipe.variant import Variant

if TYPE_CHECKING:
    from tfcompress.recipe.core import Recipe


def parse_override(text: str) -> tuple[str, Any]:
    """Parses ``key=value``; the value is a Python literal, ``none``/``null``, or a string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InputError(f"--override must look like key=value (e.g. train.epochs=3); "
                         f"received {text!r}")
    raw = raw.strip()
    if raw.lower() in ("none", "null"):
        return key, None
    if raw.lower() in ("true", "false"):
        return key, raw.lower() == "true"
    try:
        return key, ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return key, raw


def apply_overrides(recipe: Recipe, overrides: Mapping[str, Any] | Iterable[str]) -> Recipe:
    """Applies dotted-path overrides, e.g. ``{"train.epochs": 2}`` or ``["train.epochs=2"]``.

    Paths address dataclass fields and mapping keys; inside ``variants`` the next segment is
    a variant name or ``*`` (every variant that has that field set, e.g.
    ``variants.*.prune.frequency``).
    """
    if not isinstance(overrides, Mapping):
        overrides = dict(parse_override(o) for o in overrides)
    for path, value in overrides.items():
        if path.split(".")[0] == "profiles":
            raise InputError("profiles cannot be overridden; pass --profile instead")
        recipe = _set(recipe, path.split("."), value, path)
    return recipe


def _set(obj: Any, parts: list[str], value: Any, path: str) -> Any:
    head, rest = parts[0], parts[1:]
    if isinstance(obj, tuple) and obj and all(isinstance(v, Variant) for v in obj):
        names = [v.name for v in obj]
        if head != "*" and head not in names:
            raise unknown_name(f"variant in override {path!r}", head, names)
        if not rest:
            raise InputError(f"override {path!r} must name a field of the variant")
        out = []
        for v in obj:
            if head == v.name or (head == "*" and _has_path(v, rest)):
                v = _set(v, rest, value, path)
            out.append(v)
        return tuple(out)
    if dataclasses.is_dataclass(obj):
        fields = {f.name: f for f in dataclasses.fields(obj)}
        if head not in fields:
            raise unknown_name(f"field in override {path!r}", head, fields)
        current = getattr(obj, head)
        if rest:
            if current is None:
                raise InputError(f"override {path!r}: {head} is not set in this recipe")
            new = _set(current, rest, value, path)
        else:
            new = _coerce(current, value)
            _check_section(type(obj), head, new, path)
        try:
            return dataclasses.replace(obj, **{head: new})
        except InputError as e:
            raise InputError(f"override {path!r}: {e}") from None
    if isinstance(obj, Mapping):
        new = dict(obj)
        if rest and not isinstance(obj.get(head), (Mapping, tuple)) \
                and not dataclasses.is_dataclass(obj.get(head)):
            whole = path.rsplit(".", len(rest))[0]
            raise InputError(f"override {path!r}: {head!r} holds no fields"
                             + (f" (it is {obj[head]!r})" if head in obj else " (it is not set)")
                             + f"; set it whole, e.g. --override={whole}=...")
        new[head] = _set(obj[head], rest, value, path) if rest else value
        return new
    raise InputError(f"override {path!r}: cannot descend into {type(obj).__name__}")


@functools.lru_cache(maxsize=None)
def _sections(cls: type) -> dict[str, tuple[tuple[type, ...], bool]]:
    """The fields of ``cls`` that hold a spec: field -> (spec types, whether None is allowed)."""
    out = {}
    for name, hint in typing.get_type_hints(cls).items():
        args = typing.get_args(hint) or (hint,)
        specs = tuple(a for a in args if dataclasses.is_dataclass(a))
        if specs and typing.get_origin(hint) is not tuple:
            out[name] = (specs, type(None) in args)
    return out


def _check_section(cls: type, name: str, value: Any, path: str) -> None:
    """A whole section replaced by an override (``train=3``) must still be a section."""
    section = _sections(cls).get(name)
    if section is None:
        return
    specs, optional = section
    if isinstance(value, specs) or (optional and value is None):
        return
    allowed = "none, or " if optional else ""
    raise InputError(f"override {path!r} replaces the whole {name} section; expected "
                     f"{allowed}its fields one by one (e.g. {path}.<field>=value); "
                     f"received {value!r}")


def _has_path(obj: Any, parts: list[str]) -> bool:
    for part in parts[:-1]:
        obj = getattr(obj, part, None)
        if obj is None:
            return False
    return hasattr(obj, parts[-1])


def _coerce(current: Any, value: Any) -> Any:
    """Keeps the recipe's types: ints where floats are expected, lists where tuples are."""
    if isinstance(current, float) and _number(value):
        return float(value)
    if isinstance(value, list):
        return tuple(value)
    if isinstance(current, tuple) and _number(value):
        return (value,)
    return value
