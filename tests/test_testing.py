"""nnlib.testing.assert_close accepts close real numbers and rejects everything else, clearly."""
import re

import numpy as np
import pytest

from nnlib.testing import assert_close


class AlwaysEqual:
    def __eq__(self, other):
        return True


class LyingArray(np.ndarray):
    def __sub__(self, other):
        return np.zeros(self.shape)


def test_accepts_close_values():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    assert_close(x + 1e-9, x)
    assert_close(2, 2.0)
    assert_close(np.float32(0.5), 0.5)
    assert_close((1.0, x), [1.0, x.copy()])
    assert_close(np.array([np.nan, np.inf, -np.inf]), np.array([np.nan, np.inf, -np.inf]))


@pytest.mark.parametrize("actual, expected, message", [
    (np.array([1.0, 2.0]), np.array([1.0, 2.5]), "worst at index (1,): got 2.0, expected 2.5"),
    (np.ones(3), np.ones(4), "expected shape (4,), got shape (3,)"),
    ([1.0, 2.0], np.array([1.0, 2.0]), "expected a numpy array of shape (2,), got list"),
    (AlwaysEqual(), 1.0, "expected a real number, got AlwaysEqual"),
    (True, 1.0, "expected a real number, got bool"),
    ("1.0", 1.0, "expected a real number, got str"),
    (np.array([np.inf]), np.array([-np.inf]), "got inf, expected -inf"),
    (np.array([np.nan]), np.array([0.0]), "got nan, expected 0.0"),
    ((1.0,), (1.0, 2.0), "expected a tuple of 2 values"),
])
def test_rejects_with_a_clear_message(actual, expected, message):
    with pytest.raises(AssertionError, match=re.escape(message)):
        assert_close(actual, expected)


def test_an_ndarray_subclass_cannot_fake_closeness():
    fake = np.array([1.0, 2.0]).view(LyingArray)
    with pytest.raises(AssertionError):
        assert_close(fake, np.array([5.0, 6.0]))


def test_tolerances_and_dtype():
    assert_close(1.001, 1.0, rtol=1e-2)
    with pytest.raises(AssertionError):
        assert_close(1.001, 1.0)
    with pytest.raises(AssertionError, match="dtype float64, got dtype float32"):
        assert_close(np.ones(2, np.float32), np.ones(2), check_dtype=True)
