"""CIFAR-10 formats, image folders, normalisation and augmentation."""

import pickle

import numpy as np
import pytest
from PIL import Image

from tfcompress.data import cifar10, image_folder, load
from tfcompress.data.dataset import normalize
from tfcompress.errors import InputError
from tfcompress.recipe import DataSpec


def make_folder(root, classes=("cat", "dog"), per_class=6, size=(10, 12), corrupt=0):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for c in classes:
            d = root / split / c
            d.mkdir(parents=True)
            for i in range(per_class):
                arr = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
                Image.fromarray(arr).save(d / f"{i}.jpg")
    for i in range(corrupt):
        (root / "train" / classes[0] / f"broken{i}.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    return root


def test_image_folder_skips_and_counts_corrupt_files(tmp_path):
    root = make_folder(tmp_path / "pets", corrupt=2)
    raw = image_folder.read(root, None, name="pets")
    assert raw.class_names == ("cat", "dog")
    assert raw.x_train.shape == (12, 10, 12, 3) and raw.x_train.dtype == np.uint8
    assert raw.skipped_files == 2
    assert sorted(np.bincount(raw.y_test)) == [6, 6]


def test_image_folder_is_decoded_once(tmp_path, monkeypatch):
    root = make_folder(tmp_path / "pets")
    first = image_folder.read(root, (8, 8), name="pets")
    monkeypatch.setattr(image_folder, "decode", lambda *a, **k: pytest.fail("decoded again"))
    again = image_folder.read(root, (8, 8), name="pets")
    np.testing.assert_array_equal(first.x_train, again.x_train)
    assert again.x_train.shape[1:] == (8, 8, 3)


def test_flat_folder_gets_a_test_split_and_archives_are_unpacked(tmp_path):
    import tarfile

    root = make_folder(tmp_path / "src", per_class=10)
    flat = tmp_path / "flat"
    (root / "train").rename(flat)
    raw = image_folder.read(flat, None, name="flat")
    assert len(raw.y_test) == 4 and len(raw.y_train) == 16
    archive = tmp_path / "pets.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(flat, arcname="pets")
    from_tar = image_folder.read(archive, None, name="pets")
    assert len(from_tar.y_train) + len(from_tar.y_test) == 20


def test_an_archive_two_processes_need_at_once_is_unpacked_and_decoded_once(tmp_path,
                                                                         monkeypatch, caplog):
    """The second waits on the first's lock (``atomic.locked``), then reads what it made."""
    import logging
    import tarfile
    import threading

    root = make_folder(tmp_path / "src")
    archive = tmp_path / "pets.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(root, arcname="pets")
    real, calls = image_folder._unpack, []
    entered, release = threading.Event(), threading.Event()

    def slow_unpack(*args):
        calls.append(args)
        entered.set()
        release.wait(timeout=300)  # held until the other has reached the lock
        return real(*args)

    class Waiting(logging.Handler):
        def emit(self, record):
            if "another process is unpacking" in record.getMessage():
                waiting.set()

    waiting, handler = threading.Event(), Waiting()
    caplog.set_level(logging.INFO, logger="tfcompress")
    logging.getLogger("tfcompress").addHandler(handler)
    monkeypatch.setattr(image_folder, "_unpack", slow_unpack)
    got = {}
    decoded, real_decode = [], image_folder.decode
    monkeypatch.setattr(image_folder, "decode",
                        lambda *a, **k: decoded.append(k["desc"]) or real_decode(*a, **k))
    first = threading.Thread(target=lambda: got.update(a=image_folder.read(archive, None, "p")))
    second = threading.Thread(target=lambda: got.update(b=image_folder.read(archive, None, "p")))
    try:
        first.start()
        for _ in range(6000):
            if entered.is_set() or not first.is_alive():
                break
            entered.wait(timeout=0.05)
        assert entered.is_set()
        second.start()
        for _ in range(6000):  # until it waits on the lock, or is done (5 min at most)
            if waiting.is_set() or not second.is_alive():
                break
            second.join(timeout=0.05)
        release.set()
        first.join(timeout=300)
        second.join(timeout=300)
    finally:
        release.set()
        logging.getLogger("tfcompress").removeHandler(handler)
    assert waiting.is_set() and len(calls) == 1
    assert sorted(decoded) == ["decoding test", "decoding train"]  # each split once
    np.testing.assert_array_equal(got["a"].x_train, got["b"].x_train)


def test_image_folder_errors_name_the_problem(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load(DataSpec("image_folder", path=str(tmp_path / "nope")), offline=True)
    root = make_folder(tmp_path / "mixed", per_class=2)
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(root / "train" / "cat" / "big.jpg")
    with pytest.raises(InputError, match="data.image_size"):
        image_folder.read(root, None, name="mixed")
    (root / "test" / "dog").rename(root / "test" / "wolf")
    with pytest.raises(InputError, match="lacks class folder"):
        image_folder.read(root, (8, 8), name="mixed")


def _cifar_arrays(n):
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, n)


def test_cifar_binary_batches_are_read_channels_last(tmp_path):
    folder = tmp_path / cifar10.BIN_DIR
    folder.mkdir()
    expected = {}
    for name in [*cifar10.TRAIN_BATCHES, "test_batch"]:
        x, y = _cifar_arrays(3)
        records = np.concatenate([y[:, None].astype(np.uint8), x.reshape(3, -1)], axis=1)
        records.tofile(folder / f"{name}.bin")
        expected[name] = (x, y)
    raw = cifar10.load(DataSpec("cifar10"), tmp_path, offline=True)
    assert raw.x_train.shape == (15, 32, 32, 3) and raw.x_test.shape == (3, 32, 32, 3)
    x, y = expected["test_batch"]
    np.testing.assert_array_equal(raw.x_test, x.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(raw.y_test, y)
    (folder / "test_batch.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(InputError, match="not a CIFAR-10 binary batch"):
        cifar10.load(DataSpec("cifar10"), tmp_path, offline=True)


def test_cifar_python_batches_load_and_code_is_refused(tmp_path):
    folder = tmp_path / cifar10.PY_DIR
    folder.mkdir()
    for name in [*cifar10.TRAIN_BATCHES, "test_batch"]:
        x, y = _cifar_arrays(2)
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": x.reshape(2, -1), b"labels": list(map(int, y))}, f)
    raw = cifar10.load(DataSpec("cifar10"), tmp_path, offline=True)
    assert raw.x_train.shape == (10, 32, 32, 3)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": []}, f)
    with pytest.raises(InputError, match="refusing to load builtins.print"):
        cifar10.load(DataSpec("cifar10"), tmp_path, offline=True)


def test_missing_cifar_says_what_to_put_where(tmp_path):
    with pytest.raises(InputError) as e:
        load(DataSpec("cifar10"), tmp_path, offline=True)
    assert "cifar10_jpg.tar.gz" in str(e.value) and str(tmp_path) in str(e.value)


@pytest.mark.real_data
def test_cifar_from_the_shared_jpeg_archive(data_dir):
    d = load(DataSpec("cifar10", mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)), data_dir,
             offline=True)
    assert len(d.y_train) + len(d.y_val) == 50000 and len(d.y_test) == 10000
    assert d.class_names == cifar10.CLASSES and d.input_shape == (32, 32, 3)
    assert np.bincount(d.y_test).tolist() == [1000] * 10
    assert abs(float(d.x_test.mean())) < 0.5 and "(x - [0.5, 0.5, 0.5])" in d.preprocessing


def test_normalize_scales_then_standardises():
    x = np.full((1, 2, 2, 3), 255, np.uint8)
    out = normalize(x, (0.5, 0.5, 0.0), (0.5, 0.25, 1.0))
    np.testing.assert_allclose(out[0, 0, 0], [1.0, 2.0, 1.0])
    with pytest.raises(InputError, match="one value per channel"):
        load(DataSpec("digits", mean=(0.1, 0.2)))


def test_crop_flip_keeps_shape_and_moves_pixels():
    from tfcompress.data import augment

    image = np.arange(32 * 32 * 3, dtype=np.float32).reshape(32, 32, 3)
    outs = [augment.crop_flip(image, np.array([0, i], np.int64)).numpy() for i in range(8)]
    assert all(o.shape == (32, 32, 3) for o in outs)
    again = augment.crop_flip(image, np.array([0, 3], np.int64)).numpy()
    assert np.array_equal(again, outs[3])  # the seed decides, nothing else
    assert any(not np.array_equal(o, image) for o in outs)
    # every output pixel is a source pixel or padding
    assert set(np.unique(outs[0])) <= set(np.unique(image)) | {0.0}
