"""Arrays a user holds (numpy or a ``tf.data.Dataset``), as a dataset with a content address.

``tfcompress.compress(model, (x, y))`` writes the arrays once to ``$TFCOMPRESS_CACHE_DIR/arrays``
under the SHA-256 of their bytes; the recipe names that file (``DataSpec("arrays", path=...)``),
so cached steps are keyed by the content, not by where the arrays came from. Pixels are used as
given (the model's own input scale): nothing is divided or normalised.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tfcompress import atomic
from tfcompress.data.dataset import RawData, cache_dir, stratified_split
from tfcompress.errors import InputError

if TYPE_CHECKING:
    from tfcompress.recipe import DataSpec

TEST_FRACTION = 0.2
SPLIT_SEED = 1234
KEYS = ("x_train", "y_train", "x_test", "y_test")


def load(spec: DataSpec, data_dir: Path | None, offline: bool) -> RawData:
    """Reads the arrays file named by ``data.path`` (written by ``save``)."""
    del data_dir, offline
    if not spec.path or not Path(spec.path).is_file():
        raise InputError(f"data.path must name an arrays file written by tfcompress.compress; "
                         f"received {spec.path!r}")
    with np.load(spec.path, allow_pickle=False) as f:
        if set(KEYS) - set(f.files):
            raise InputError(f"{spec.path} lacks {sorted(set(KEYS) - set(f.files))}")
        parts = {k: f[k] for k in KEYS}
        names = tuple(str(n) for n in f["class_names"]) if "class_names" in f.files else ()
    n = int(max(parts["y_train"].max(initial=0), parts["y_test"].max(initial=0))) + 1
    return RawData(**parts, source="arrays given to tfcompress.compress",
                   preprocessing="as given (float32, the model's own input scale)",
                   class_names=names or tuple(str(i) for i in range(n)), pixel_max=1.0,
                   pixels_known=False)


def save(train: tuple[Any, Any], test: tuple[Any, Any] | None,
         class_names: tuple[str, ...] = ()) -> Path:
    """Writes (x, y) pairs to the cache under their content hash; without ``test``, a
    stratified 20% of ``train`` is held out as the test set.

    Raises:
      InputError: arrays that are not images with one integer (or one-hot) label each.
    """
    x, y = _pair(train, "data")
    if test is None:
        keep, held = stratified_split(y, TEST_FRACTION, np.random.default_rng(SPLIT_SEED))
        parts = {"x_train": x[keep], "y_train": y[keep], "x_test": x[held], "y_test": y[held]}
    else:
        xt, yt = _pair(test, "test")
        parts = {"x_train": x, "y_train": y, "x_test": xt, "y_test": yt}
    h = hashlib.sha256()
    for k in KEYS:
        h.update(f"{k}{parts[k].dtype}{parts[k].shape}".encode())
        h.update(np.ascontiguousarray(parts[k]).tobytes())
    h.update(repr(tuple(class_names)).encode())
    path = cache_dir() / "arrays" / f"input-{h.hexdigest()[:24]}.npz"
    if not path.is_file():
        atomic.write_with(path, lambda tmp: np.savez(tmp, **parts,
                                                     class_names=np.asarray(class_names, str)))
    return path


def _pair(pair: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise InputError(f"{what} must be (images, labels); received {type(pair).__name__}")
    x = np.asarray(pair[0], np.float32)
    y = np.asarray(pair[1])
    if y.ndim == 2:  # one-hot
        y = y.argmax(axis=-1)
    if x.ndim == 3:  # (N, H, W): one channel
        x = x[..., None]
    if x.ndim != 4 or y.ndim != 1 or len(x) != len(y) or not len(y):
        raise InputError(f"{what} must be images (N, height, width[, channels]) and N labels; "
                         f"received {list(x.shape)} and {list(y.shape)}")
    if not np.all(np.isfinite(x)):
        raise InputError(f"{what} images hold NaN or infinite values")
    if not (np.issubdtype(y.dtype, np.integer) or np.all(y == np.round(y))) or y.min() < 0:
        raise InputError(f"{what} labels must be class indices >= 0; received {y.dtype} "
                         f"from {y.min()} to {y.max()}")
    return x, y.astype(np.int64)


def from_tf_data(dataset: Any, model_rank: int) -> tuple[np.ndarray, np.ndarray]:
    """All (x, y) of a finite ``tf.data.Dataset``, batched or not (told apart by the rank of
    its images against the model's input rank, batch included)."""
    xs, ys = [], []
    batched = len(dataset.element_spec[0].shape) == model_rank
    for x, y in dataset.as_numpy_iterator():
        xs.append(x if batched else x[None])
        ys.append(np.reshape(y, (-1,) + np.shape(y)[1:]) if batched else np.asarray(y)[None])
    if not xs:
        raise InputError("the tf.data.Dataset given as data is empty")
    return np.concatenate(xs), np.concatenate(ys)
