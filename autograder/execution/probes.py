"""Test cells as probes and cases: what runs in the learner's kernel, and how its results come back.

A graded test cell (see `nnlib.testing`) defines probes, functions named `probe_*`, and calls
`check(probe, inputs, expect=...)` once per case. In grading, the cell never runs in the learner's
kernel. Instead:

- `read_tests` runs each test cell of the course's own notebook in the grader's process, where
  `check` only records its case (`Case`): the probe's name, its inputs as plain data, and what
  the result must be. The hidden block's cases are marked hidden. Expectations never leave this
  process.
- `definitions` is the source of the cell's `probe_*` functions, the only code of a test cell
  that runs in the learner's kernel (probe code may be public; inputs and judging are not in it).
- `call_expression` is what the grader asks the kernel to evaluate for a test cell, in the same
  request that defines its probes: `nnlib.testing.run_probes` on every case's probe and inputs,
  the outcomes as base64 of plain-data JSON, so that the reply's `text/plain` is a quoted base64
  string and nothing else.
- `read_outcomes` reads that reply strictly (`nnlib.plaindata.loads`, sizes capped): one outcome
  per case, or `ChannelError` when the kernel sent anything else.

`autograder.execution.trial` grades notebooks against a solution notebook without jail or gradebook,
for authors checking their tests and mutants:

    python -m autograder.execution.trial SOLUTION.ipynb [SUBMISSION.ipynb ...]
"""
from __future__ import annotations

import ast
import base64
import binascii
import builtins
import math
import re
from dataclasses import dataclass, field

import numpy as np

import nnlib.testing
from autograder.cells import HIDDEN_TESTS, cell_source, is_graded, nbgrader_of
from nnlib.plaindata import Limits, PlainDataError, dumps, loads

PROBE_PREFIX = "probe"
QUOTED_BASE64 = re.compile(r"'([A-Za-z0-9+/]*={0,2})'")


class TestCellError(Exception):
    """A test cell of the course does not follow the probe format (an authoring error)."""


class ChannelError(Exception):
    """What came back from the kernel for a case is not an outcome that `run_probe` writes."""


@dataclass(frozen=True)
class Case:
    """One call of a probe, and what its result must be.

    expect is None where the result is judged against the reference solution's result.
    """
    number: int  # 1, 2, ... within its test cell
    probe: str
    inputs: str  # plain-data JSON of the keyword arguments
    expect: object = None
    rtol: float = nnlib.testing.RTOL
    atol: float = nnlib.testing.ATOL
    check_dtype: bool = False
    hidden: bool = False

    def describe(self) -> str:
        """How feedback names the case: its inputs only if it is visible."""
        if self.hidden:
            return f"hidden case {self.number}"
        return f"case {self.number}: {self.probe}({nnlib.testing._arguments(loads(self.inputs))})"


@dataclass(frozen=True)
class TestCell:
    """A graded test cell as the grader uses it."""
    grade_id: str
    points: float
    definitions: str  # the source of its probe_* functions
    cases: tuple[Case, ...] = field(default=())


def _probe_sources(code: str) -> list[str]:
    tree = ast.parse(code)
    probes = [node for node in tree.body
              if isinstance(node, ast.FunctionDef) and node.name.startswith(PROBE_PREFIX)]
    if any(node.decorator_list for node in probes):
        raise TestCellError("a probe_* function has a decorator, which would not reach the kernel")
    return [ast.get_source_segment(code, node) for node in probes]


def read_test_cell(grade_id: str, points: float, source: str) -> TestCell:
    """Run a test cell's own code in this process with a recording `check`; its cases and probes."""
    cases: list[Case] = []
    hidden = False

    def record(probe, inputs, expect=None, *, rtol=nnlib.testing.RTOL, atol=nnlib.testing.ATOL,
               check_dtype=False):
        name = getattr(probe, "__name__", "")
        if not name.startswith(PROBE_PREFIX) or not isinstance(inputs, dict):
            raise TestCellError(f"{grade_id}: check() takes a probe_* function and a dict of inputs")
        if expect is None and not hidden:
            raise TestCellError(f"{grade_id}: a visible case must say what it expects (expect=...)")
        try:
            encoded = dumps(inputs)
        except PlainDataError as error:
            raise TestCellError(f"{grade_id}: inputs of {name} are not plain data: {error}") from None
        cases.append(Case(len(cases) + 1, name, encoded, expect, rtol, atol, check_dtype, hidden))

    namespace = {"__builtins__": builtins, "__name__": f"test_cell_{grade_id}", "np": np, "math": math,
                 **{name: getattr(nnlib.testing, name) for name in nnlib.testing.__all__},
                 "check": record}
    parts, at = [], 0
    for match in HIDDEN_TESTS.finditer(source):
        parts += [(source[at:match.start()], False), (match.group(1), True)]
        at = match.end()
    parts.append((source[at:], False))
    definitions = []
    for code, hidden in parts:
        try:
            definitions += _probe_sources(code)
            exec(compile(code, f"<{grade_id}>", "exec"), namespace)  # noqa: S102 (the course's own test)
        except TestCellError:
            raise
        except Exception as error:
            raise TestCellError(f"{grade_id}: its code failed in the grader's process "
                                f"({type(error).__name__}: {error}); only probe_* functions may use "
                                "the notebook's names") from error
    if not cases:
        raise TestCellError(f"{grade_id}: no check() cases")
    return TestCell(grade_id, points, "\n\n".join(definitions), tuple(cases))


def read_tests(notebook: dict) -> dict[str, TestCell]:
    """{grade id: TestCell} for every graded cell of the course's notebook (a dict from its JSON)."""
    tests = {}
    for cell in notebook["cells"]:
        if is_graded(cell):
            meta = nbgrader_of(cell)
            tests[meta["grade_id"]] = read_test_cell(meta["grade_id"], float(meta["points"]), cell_source(cell))
    return tests


def call_expression(test: TestCell) -> str:
    """The expression the kernel evaluates for all the cases of `test`, in order: their outcomes,
    base64-encoded (one request per test cell: a round trip costs ~8 ms of a kernel's time)."""
    calls = ", ".join(f"({case.probe}, {case.inputs!r})" for case in test.cases)
    return (f"__import__('base64').b64encode(__import__('nnlib.testing', fromlist=['run_probes'])"
            f".run_probes([{calls}]).encode()).decode()")


def is_outcome(value) -> bool:
    """Whether `value` is what `run_probe` writes: ("returned", value) or ("raised", name, message)."""
    return isinstance(value, tuple) and (
        (len(value) == 2 and value[0] == "returned")
        or (len(value) == 3 and value[0] == "raised" and all(isinstance(part, str) for part in value[1:])))


def read_outcomes(reply_content: dict, cases: int, megabytes: int = 48) -> list:
    """The outcomes of a test's `cases` cases from the kernel's execute_reply content (see
    `call_expression`), at most `megabytes` of JSON; ChannelError if the reply holds anything else."""
    limits = Limits(chars=megabytes << 20)
    if reply_content.get("status") == "error":  # its probes could not be defined
        failure = ("raised", str(reply_content.get("ename", ""))[:200], str(reply_content.get("evalue", ""))[:2000])
        return [failure] * cases
    try:
        result = reply_content["user_expressions"]["outcomes"]
        if result["status"] == "error":  # the expression itself failed (e.g. no such probe)
            failure = ("raised", str(result.get("ename", ""))[:200], str(result.get("evalue", ""))[:2000])
            return [failure] * cases
        text = result["data"]["text/plain"]
    except (KeyError, TypeError):
        raise ChannelError("the kernel's reply holds no outcomes") from None
    if not isinstance(text, str) or len(text) > limits.chars * 4 // 3 + 8:
        raise ChannelError("the kernel's reply is not a text of the allowed size")
    match = QUOTED_BASE64.fullmatch(text)
    if not match:
        raise ChannelError("the kernel's reply is not the outcomes' encoding")
    try:
        outcomes = loads(base64.b64decode(match.group(1), validate=True).decode(), limits)
    except (PlainDataError, binascii.Error, UnicodeDecodeError) as error:
        raise ChannelError(f"the kernel's reply is not plain data ({error})") from None
    if not (isinstance(outcomes, list) and len(outcomes) == cases and all(map(is_outcome, outcomes))):
        raise ChannelError(f"the kernel's reply is not {cases} outcomes")
    return outcomes
