"""Atomic writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publishable(path: str, mode: int) -> None:
    """mkstemp/mkdtemp create private (0600/0700) entries; give them the usual permissions."""
    os.chmod(path, mode & ~_umask())


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Writes ``data`` to ``path`` through a temporary file in the same directory."""
    return write_with(path, lambda tmp: Path(tmp).write_bytes(data))


def write_text(path: str | os.PathLike, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_with(path: str | os.PathLike, writer: Callable[[str], Any]) -> Path:
    """Calls ``writer(tmp_path)`` and renames the result onto ``path`` once it returned.

    Used for files written by other libraries (Keras ``save``, matplotlib ``savefig``).
    The temporary name keeps the suffix, because those libraries pick the format from it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        writer(tmp)
        _publishable(tmp, 0o666)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    return path


def replace_dir(tmp_dir: str | os.PathLike, final_dir: str | os.PathLike) -> Path:
    """Moves a fully written directory into place; an existing complete one wins."""
    final_dir = Path(final_dir)
    try:
        os.replace(tmp_dir, final_dir)
    except OSError:
        if not final_dir.is_dir():
            raise
        # Another run finished the same step first; its result is equivalent.
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return final_dir


def replace_tree(final: Path, fill: Callable[[Path], None]) -> Path:
    """Calls ``fill(tmp_dir)`` and swaps the folder in for ``final``.

    Readers never see a half-written folder, and a failure leaves the previous one untouched.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        fill(tmp)
        _publishable(str(tmp), 0o777)
        old = None
        if final.exists():
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            os.replace(final, old)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _remove(path: str) -> None:
    try:
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    except FileNotFoundError:
        pass
