"""The judge: a test's verdict from its cases' outcomes, made in the grader's process.

Each case's outcome (what the learner's kernel sent back, read by `probes.read_outcomes`) is
compared with the case's `expect`, or, where a hidden case gives none, with the reference
solution's outcome for the same case (`nnlib.testing.judge`: tolerances, types, shapes,
dtypes, predicates). A test scores its points when every case passes, else 0.

What the verdict says is what the learner's feedback shows: for a visible case, the inputs and
what differs, with the values; for a hidden case, only its number and a reason that reveals no
value ("values differ", "wrong shape", "raised an exception"): no text from the kernel.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from nnlib.testing import judge, raises

from autograder.execution.probes import Case, ChannelError, TestCell
from autograder.results import GRADED, TAMPERED

TEST_FAILED = "TestFailed"  # ename of the error output of a test cell that scored 0


@dataclass
class Verdict:
    """A test's points, status and the feedback lines of its failed cases."""
    grade_id: str
    points: float
    max_points: float
    status: str = GRADED
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.points == self.max_points


def expectation(case: Case, reference: list | None):
    """What `case`'s result must be: its own `expect`, else the reference's outcome."""
    if case.expect is not None:
        return case.expect
    if reference is None or len(reference) < case.number:
        raise LookupError(f"no reference outcome for case {case.number} of {case.probe}")
    outcome = reference[case.number - 1]
    return raises(outcome[1]) if outcome[0] == "raised" else outcome[1]


def case_failure(case: Case, outcome, reference: list | None) -> str | None:
    """The feedback line of a failed case, or None if it passed."""
    if isinstance(outcome, ChannelError):
        return f"{case.describe()}: {TAMPERED}" + ("" if case.hidden else f" ({outcome})")
    found = judge(outcome, expectation(case, reference), rtol=case.rtol, atol=case.atol,
                  check_dtype=case.check_dtype)
    if not found:
        return None
    if case.hidden:
        reasons = "; ".join(dict.fromkeys(f"{m.reason} ({m.where})" if m.where != "result" else m.reason
                                          for m in found))
        return f"{case.describe()}: {reasons}"
    return f"{case.describe()}\n  " + "\n  ".join(m.detail for m in found[:5])


def judge_test(test: TestCell, outcomes: list, reference: list | None) -> Verdict:
    """The verdict on `test` from its cases' outcomes (one per case, in order; a ChannelError
    where the kernel's reply could not be read)."""
    failures = [line for case, outcome in zip(test.cases, outcomes)
                if (line := case_failure(case, outcome, reference))]
    tampered = any(isinstance(outcome, ChannelError) for outcome in outcomes)
    return Verdict(test.grade_id, 0.0 if failures else test.points, test.points,
                   TAMPERED if tampered else GRADED, failures)
