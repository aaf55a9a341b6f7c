"""What a user's model file is, told without TensorFlow (so that a missing or wrong file is
one line before TensorFlow's start-up): ``.keras``, ``.h5`` or a SavedModel folder."""

from __future__ import annotations

import zipfile
from pathlib import Path

from tfcompress import errors
from tfcompress.errors import InputError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ACCEPTED = ".keras, .h5 or a SavedModel folder"


def needs_path() -> str:
    """The refusal of a user-model experiment run without a model, in the caller's words."""
    return "this experiment compresses your own model: " + errors.fix(
        cli="pass --model_path=model.keras|model.h5|SavedModel folder, or --override "
            "model.path=...",
        python="pass overrides={'model.path': 'model.keras'} (a .keras, .h5 or SavedModel "
               "folder), or call compress(model, data)")


def check(path: str | Path) -> str:
    """What kind of model file ``path`` is (``keras``, ``h5``, ``savedmodel``), cheaply.

    Raises:
      InputError: it does not exist or is not a Keras model file.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"model.path {str(p)!r} does not exist; expected {ACCEPTED}")
    if p.is_dir():
        if not (p / "saved_model.pb").is_file():
            raise InputError(f"{p} is a folder without saved_model.pb; expected {ACCEPTED}")
        with open(p / "saved_model.pb", "rb") as f:
            first = f.read(1)
        # a SavedModel protocol buffer opens with its field 1 (schema version, a varint) or
        # field 2 (the meta graphs): anything else is not one
        if first not in (b"\x08", b"\x12"):
            raise InputError(f"{p / 'saved_model.pb'} is not a readable SavedModel (not a "
                             f"SavedModel protocol buffer); expected {ACCEPTED}")
        return "savedmodel"
    with open(p, "rb") as f:
        head = f.read(8)
    if head == HDF5_MAGIC:
        return "h5"
    if zipfile.is_zipfile(p):
        with zipfile.ZipFile(p) as z:
            if "config.json" in z.namelist():
                return "keras"
    raise InputError(f"{p} is not a Keras model file (neither HDF5 nor a .keras archive); "
                     f"expected {ACCEPTED}")
