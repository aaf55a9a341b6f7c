"""Stable hashes of plain data: the cache keys of steps."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        obj = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)
               if f.metadata.get("hash_default", True)
               or getattr(obj, f.name) != (f.default if f.default is not dataclasses.MISSING
                                          else f.default_factory())}
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def fingerprint(*parts: Any) -> str:
    """A short stable hash of plain data (dataclasses, mappings, lists, scalars)."""
    blob = json.dumps(_plain(list(parts)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
