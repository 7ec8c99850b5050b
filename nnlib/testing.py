"""Assertions for the course's tests and autograder cells (named after `torch.testing`).

Written by hand, not exported from a chapter: the tests must not depend on a learner's code.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["assert_close"]


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"[:200]


def _as_real_array(actual, expected, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Both values as float64 arrays, after checking that `actual` has the right kind and shape."""
    if isinstance(expected, np.ndarray) and expected.ndim > 0:
        if not isinstance(actual, np.ndarray):
            raise AssertionError(f"{what}: expected a numpy array of shape {expected.shape}, "
                                 f"got {_describe(actual)}")
        if actual.shape != expected.shape:
            raise AssertionError(f"{what}: expected shape {expected.shape}, got shape {actual.shape}")
    else:
        is_number = (isinstance(actual, numbers.Real) and not isinstance(actual, (bool, np.bool_))
                     and type(actual).__module__ in ("builtins", "numpy"))
        is_0d_array = isinstance(actual, np.ndarray) and actual.ndim == 0
        if not (is_number or is_0d_array):
            raise AssertionError(f"{what}: expected a real number, got {_describe(actual)}")
    # np.array(..., subok=False) reads the raw values: an ndarray subclass cannot intervene.
    actual_array = np.array(actual, subok=False)
    if actual_array.dtype.kind not in "iuf":
        raise AssertionError(f"{what}: expected real numbers, got dtype {actual_array.dtype}")
    return actual_array.astype(np.float64), np.array(expected, dtype=np.float64)


def assert_close(actual, expected, *, rtol: float = 1e-6, atol: float = 1e-8,
                 check_dtype: bool = False, msg: str = "value") -> None:
    """Assert that `actual` is real numbers of `expected`'s kind and shape, close to its values.

    Unlike `actual == expected`, it cannot be fooled by an object that claims to be equal:
    `actual` must be a real number where `expected` is a scalar, a numpy array of the same shape
    where `expected` is an array, and a tuple or list of the same length (compared item by item)
    where `expected` is a tuple or list. Values match when |actual - expected| <= atol +
    rtol * |expected| elementwise; NaN matches NaN and infinities must match exactly. On failure
    the message names the worst element, both values and the error.

    Args:
        actual: what the code under test returned.
        expected: the correct value (a number, an array, or a tuple/list of them).
        rtol, atol: relative and absolute tolerance.
        check_dtype: also require `actual.dtype == expected.dtype` (arrays only).
        msg: what is being compared, used at the start of the failure message.
    """
    if isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            raise AssertionError(f"{msg}: expected a tuple of {len(expected)} values, "
                                 f"got {_describe(actual)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, rtol=rtol, atol=atol, check_dtype=check_dtype, msg=f"{msg}[{i}]")
        return
    if check_dtype and isinstance(expected, np.ndarray) and isinstance(actual, np.ndarray) \
            and actual.dtype != expected.dtype:
        raise AssertionError(f"{msg}: expected dtype {expected.dtype}, got dtype {actual.dtype}")
    a, e = _as_real_array(actual, expected, msg)
    both_nan = np.isnan(a) & np.isnan(e)
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(a - e)
        bad = ~both_nan & ~(error <= atol + rtol * np.abs(e))
        bad = np.where(np.isinf(e), a != e, bad)  # an infinity is close to itself only
    if not bad.any():
        return
    with np.errstate(invalid="ignore", divide="ignore"):
        excess = np.where(bad, np.nan_to_num(error / (atol + rtol * np.abs(e)), nan=np.inf), -1.0)
        worst = np.unravel_index(int(np.argmax(excess)), a.shape) if a.ndim else ()
        relative = error[worst] / abs(e[worst])
    where = f" at index {tuple(int(i) for i in worst)}" if a.ndim else ""
    raise AssertionError(
        f"{msg}: {int(bad.sum())} of {bad.size} values differ; worst{where}: got {float(a[worst])!r}, "
        f"expected {float(e[worst])!r} (absolute error {error[worst]:.3g}, relative error {relative:.3g}, "
        f"allowed: atol={atol:g} + rtol={rtol:g} * |expected|)")
