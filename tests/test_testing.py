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


def probe_affine(x, w):
    return {"y": w * x, "type": type(x).__name__}


def test_check_passes_a_right_result_and_names_what_differs_otherwise():
    from nnlib.testing import check

    check(probe_affine, {"x": np.arange(3.0), "w": 2.0}, expect={"y": np.array([0.0, 2.0, 4.0])})
    with pytest.raises(AssertionError, match=re.escape("result['y']: expected shape (2,), got shape (3,)")):
        check(probe_affine, {"x": np.arange(3.0), "w": 2.0}, expect={"y": np.zeros(2)})
    with pytest.raises(AssertionError, match=re.escape("result: no key 'z'")):
        check(probe_affine, {"x": 1.0, "w": 2.0}, expect={"z": 2.0})
    check(probe_affine, {"x": 1.0, "w": 2.0})  # no expect: runs the probe (the grader judges)


def test_predicates_and_raises():
    from nnlib.testing import above, below, between, check, compare, raises

    assert compare(0.01, below(0.05)) == [] and compare(np.array([1.0, 2.0]), between(0, 3)) == []
    assert [m.reason for m in compare(0.1, below(0.05))] == ["not below 0.05"]
    assert [m.reason for m in compare(True, above(0))] == ["wrong type"]

    def probe_fails(x):
        raise ValueError(f"bad {x}")

    check(probe_fails, {"x": 1}, expect=raises("ValueError"))
    with pytest.raises(AssertionError, match="the probe raised ValueError: bad 1"):
        check(probe_fails, {"x": 1}, expect={"y": 1.0})
    with pytest.raises(AssertionError, match="expected TypeError to be raised"):
        check(probe_affine, {"x": 1.0, "w": 2.0}, expect=raises("TypeError"))


def test_exact_values_keep_their_types():
    from nnlib.testing import compare

    assert compare(True, True) == [] and compare(None, None) == [] and compare("a", "a") == []
    assert [m.reason for m in compare(1, True)] == ["wrong type"]
    assert [m.reason for m in compare(False, True)] == ["values differ"]
    assert [m.reason for m in compare("b", "a")] == ["values differ"]


def test_a_result_that_is_not_plain_data_is_reported_as_such():
    from nnlib.testing import check

    def probe_object():
        return {"y": object()}

    with pytest.raises(AssertionError, match="not plain data"):
        check(probe_object, {}, expect={"y": 1.0})
