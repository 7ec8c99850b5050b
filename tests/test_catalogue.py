"""The audit's catalogue (autograder/audit/catalogue/) through the real grading path: every plausible
bug loses points in its own exercise, every correct alternative keeps full marks.

One grading run per chapter (autograder.audit.audit.run: all the chapter's entries, default workers),
shared by its entries' tests; the generated mutants of `course.py audit` are not run here.
A bug listed in the chapter's KNOWN_HOLES is expected to keep full marks (xfail, strict: once a
test catches it, remove it from KNOWN_HOLES)."""
from __future__ import annotations

import pytest

from autograder.audit import audit
from autograder.audit import catalogue
from autograder.layout import HERE

CHAPTERS = sorted(path.name for path in HERE.solutions.iterdir() if path.is_dir() and path.name[:2].isdigit())
_reports: dict[str, dict[str, audit.Outcome]] = {}


def outcomes(chapter: str) -> dict[str, audit.Outcome]:
    if chapter not in _reports:
        report = audit.run(chapter, audit.catalogue_entries(chapter))
        _reports[chapter] = {outcome.entry.name: outcome for outcome in report.outcomes}
    return _reports[chapter]


def test_the_catalogue_covers_every_exercise():
    """At least three bugs and one correct alternative per exercise; every entry applies once."""
    short = []
    for chapter in CHAPTERS:
        entries = audit.catalogue_entries(chapter)  # AuditError if an entry does not apply exactly once
        for exercise in audit.solution_cells(audit.chapter_notebooks(chapter)[0]):
            bugs = sum(e.kind == audit.BUG and e.exercise == exercise for e in entries)
            oks = sum(e.kind == audit.ALTERNATIVE and e.exercise == exercise for e in entries)
            if bugs < 3 or oks < 1:
                short.append(f"{chapter} {exercise}: {bugs} bugs, {oks} alternatives")
    assert not short, "the catalogue needs more entries:\n" + "\n".join(short)


def params(kind: str):
    for chapter in CHAPTERS:
        book = catalogue.module(chapter)
        for mutant in book.BUGS if kind == audit.BUG else book.ALTERNATIVES:
            hole = book.KNOWN_HOLES.get(mutant.name) if kind == audit.BUG else None
            marks = [pytest.mark.xfail(reason=f"known hole: {hole}", strict=True)] if hole else []
            yield pytest.param(chapter, mutant.name, mutant.grade_id, id=f"{chapter}-{mutant.name}", marks=marks)


@pytest.mark.parametrize("chapter, name, exercise", list(params(audit.BUG)))
def test_bug_loses_points_in_its_own_exercise(chapter, name, exercise):
    outcome = outcomes(chapter)[name]
    own = audit.exercise_tests(audit.chapter_notebooks(chapter)[0])[exercise]
    assert outcome.own, (f"the bug {name} of {chapter} keeps full marks in its exercise {exercise} "
                         f"(tests {', '.join(own)}); lost: {outcome.lost or 'nothing'}, status {outcome.status}")


@pytest.mark.parametrize("chapter, name, exercise", list(params(audit.ALTERNATIVE)))
def test_correct_alternative_keeps_full_marks(chapter, name, exercise):
    outcome = outcomes(chapter)[name]
    assert not outcome.lost, (f"the correct alternative {name} of {chapter} ({exercise}) loses points: "
                              + ", ".join(f"{test} -{points:g}" for test, points in outcome.lost.items())
                              + f" (status {outcome.status})")
