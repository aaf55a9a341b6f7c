"""Atomic writes: a reader sees the old file or the new one, never half of one; and the lock
that makes one process of several make a thing while the others wait for it."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import functools
import json
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
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
    sweep(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}{_owned()}", suffix=path.suffix,
                               dir=path.parent)
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
        os.rename(tmp_dir, final_dir)
    except OSError:
        if not final_dir.is_dir():
            raise
        # Another run finished the same step first; its result is equivalent. The copy is
        # renamed away first, so a kill while it is deleted leaves a name ``sweep`` removes.
        discard(Path(tmp_dir))
    return final_dir


def replace_tree(final: Path, fill: Callable[[Path], None]) -> Path:
    """Calls ``fill(tmp_dir)`` and swaps the folder in for ``final``.

    Readers never see a half-written folder and, where the system can swap two folders in one
    step (Linux ``renameat2``), never a moment without one; a failure leaves the previous one
    untouched. Two processes publishing the same folder both succeed (the later one wins),
    and what a killed process leaves behind is removed by the next publish.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    sweep(final.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}{_owned()}", dir=final.parent))
    try:
        fill(tmp)
        _publishable(str(tmp), 0o777)
        _swap_in(tmp, final)
    finally:
        if tmp.exists():  # the old folder after a swap, or the unfinished new one
            discard(tmp)
    return final


def _swap_in(tmp: Path, final: Path) -> None:
    while True:
        try:
            os.rename(tmp, final)  # atomic where ``final`` is absent (or an empty folder)
            return
        except OSError as e:
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        if exchange(tmp, final):
            return
        # No atomic swap here: move the old folder aside first (a moment without ``final``).
        old = final.with_name(f".{final.name}{_owned()}old")
        try:
            os.rename(final, old)
        except FileNotFoundError:
            continue  # another publisher moved it meanwhile: try again
        os.rename(tmp, final)
        discard(old)
        return


def exchange(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Swaps two existing paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``).

    Returns:
      False where the system or file system cannot do it.
    """
    fn = getattr(_libc(), "renameat2", None)
    if fn is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), os.fspath(a))


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


#: Temporary names carry their owner (``.<name>.~<host>~<pid>~...``) so that the leftovers of
#: a killed process can be told from the work of a running one.
_MARK = "~"


def _owned() -> str:
    return f".{_MARK}{socket.gethostname()}{_MARK}{os.getpid()}{_MARK}"


def discard(path: Path) -> None:
    """Deletes a folder (or file) after renaming it to a temporary name of this process."""
    trash = path.with_name(f".{path.name.lstrip('.')}{_owned()}trash")
    try:
        os.rename(path, trash)
    except OSError:
        trash = path
    _remove(str(trash))


def sweep(folder: Path) -> list[Path]:
    """Removes the temporary entries in ``folder`` that processes of this host left when
    they were killed (their process no longer runs). Returns what was removed."""
    host = socket.gethostname()
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        parts = entry.name.split(_MARK)
        if len(parts) < 4 or not entry.name.startswith(".") or parts[1] != host:
            continue
        try:
            pid = int(parts[2])
        except ValueError:
            continue
        if pid != os.getpid() and not _alive(pid):
            _remove(str(entry))
            removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: str) -> None:
    try:
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    except FileNotFoundError:
        pass


@contextlib.contextmanager
def locked(path: str | os.PathLike, waiting: str = "") -> Iterator[None]:
    """Held while one process makes something others would make too (a cached step, an
    unpacked archive, decoded images); the others wait here, then find it made. An OS file
    lock on ``path`` (its folder made if missing), released even if the process dies.
    ``waiting``: logged when another process holds it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting:
                logging.getLogger("tfcompress").info("%s", waiting)
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
