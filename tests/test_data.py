import gzip
import struct

import numpy as np
import pytest

from tfcompress.data import Dataset, load
from tfcompress.data import mnist as mnist_loader
from tfcompress.errors import InputError
from tfcompress.recipe import DataSpec


def test_digits_splits_are_disjoint_stratified_and_scaled():
    d = load(DataSpec("digits", val_fraction=0.1))
    assert isinstance(d, Dataset)
    assert d.input_shape == (8, 8, 1) and d.num_classes == 10
    assert len(d.y_train) + len(d.y_val) + len(d.y_test) == 1797
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    # validation is carved from train: no training image appears in validation
    train_rows = {r.tobytes() for r in d.x_train}
    assert sum(r.tobytes() in train_rows for r in d.x_val) <= 2  # the digits set has duplicates
    assert set(np.unique(d.y_val)) == set(range(10))


def test_limits_shrink_train_val_and_test():
    d = load(DataSpec("digits", train_limit=100, test_limit=50))
    assert len(d.y_train) == 100 and len(d.y_test) == 50
    assert 1 <= len(d.y_val) <= 20


@pytest.mark.real_data
def test_mnist_from_the_local_npz(data_dir):
    d = load(DataSpec("mnist"), data_dir, offline=True)
    assert len(d.y_train) + len(d.y_val) == 60000 and len(d.y_test) == 10000
    assert d.input_shape == (28, 28, 1)
    assert str(data_dir) in d.source


def _write_idx(path, array):
    header = struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(">" + "I" * array.ndim,
                                                                   *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_mnist_from_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    arrays = {"x_train": rng.integers(0, 256, (50, 28, 28)), "y_train": np.arange(50) % 10,
              "x_test": rng.integers(0, 256, (20, 28, 28)), "y_test": np.arange(20) % 10}
    for key, stem in mnist_loader.IDX_FILES.items():
        _write_idx(folder / f"{stem}.gz", arrays[key])
    raw = mnist_loader.load(DataSpec("mnist"), tmp_path, offline=True)
    assert raw.x_train.shape == (50, 28, 28, 1)
    np.testing.assert_allclose(raw.x_test[..., 0] * 255, arrays["x_test"], atol=1e-3)
    np.testing.assert_array_equal(raw.y_train, arrays["y_train"])


def test_missing_mnist_offline_says_where_to_put_it(tmp_path):
    with pytest.raises(InputError) as e:
        load(DataSpec("mnist"), tmp_path, offline=True)
    msg = str(e.value)
    assert "mnist.npz" in msg and "train-images-idx3-ubyte.gz" in msg
    assert str(tmp_path) in msg and "offline" in msg and "\n" not in msg


def test_corrupt_mnist_npz_is_a_clear_error(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"not a zip file")
    with pytest.raises(InputError, match="not a valid MNIST npz"):
        load(DataSpec("mnist"), tmp_path, offline=True)


def test_corrupt_idx_file_is_a_clear_error(tmp_path):
    for stem in mnist_loader.IDX_FILES.values():
        (tmp_path / f"{stem}.gz").write_bytes(b"garbage")
    with pytest.raises(InputError, match="not a valid IDX file"):
        load(DataSpec("mnist"), tmp_path, offline=True)


def test_an_unreachable_download_host_is_one_line_at_once():
    """A machine without internet: the message comes before any download is tried (tfds'
    retries took 3.5 minutes), naming the host."""
    from tfcompress.data.dataset import download_or_fail
    from tfcompress.errors import InputError

    tried = []
    with pytest.raises(InputError) as e:
        download_or_fail("CIFAR-10", "cifar-10-batches-bin/", [], False,
                         lambda: tried.append(1), host="no-such-host.invalid")
    assert not tried
    assert "no-such-host.invalid cannot be resolved" in str(e.value) and "\n" not in str(e.value)
