"""Image folders (``<class>/*.jpg``): how users bring their own data.

Layouts: ``root/{train,test}/<class>/*`` (``validation`` or ``val`` also name the test split),
or a flat ``root/<class>/*`` from which a stratified 20% test split is made. ``root`` may also
be a ``.tar``/``.tar.gz`` archive, unpacked once into the cache. Images are decoded once and
kept as a uint8 array file in the cache, so reruns start in a second. Unreadable images are
skipped, counted and reported, not fatal.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import tarfile
import warnings
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tfcompress import atomic, errors
from tfcompress.data.dataset import RawData, cache_dir, stratified_split
from tfcompress.data.names import DATASETS
from tfcompress.errors import InputError
from tfcompress.progress import progress

if TYPE_CHECKING:
    from tfcompress.recipe import DataSpec

log = logging.getLogger("tfcompress")

EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif"}
TEST_SPLITS = ("test", "validation", "val")
FLAT_TEST_FRACTION = 0.2
FLAT_MIN_PER_CLASS = 5  # one test image at 20%, and enough left to train and validate
DECODE_VERSION = 1
#: Larger images are skipped unread: a small compressed file can decode to gigabytes.
MAX_PIXELS = 50_000_000


def load(spec: DataSpec, data_dir: Path | None, offline: bool) -> RawData:
    """Loads the folder named by ``data.path`` (absolute, or relative to the data dir)."""
    del offline
    if not spec.path:
        raise InputError("data.path must name an image folder for dataset 'image_folder'; "
                         "received nothing: " + errors.fix(
                             cli="e.g. --dataset=path/to/images",
                             python="e.g. compress(model, 'path/to/images')"))
    root = resolve(spec.path, data_dir)
    size = tuple(spec.image_size) if spec.image_size else None
    return read(root, size, name=spec.path)


def resolve(path: str, data_dir: Path | None) -> Path:
    candidates = [Path(path)]
    if data_dir is not None and not Path(path).is_absolute():
        candidates.append(data_dir / path)
    for c in candidates:
        if c.exists():
            return c

    named = [n for n in DATASETS.names() if n not in ("image_folder", "arrays")]
    raise InputError(f"{path!r} was not found: it is neither a registered dataset "
                     f"({', '.join(named)}) nor an image folder or .tar(.gz) of one (looked in: "
                     f"{', '.join(str(c) for c in candidates)})")


def read(root: Path, image_size: tuple[int, int] | None, name: str) -> RawData:
    """Decodes (or reuses the cached decode of) an image folder or archive."""
    if root.is_file():
        archive, unpacked = root, unpack(root)
        try:
            raw = read(unpacked, image_size, name)
        except InputError as e:  # name the archive, not only the folder it was unpacked to
            raise InputError(f"{archive}: {e}") from None
        return dataclasses.replace(raw, source=f"{archive} (image folder)")
    given = root
    root = _single_subfolder(root)
    train_dir = root / "train"
    if train_dir.is_dir():
        test_dir = next((root / s for s in TEST_SPLITS if (root / s).is_dir()), None)
        if test_dir is None:
            raise InputError(f"{root} has train/ but no test split: expected one of "
                             f"{', '.join(s + '/' for s in TEST_SPLITS)}")
        classes = class_names(train_dir)
        x_tr, y_tr, bad_tr = decode_cached(train_dir, classes, image_size)
        x_te, y_te, bad_te = decode_cached(test_dir, classes, image_size)
        skipped = bad_tr + bad_te
    else:
        classes = class_names(root)
        x, y, skipped = decode_cached(root, classes, image_size)
        counts = np.bincount(y, minlength=len(classes))
        few = [f"{c}: {n}" for c, n in zip(classes, counts) if n < FLAT_MIN_PER_CLASS]
        if few:
            raise InputError(f"{root}: a folder without train/ and test/ needs at least "
                             f"{FLAT_MIN_PER_CLASS} readable images per class (20% are held "
                             f"out for testing); too few: {', '.join(few[:5])}")
        keep, test = stratified_split(y, FLAT_TEST_FRACTION, np.random.default_rng(0))
        x_tr, y_tr, x_te, y_te = x[keep], y[keep], x[test], y[test]
    if skipped:
        log.warning("%s: skipped %d unreadable image file(s)", root, skipped)
    h, w = x_tr.shape[1:3]
    return RawData(x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te,
                   source=f"{given} (image folder)",
                   preprocessing=f"RGB {h}x{w}, x / 255", class_names=classes,
                   skipped_files=skipped, resize=RESIZE if image_size else "none")


def _single_subfolder(root: Path) -> Path:
    """Archives often hold one top folder (``cifar10_jpg/``): look inside it."""
    subdirs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if len(subdirs) == 1 and not _images(root) and not _images(subdirs[0]):
        return subdirs[0]
    return root


def _images(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS]


def class_names(folder: Path) -> tuple[str, ...]:
    """Sub-folder names, sorted: the label of class ``i`` is ``names[i]``."""
    names = tuple(sorted(p.name for p in folder.iterdir()
                         if p.is_dir() and not p.name.startswith(".")))
    if len(names) < 2:
        raise InputError(f"{folder} must hold one sub-folder per class (at least 2); "
                         f"found {list(names)}")
    return names


def unpack(archive: Path) -> Path:
    """Extracts a tar archive into the cache once (processes that need it at the same time
    wait for the first); returns the extracted folder."""
    stat = archive.stat()
    key = hashlib.sha256(f"{archive.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    target = cache_dir() / "unpacked" / f"{archive.name.split('.')[0]}-{key.hexdigest()[:12]}"
    if target.is_dir():
        return target
    with atomic.locked(target.with_name(target.name + ".lock"),
                       f"{archive.name}: another process is unpacking it; waiting"):
        if target.is_dir():  # it did while this one waited
            return target
        return _unpack(archive, target)


def _unpack(archive: Path, target: Path) -> Path:
    """Extracts ``archive`` to ``target`` (whole or not at all), refusing a damaged one."""

    def extract(tmp: Path) -> None:
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")  # refuses absolute paths and ../ escapes
                # tarfile takes a damaged header in the middle for the end of the archive:
                # what follows must be the end's zero blocks (and a gzip stream's checksum,
                # checked once it is read to its end)
                tar.fileobj.seek(tar.offset)
                while chunk := tar.fileobj.read(1 << 20):
                    if chunk.strip(b"\0"):
                        raise tarfile.ReadError(
                            f"damaged after {len(tar.getmembers())} member(s): it could not be "
                            f"read past byte {tar.offset:,} of its content")
        except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
            reason = " ".join(str(e).split())  # tarfile lists each method tried on a line
            raise InputError(f"{archive} is not a readable tar archive ({reason[:200]})"
                             ) from None

    log.info("unpacking %s into %s", archive, target)
    return atomic.replace_tree(target, extract)


def decode_cached(folder: Path, classes: tuple[str, ...],
                  image_size: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray, int]:
    """``decode`` with its result kept in the cache, keyed by the file list and size."""
    missing = [c for c in classes if not (folder / c).is_dir()]
    if missing:
        raise InputError(f"{folder} lacks class folder(s) {missing}; every split needs the "
                         f"same classes {list(classes)}")
    files = [(c, p) for c in classes for p in sorted((folder / c).iterdir())
             if p.suffix.lower() in EXTENSIONS]
    if not files:
        raise InputError(f"{folder} holds no images ({', '.join(sorted(EXTENSIONS))})")
    h = hashlib.sha256(f"{DECODE_VERSION}|{folder.resolve()}|{image_size}".encode())
    for c, p in files:
        st = p.stat()
        h.update(f"{c}/{p.name}|{st.st_size}|{st.st_mtime_ns}".encode())
    path = cache_dir() / "arrays" / f"{folder.name}-{h.hexdigest()[:16]}.npz"
    if not path.is_file():
        with atomic.locked(path.with_name(path.name + ".lock"),
                           f"{folder.name}: another process is decoding it; waiting"):
            if not path.is_file():  # else another process decoded it while this one waited
                x, y, skipped = decode(files, classes, image_size,
                                       desc=f"decoding {folder.name}")
                atomic.write_with(path, lambda tmp: np.savez(tmp, x=x, y=y, skipped=skipped))
                return x, y, skipped
    with np.load(path) as f:
        return f["x"], f["y"], int(f["skipped"])


#: how images of another size are resized, for training, evaluation, calibration and the card
RESIZE = ("PIL bilinear (Image.BILINEAR, antialiased when shrinking): the whole image to the "
          "model's height x width, aspect ratio not kept")


def decode(files: list[tuple[str, Path]], classes: tuple[str, ...],
           image_size: tuple[int, int] | None, desc: str = "decoding"
           ) -> tuple[np.ndarray, np.ndarray, int]:
    """Decodes images to uint8 RGB (resized to ``image_size`` = (height, width) if given)."""
    from PIL import Image, UnidentifiedImageError

    label = {c: i for i, c in enumerate(classes)}
    images, labels, skipped, huge = [], [], 0, 0
    for c, p in progress(files, desc=desc, unit="img"):
        try:
            with warnings.catch_warnings():
                # PIL only warns up to twice its pixel limit; a decompression bomb is refused
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(p) as im:
                    if im.width * im.height > MAX_PIXELS:
                        raise Image.DecompressionBombError(f"{im.width}x{im.height}")
                    im = im.convert("RGB")
                    if image_size and im.size != (image_size[1], image_size[0]):
                        im = im.resize((image_size[1], image_size[0]), Image.BILINEAR)
                    images.append(np.asarray(im, dtype=np.uint8))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            huge += 1
            skipped += 1
            continue
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            skipped += 1
            continue
        labels.append(label[c])
    if huge:
        log.warning("%s: skipped %d image(s) over %d megapixels (decompression bomb limit)",
                    files[0][1].parent.parent, huge, MAX_PIXELS // 1_000_000)
    if not images:
        raise InputError(f"no readable image among {len(files)} file(s) in "
                         f"{files[0][1].parent.parent}")
    shapes = {a.shape for a in images}
    if len(shapes) > 1:
        raise InputError(f"images in {files[0][1].parent.parent} have different sizes "
                         f"{sorted(shapes)[:3]}...; set data.image_size=[H, W] to resize them")
    return np.stack(images), np.asarray(labels, np.int64), skipped
