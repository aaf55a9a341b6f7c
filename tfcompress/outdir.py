"""The output folder: checked before any work starts, and every run folder kept inside it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tfcompress.errors import InputError

#: Longest single file or folder name most file systems take (bytes).
NAME_MAX = 255
#: times the check is tried again when another process checking the same new folder removes
#: it under this one
RACES = 50


def check(output_dir: str | os.PathLike) -> Path:
    """Checks that the tool can write under ``output_dir``, leaving nothing behind.

    The folders that do not exist yet are created for a moment, a file is written into the
    deepest and everything made is removed again, so a refusal that follows changes nothing.
    Processes that check one new folder at once (a sweep's chief and workers started
    together) each remove only what they made, and try again when another removed it under
    them.

    Raises:
      InputError: the path is empty, not UTF-8, has a component that is too long, runs
        through a file, or cannot be written (read-only, ``/proc``, no permission).
    """
    text = os.fspath(output_dir)
    if not text.strip():
        raise InputError("--output_dir must name a folder; received ''")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"--output_dir must be a UTF-8 path; received {text!r}") from None
    path = Path(text)
    long = [p for p in path.parts if len(p.encode()) > NAME_MAX]
    if long:
        raise InputError(f"--output_dir has a name longer than {NAME_MAX} bytes "
                         f"({long[0][:40]}...); received {text[:80]!r}...")
    for _ in range(RACES):
        try:
            _probe(path, text)
            return path
        except FileNotFoundError:  # another process removed a folder it had made for this
            continue
    raise InputError(f"--output_dir {text!r} cannot be written (its folders keep "
                     "disappearing); choose a folder you can write to")


def _probe(path: Path, text: str) -> None:
    """Makes the missing folders, writes and removes a file in the deepest, removes the
    folders it made. Raises ``FileNotFoundError`` when a folder vanished under it."""
    made: list[Path] = []
    try:
        missing = []
        p = path.absolute()
        while not p.exists() and not p.is_symlink():
            missing.append(p)
            p = p.parent
        if not p.is_dir():
            raise InputError(f"--output_dir {text!r} runs through {str(p)!r}, which is a file, "
                             f"not a folder")
        for folder in reversed(missing):
            try:
                folder.mkdir()
                made.append(folder)
            except FileExistsError:  # another process made it a moment ago: not ours
                if not folder.is_dir():
                    raise
        fd, probe = tempfile.mkstemp(prefix=".tfcompress-write-check-", dir=path)
        os.close(fd)
        os.remove(probe)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise InputError(f"--output_dir {text!r} cannot be written ({e.strerror or e}); "
                         f"choose a folder you can write to") from None
    finally:
        for folder in reversed(made):
            try:
                folder.rmdir()
            except OSError:  # not empty: another process writes in it
                pass


def run_dir(output_dir: str | os.PathLike, *names: str) -> Path:
    """``output_dir/name/...``, refusing any name that would lead outside ``output_dir``.

    Raises:
      InputError: a name is empty, absolute, or climbs out (``..``) of ``output_dir``.
    """
    root = Path(output_dir).absolute()
    path = root.joinpath(*names)
    bad = [n for n in names if not n or Path(n).is_absolute() or ".." in Path(n).parts
           or "/" in n or "\\" in n]
    if bad or os.path.commonpath([root, path.absolute()]) != str(root):
        raise InputError(f"run folder names must stay inside --output_dir {str(output_dir)!r}; "
                         f"received {bad[0] if bad else '/'.join(names)!r}")
    return Path(output_dir).joinpath(*names)
