"""The course's tests: `assert_close` (named after `torch.testing`) and `check`, a probe and what it
must return.

Written by hand, not exported from a chapter: the tests must not depend on a learner's code.

A test cell of a chapter is a list of cases. Each case calls a *probe*, a function named `probe_*`
that builds objects from plain inputs, calls the learner's code and returns what it found as plain
data (see `nnlib.plaindata`), and says what that result must be:

    def probe_double(x):
        return {"y": double(x)}

    check(probe_double, {"x": 1.5}, expect={"y": 3.0})

In a notebook, `check` runs the probe right there and raises an AssertionError that says what
differs. When a submission is graded, only the probes run in the learner's process: the grader
sends them the inputs, receives their results as plain data, and makes every comparison in its
own process (`compare`), against `expect` or, where a hidden case gives none, against the result
of the course's reference solution on the same inputs.
"""
from __future__ import annotations

import linecache
import numbers
import re
import traceback
from dataclasses import dataclass

import numpy as np

from nnlib.plaindata import PlainDataError, dumps, loads

__all__ = ["assert_close", "check", "below", "above", "between", "raises", "compare", "judge", "Mismatch",
           "run_probe", "run_probes"]
RTOL, ATOL = 1e-6, 1e-8


@dataclass(frozen=True)
class Mismatch:
    """One way a result differs from its expectation.

    where: which part of the result, e.g. "grad['a']"; reason: a short reason that reveals no
    value ("wrong shape", "values differ", ...); detail: the full message, with the values.
    """
    where: str
    reason: str
    detail: str


class Predicate:
    """An expectation that is a condition rather than a value (for results that differ between
    correct answers, such as a loss after training)."""

    def mismatch(self, actual, where: str) -> Mismatch | None:
        raise NotImplementedError


@dataclass(frozen=True)
class _Bound(Predicate):
    low: float = -np.inf
    high: float = np.inf
    name: str = ""

    def mismatch(self, actual, where):
        wrong = _real_mismatch(actual, where)
        if wrong:
            return wrong
        values = np.asarray(actual, dtype=np.float64)
        if np.all((values > self.low) & (values < self.high)):
            return None
        worst = values.max() if np.any(values >= self.high) else values.min()
        return Mismatch(where, f"not {self.name}", f"{where}: expected {self.name}, got {float(worst)!r}")


def below(high: float) -> Predicate:
    """Every value of the result is a real number < high."""
    return _Bound(high=high, name=f"below {high:g}")


def above(low: float) -> Predicate:
    """Every value of the result is a real number > low."""
    return _Bound(low=low, name=f"above {low:g}")


def between(low: float, high: float) -> Predicate:
    """Every value of the result is a real number strictly between low and high."""
    return _Bound(low, high, f"between {low:g} and {high:g}")


@dataclass(frozen=True)
class raises:  # noqa: N801 (used like a function: expect=raises("ValueError"))
    """The probe must raise an exception of this type (by name, e.g. "ValueError")."""
    name: str


_PATH = re.compile(r"[A-Za-z_][\w.]*(\[[^\[\]]*\])*")  # result, grad_W, result['grad'][0]


def _part(where: str, key) -> str:
    """The name of item `key` of `where`: `result['grad'][0]` where `where` is such a name, else
    (`where` is a message, e.g. "at a = 2, f = -2") the message and the index, kept apart."""
    if _PATH.fullmatch(where):
        return f"{where}[{key!r}]"
    return f"{where}; at index [{key!r}]" if isinstance(key, int) else f"{where}; at key [{key!r}]"


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _tuple(values) -> str:
    """A shape as Python writes one, (3, 4) or (3,), numpy's integers as ints, other values as they are."""
    items = [str(int(v)) if _is_int(v) else repr(v) for v in values]
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {_tuple(value.shape)} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"[:200]


def _is_real(value) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
            and type(value).__module__ in ("builtins", "numpy"))


def _real_mismatch(actual, where: str) -> Mismatch | None:
    if _is_real(actual) or (type(actual) is np.ndarray and actual.dtype.kind in "iuf"):
        return None
    return Mismatch(where, "wrong type", f"{where}: expected real numbers, got {_describe(actual)}")


def _close(actual, expected, rtol: float, atol: float, check_dtype: bool, where: str) -> Mismatch | None:
    """Whether `actual` is real numbers of `expected`'s kind, shape and values (see assert_close)."""
    if isinstance(expected, np.ndarray) and expected.ndim > 0:
        if not isinstance(actual, np.ndarray):
            return Mismatch(where, "wrong type", f"{where}: expected a numpy array of shape "
                                                 f"{_tuple(expected.shape)}, got {_describe(actual)}")
        if actual.shape != expected.shape:
            return Mismatch(where, "wrong shape", f"{where}: expected shape {_tuple(expected.shape)}, "
                                                  f"got shape {_tuple(actual.shape)}")
    elif not (_is_real(actual) or (isinstance(actual, np.ndarray) and actual.ndim == 0)):
        return Mismatch(where, "wrong type", f"{where}: expected a real number, got {_describe(actual)}")
    if check_dtype and isinstance(expected, np.ndarray) and isinstance(actual, np.ndarray) \
            and actual.dtype != expected.dtype:
        return Mismatch(where, "wrong dtype", f"{where}: expected dtype {expected.dtype}, "
                                              f"got dtype {actual.dtype}")
    # np.array(..., subok=False) reads the raw values: an ndarray subclass cannot intervene.
    a = np.array(actual, subok=False)
    if a.dtype.kind not in "iuf":
        return Mismatch(where, "wrong type", f"{where}: expected real numbers, got dtype {a.dtype}")
    shown_a, shown_e = a, np.array(expected)  # as given: integers print as integers
    a, e = a.astype(np.float64), np.array(expected, dtype=np.float64)
    both_nan = np.isnan(a) & np.isnan(e)
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(a - e)
        bad = ~both_nan & ~(error <= atol + rtol * np.abs(e))
        bad = np.where(np.isinf(e), a != e, bad)  # an infinity is close to itself only
    if not bad.any():
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        excess = np.where(bad, np.nan_to_num(error / (atol + rtol * np.abs(e)), nan=np.inf), -1.0)
        worst = np.unravel_index(int(np.argmax(excess)), a.shape) if a.ndim else ()
        relative = error[worst] / abs(e[worst])
    values = (f"got {shown_a[worst].item()!r}, expected {shown_e[worst].item()!r} (absolute error "
              f"{error[worst]:.3g}, relative error {relative:.3g}, allowed: atol={atol:g} + rtol={rtol:g} * "
              "|expected|)")
    if not a.ndim:
        return Mismatch(where, "values differ", f"{where}: {values}")
    return Mismatch(where, "values differ", (
        f"{where}: {int(bad.sum())} of {bad.size} values differ; worst at index {_tuple(worst)}: {values}"))


def compare(actual, expected, *, rtol: float = RTOL, atol: float = ATOL, check_dtype: bool = False,
            where: str = "result") -> list[Mismatch]:
    """Every way `actual` differs from `expected` (an empty list: it matches).

    `expected` is a number or numpy array (matched by closeness, as in `assert_close`), a bool, a
    string or None (matched exactly, type included), a Predicate, or a tuple, list or dict of
    these: a tuple or list must have the same length, a dict the same keys (extra keys in
    `actual` are not judged).
    """
    if isinstance(expected, Predicate):
        found = expected.mismatch(actual, where)
        return [found] if found else []
    if isinstance(expected, (bool, np.bool_)) or expected is None or isinstance(expected, str):
        same_kind = (isinstance(actual, (bool, np.bool_)) if isinstance(expected, (bool, np.bool_))
                     else type(actual) is type(expected))
        if same_kind and actual == expected:
            return []
        reason = "values differ" if same_kind else "wrong type"
        return [Mismatch(where, reason, f"{where}: expected {expected!r}, got {_describe(actual)}")]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [Mismatch(where, "wrong type", f"{where}: expected a dict with keys "
                                                  f"{sorted(expected)}, got {_describe(actual)}")]
        found = []
        for key, value in expected.items():
            if key not in actual:
                found.append(Mismatch(_part(where, key), "missing", f"{where}: no key {key!r}"))
            else:
                found += compare(actual[key], value, rtol=rtol, atol=atol, check_dtype=check_dtype,
                                 where=_part(where, key))
        return found
    if isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            return [Mismatch(where, "wrong type", f"{where}: expected a tuple of {len(expected)} "
                                                  f"values, got {_describe(actual)}")]
        if expected and all(_is_int(e) for e in expected):  # a shape, say: shown whole
            wrong = [m for a, e in zip(actual, expected) if (m := _close(a, e, rtol, atol, False, where))]
            if not wrong:
                return []
            return [Mismatch(where, wrong[0].reason, f"{where}: expected {_tuple(expected)}, "
                                                     f"got {_tuple(actual)}")]
        found = []
        for i, (a, e) in enumerate(zip(actual, expected)):
            found += compare(a, e, rtol=rtol, atol=atol, check_dtype=check_dtype, where=_part(where, i))
        return found
    found = _close(actual, expected, rtol, atol, check_dtype, where)
    return [found] if found else []


def assert_close(actual, expected, *, rtol: float = RTOL, atol: float = ATOL,
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
    found = compare(actual, expected, rtol=rtol, atol=atol, check_dtype=check_dtype, where=msg)
    if found:
        raise AssertionError(found[0].detail)


def run_probe(probe, inputs: str) -> str:
    """Call `probe(**inputs)` for plain-data `inputs` (as `plaindata.dumps` wrote them); return its
    outcome as plain data: `("returned", result)` or `("raised", exception type name, message)`.

    The grader runs it in the learner's process for each case (see `run_probes`).
    """
    try:
        outcome = ("returned", probe(**loads(inputs)))
        return dumps(outcome)
    except KeyboardInterrupt:
        raise
    except PlainDataError as error:
        return dumps(("raised", "PlainDataError", f"the probe's result is not plain data: {error}"))
    except BaseException as error:  # noqa: BLE001 (an exception is a result like any other)
        try:
            message = str(error)[:2000]
        except Exception:  # noqa: BLE001 (an exception whose message cannot be made)
            message = ""
        return dumps(("raised", type(error).__name__[:200], message + _raised_at(error)))


def _raised_at(error: BaseException) -> str:
    """Where in the notebook's code `error` was raised: the last frame of its traceback in a cell
    (the learner's code, or the probe), with its line; "" if none is in a cell."""
    try:
        cells = _notebook_files()
        frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename in cells]
        if not frames:
            return ""
        frame = frames[-1]
        line = (frame.line or linecache.getline(frame.filename, frame.lineno)).strip()
        where = f"{frame.name}" if frame.name != "<module>" else "a cell"
        return f"\n  raised in {where}, line {frame.lineno} of its cell: {line[:200]}"
    except Exception:  # noqa: BLE001 (never let the location hide the error)
        return ""


def _notebook_files() -> set:
    """The file names IPython gives the code of a notebook's cells (none outside IPython)."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return set(getattr(getattr(shell, "compile", None), "_filename_map", None) or ())


def run_probes(calls: list[tuple]) -> str:
    """`run_probe` for each (probe, inputs) of `calls`: their outcomes, as one plain-data list.

    This is what the grader asks the learner's process to evaluate, once per test cell.
    """
    return '["list",[' + ",".join(run_probe(probe, inputs) for probe, inputs in calls) + "]]"


def judge(outcome: tuple, expect, *, rtol: float = RTOL, atol: float = ATOL,
          check_dtype: bool = False) -> list[Mismatch]:
    """Every way a probe's outcome (from `run_probe`) differs from `expect`."""
    if outcome[0] == "raised":
        name, message = outcome[1], outcome[2]
        if isinstance(expect, raises) and expect.name == name:
            return []
        return [Mismatch("result", "raised an exception",
                         f"the probe raised {name}: {message}".strip().rstrip(":"))]
    if isinstance(expect, raises):
        return [Mismatch("result", "did not raise", f"expected {expect.name} to be raised, "
                                                     f"got {_describe(outcome[1])}")]
    return compare(outcome[1], expect, rtol=rtol, atol=atol, check_dtype=check_dtype)


def check(probe, inputs: dict, expect=None, *, rtol: float = RTOL, atol: float = ATOL,
          check_dtype: bool = False) -> None:
    """Run `probe(**inputs)` and compare its result with `expect`; AssertionError if they differ.

    Args:
        probe: a function named `probe_*` that takes plain data and returns plain data.
        inputs: the probe's keyword arguments, plain data.
        expect: what the result must be: values (numbers and arrays are compared with the
            tolerances), predicates such as `below(0.05)`, or `raises("ValueError")`.
            A hidden case may leave it out: the grader then compares the result with the
            reference solution's; run here, the case only checks that the probe runs.
        rtol, atol, check_dtype: as in `assert_close`.
    """
    outcome = loads(run_probe(probe, dumps(inputs)))
    if expect is None:
        if outcome[0] == "raised":
            raise AssertionError(f"{probe.__name__}: the probe raised {outcome[1]}: {outcome[2]}")
        return
    found = judge(outcome, expect, rtol=rtol, atol=atol, check_dtype=check_dtype)
    if found:
        details = "\n".join(mismatch.detail for mismatch in found[:5])
        more = f"\n(and {len(found) - 5} more)" if len(found) > 5 else ""
        raise AssertionError(f"{probe.__name__}({_arguments(inputs)}):\n{details}{more}")


def _arguments(inputs: dict) -> str:
    text = " ".join(", ".join(f"{key}={_short(value)}" for key, value in inputs.items()).split())
    return text if len(text) <= 300 else text[:297] + "..."


def _short(value) -> str:
    """A short text for an input: small arrays in full, larger ones by shape and dtype."""
    if isinstance(value, np.ndarray):
        return f"<array {value.shape} {value.dtype}>" if value.size > 6 else np.array2string(
            value, separator=", ", precision=4)
    if isinstance(value, (list, tuple)) and any(isinstance(item, np.ndarray) for item in value):
        inner = ", ".join(_short(item) for item in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
