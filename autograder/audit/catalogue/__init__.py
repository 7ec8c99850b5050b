"""The audit's catalogue: plausible learner bugs and correct alternatives, per chapter.

One module per chapter, named after it without its number (`derivatives`, `autograd`, `backprop`,
`classification`, `mnist`, `cnn`), holding four names:

    BUGS          [Mutant]: a bug a learner could write; it must lose points in the tests of its
                  own exercise (it may lose points in later exercises that build on it too)
    ALTERNATIVES  [Mutant]: a correct program written differently; it must keep full marks
    EQUIVALENT    {generated mutant name: why it is a correct program}: the generated
                  single-point mutants (autograder/audit/audit.py) that survive because no test can tell
                  them from the solution
    KNOWN_HOLES   {bug name: reason}: bugs that keep full marks today (a test to add); the audit
                  reports them, tests/test_catalogue.py xfails them with the reason

A Mutant edits the solution code of ONE exercise (the solution cell whose nbgrader grade_id is
`grade_id`, as a learner has it: the solution's code without the ### BEGIN/END SOLUTION lines):
`old` is replaced by `new`, and `old` must occur exactly once in that cell.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Mutant:
    name: str  # unique in its chapter: it is the submission's student id
    grade_id: str  # the exercise: the grade_id of the solution cell it edits
    old: str
    new: str


def module(chapter: str) -> ModuleType:
    """The catalogue of a chapter, e.g. 03_backprop -> autograder.audit.catalogue.backprop."""
    return importlib.import_module(f"{__name__}.{chapter.split('_', 1)[1]}")


class Catalogue:
    """Collects a chapter's entries: `bug(...)` and `ok(...)` append to BUGS and ALTERNATIVES."""

    def __init__(self):
        self.bugs: list[Mutant] = []
        self.alternatives: list[Mutant] = []

    def bug(self, name: str, grade_id: str, old: str, new: str) -> None:
        self.bugs.append(Mutant(name, grade_id, old, new))

    def ok(self, name: str, grade_id: str, old: str, new: str) -> None:
        self.alternatives.append(Mutant(name, grade_id, old, new))
