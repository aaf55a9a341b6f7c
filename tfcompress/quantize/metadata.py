"""TFLite Model Metadata for image classifiers, written from the public flatbuffer schema.

What MediaPipe Tasks (the ImageClassifier of Android, iOS, web and Python) and Android Studio
read from a ``.tflite``: the model's name, description and version; the input image's colour
space, size and — for float inputs — its normalization (one mean / std); the output's meaning
and its labels, packed as an associated file (a zip archive appended to the model).

Why written here: tflite-support, the usual writer, has had no release since 2023 and no wheels
past Python 3.11; MediaPipe's own writer would make the suite depend on mediapipe, whose
``absl-py~=2.3`` conflicts with tfmot's ``absl-py~=1.2``. The schema itself is stable and
public (``metadata_schema.fbs``, ``file_identifier "M001"``; the tables below list their field
slots in schema order), so ``flatbuffers`` (already a TensorFlow dependency) builds it, and
TensorFlow's own ``flatbuffer_utils`` puts the buffer into the model as ``TFLITE_METADATA``.
Every field used exists since schema 1.0.0, hence ``min_parser_version`` "1.0.0".
``read`` parses it back (the tests check both ways, and MediaPipe loads the files).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import flatbuffers
import numpy as np
from flatbuffers import table as fb_table

FILE_IDENTIFIER = b"M001"
METADATA_NAME = "TFLITE_METADATA"
MIN_PARSER_VERSION = "1.0.0"
LABELS_FILE = "labels.txt"

# enum values of the schema
COLOR_SPACES = {"RGB": 1, "GRAYSCALE": 2}
_TENSOR_AXIS_LABELS = 2
_FEATURE_PROPERTIES, _IMAGE_PROPERTIES = 1, 2  # ContentProperties union
_NORMALIZATION_OPTIONS = 1  # ProcessUnitOptions union


@dataclass(frozen=True)
class ImageClassifierInfo:
    """What the metadata of one image classifier says.

    Attributes:
      name, description, version, author: of the model.
      height, width: the input image size.
      color_space: ``RGB`` or ``GRAYSCALE``.
      labels: one name per output class, in order.
      mean, std: the one normalization an app applies to float inputs,
        ``(pixel - mean) / std`` (None for integer inputs, which take the pixels as they are).
      input_range: the (min, max) the input tensor takes.
      output_description: what the scores are (probabilities or logits).
    """

    name: str
    description: str
    version: str
    author: str
    height: int
    width: int
    color_space: str
    labels: tuple[str, ...]
    mean: float | None
    std: float | None
    input_range: tuple[float, float]
    output_description: str


# --- writing ------------------------------------------------------------------------------


class _Writer:
    """Builds tables bottom-up: children first, then the table holding their offsets."""

    def __init__(self) -> None:
        self.b = flatbuffers.Builder(1024)

    def string(self, s: str) -> int:
        return self.b.CreateString(s)

    def offsets(self, items: Sequence[int]) -> int:
        self.b.StartVector(4, len(items), 4)
        for off in reversed(items):
            self.b.PrependUOffsetTRelative(off)
        return self.b.EndVector()

    def floats(self, values: Sequence[float]) -> int:
        self.b.StartVector(4, len(values), 4)
        for v in reversed(values):
            self.b.PrependFloat32(float(v))
        return self.b.EndVector()

    def table(self, num_fields: int, fields: Sequence[tuple[int, str, Any]]) -> int:
        """``fields``: (slot, kind, value) with kind ``offset``, ``u8``, ``i8``, ``u32``."""
        self.b.StartObject(num_fields)
        for slot, kind, value in fields:
            if value is None:
                continue
            prepend = {"offset": self.b.PrependUOffsetTRelativeSlot,
                       "u8": self.b.PrependUint8Slot, "i8": self.b.PrependInt8Slot,
                       "u32": self.b.PrependUint32Slot}[kind]
            prepend(slot, value, 0)
        return self.b.EndObject()


def build(info: ImageClassifierInfo) -> bytes:
    """The ``ModelMetadata`` flatbuffer (``M001``) of an image classifier."""
    w = _Writer()
    # input: Content { content_properties_type, content_properties: ImageProperties, range }
    size = w.table(2, [(0, "u32", info.width), (1, "u32", info.height)])  # ImageSize
    image = w.table(2, [(0, "i8", COLOR_SPACES[info.color_space]), (1, "offset", size)])
    content_in = w.table(3, [(0, "u8", _IMAGE_PROPERTIES), (1, "offset", image)])
    units = None
    if info.mean is not None:
        norm = w.table(2, [(0, "offset", w.floats([info.mean])),
                           (1, "offset", w.floats([info.std]))])  # NormalizationOptions
        units = w.offsets([w.table(2, [(0, "u8", _NORMALIZATION_OPTIONS), (1, "offset", norm)])])
    stats_in = w.table(2, [(0, "offset", w.floats([info.input_range[1]])),
                           (1, "offset", w.floats([info.input_range[0]]))])  # Stats max, min
    tensor_in = w.table(7, [
        (0, "offset", w.string("image")),
        (1, "offset", w.string(f"Input image ({info.color_space}, {info.height}x{info.width}) "
                               f"to be classified.")),
        (3, "offset", content_in), (4, "offset", units), (5, "offset", stats_in)])
    # output: FeatureProperties content, labels as an associated file
    labels = w.table(5, [(0, "offset", w.string(LABELS_FILE)),
                         (1, "offset", w.string("Labels for the categories the model can "
                                                "recognize.")),
                         (2, "i8", _TENSOR_AXIS_LABELS)])  # AssociatedFile
    feature = w.table(0, [])
    content_out = w.table(3, [(0, "u8", _FEATURE_PROPERTIES), (1, "offset", feature)])
    stats_out = w.table(2, [(0, "offset", w.floats([1.0])), (1, "offset", w.floats([0.0]))])
    tensor_out = w.table(7, [
        (0, "offset", w.string("probability")),
        (1, "offset", w.string(info.output_description)),
        (3, "offset", content_out), (5, "offset", stats_out),
        (6, "offset", w.offsets([labels]))])
    subgraph = w.table(10, [(2, "offset", w.offsets([tensor_in])),
                            (3, "offset", w.offsets([tensor_out]))])
    root = w.table(8, [
        (0, "offset", w.string(info.name)), (1, "offset", w.string(info.description)),
        (2, "offset", w.string(info.version)), (3, "offset", w.offsets([subgraph])),
        (4, "offset", w.string(info.author)),
        (7, "offset", w.string(MIN_PARSER_VERSION))])
    w.b.Finish(root, file_identifier=FILE_IDENTIFIER)
    return bytes(w.b.Output())


def populate(model: bytes, info: ImageClassifierInfo) -> bytes:
    """``model`` (a .tflite flatbuffer without metadata) with ``info`` as its
    ``TFLITE_METADATA`` buffer and the labels appended as a zip archive."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    if len(info.labels) == 0:
        raise ValueError("metadata needs one label per class")
    obj = flatbuffer_utils.read_model_from_bytearray(bytearray(model))
    if any(m.name.decode() == METADATA_NAME for m in obj.metadata or []):
        raise ValueError("the model has TFLite metadata already")
    buf = schema.BufferT()
    buf.data = np.frombuffer(build(info), dtype=np.uint8)
    obj.buffers.append(buf)
    entry = schema.MetadataT()
    entry.name = METADATA_NAME
    entry.buffer = len(obj.buffers) - 1
    obj.metadata = [*(obj.metadata or []), entry]
    out = io.BytesIO(flatbuffer_utils.convert_object_to_bytearray(obj))
    out.seek(0, io.SEEK_END)
    with zipfile.ZipFile(out, "a") as z:  # appended after the flatbuffer, as MediaPipe reads
        # a fixed date: the same model gives the same file, byte for byte (a resumed run too)
        z.writestr(zipfile.ZipInfo(LABELS_FILE, date_time=(1980, 1, 1, 0, 0, 0)),
                   "\n".join(info.labels) + "\n")
    return out.getvalue()


# --- reading ------------------------------------------------------------------------------


class _Table:
    """Field access on one table of a flatbuffer by slot number."""

    def __init__(self, buf: bytes, pos: int):
        self.t = fb_table.Table(bytearray(buf), pos)

    def _offset(self, slot: int) -> int:
        return self.t.Offset(4 + 2 * slot)

    def string(self, slot: int) -> str | None:
        o = self._offset(slot)
        return self.t.String(o + self.t.Pos).decode() if o else None

    def scalar(self, slot: int, flags: Any) -> Any:
        o = self._offset(slot)
        return self.t.Get(flags, o + self.t.Pos) if o else 0

    def table(self, slot: int) -> _Table | None:
        o = self._offset(slot)
        return _Table(self.t.Bytes, self.t.Indirect(o + self.t.Pos)) if o else None

    def tables(self, slot: int) -> list[_Table]:
        o = self._offset(slot)
        if not o:
            return []
        start, n = self.t.Vector(o), self.t.VectorLen(o)
        return [_Table(self.t.Bytes, self.t.Indirect(start + 4 * i)) for i in range(n)]

    def floats(self, slot: int) -> list[float]:
        o = self._offset(slot)
        if not o:
            return []
        start, n = self.t.Vector(o), self.t.VectorLen(o)
        return [self.t.Get(flatbuffers.number_types.Float32Flags, start + 4 * i)
                for i in range(n)]


def metadata_buffer(model: bytes) -> bytes | None:
    """The ``TFLITE_METADATA`` buffer of a .tflite file, or None."""
    from tensorflow.lite.tools import flatbuffer_utils

    obj = flatbuffer_utils.read_model_from_bytearray(bytearray(model))
    for m in obj.metadata or []:
        if m.name.decode() == METADATA_NAME:
            return bytes(np.asarray(obj.buffers[m.buffer].data, dtype=np.uint8))
    return None


def read(model: bytes) -> dict[str, Any] | None:
    """The metadata of a .tflite file as plain data (None without metadata), and its packed
    files' names."""
    buf = metadata_buffer(model)
    if buf is None:
        return None
    if buf[4:8] != FILE_IDENTIFIER:
        raise ValueError("the TFLITE_METADATA buffer is not a metadata flatbuffer (M001)")
    u8, i8 = flatbuffers.number_types.Uint8Flags, flatbuffers.number_types.Int8Flags
    u32 = flatbuffers.number_types.Uint32Flags
    root = _Table(buf, flatbuffers.encode.Get(flatbuffers.packer.uoffset, buf, 0))
    (sub,) = root.tables(3)
    (tin,) = sub.tables(2)
    (tout,) = sub.tables(3)
    content = tin.table(3)
    image = content.table(1) if content and content.scalar(0, u8) == _IMAGE_PROPERTIES else None
    size = image.table(1) if image else None
    norm = None
    for unit in tin.tables(4):
        if unit.scalar(0, u8) == _NORMALIZATION_OPTIONS:
            opts = unit.table(1)
            norm = {"mean": opts.floats(0), "std": opts.floats(1)}
    stats = tin.table(5)
    names = {v: k for k, v in COLOR_SPACES.items()}
    with zipfile.ZipFile(io.BytesIO(model)) as z:
        packed = z.namelist()
    return {
        "name": root.string(0), "description": root.string(1), "version": root.string(2),
        "author": root.string(4), "min_parser_version": root.string(7),
        "input": {"name": tin.string(0), "description": tin.string(1),
                  "color_space": names.get(image.scalar(0, i8)) if image else None,
                  "size": [size.scalar(1, u32), size.scalar(0, u32)] if size else None,
                  "normalization": norm,
                  "range": [stats.floats(1)[0], stats.floats(0)[0]] if stats else None},
        "output": {"name": tout.string(0), "description": tout.string(1),
                   "associated_files": [{"name": f.string(0), "type": f.scalar(2, i8)}
                                        for f in tout.tables(6)]},
        "packed_files": packed,
    }
