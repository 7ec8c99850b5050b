"""The grader's vocabulary: the status of an exercise, and what grading one exercise gives.

Statuses say why an exercise has the points it has:

    graded                 judged on every case
    test cell restored     judged; the learner had edited or deleted its test cell, which plays no
                           part in grading (the course's test is used), so this is only a note
    timed out, crashed     the submission stopped (a cell ran too long, the kernel died) before
                           this test was judged: 0 points. Also for the whole submission when the
                           grader's own work on it ran past its time (pool.py), or killed the
                           grading worker twice
    probe channel tampered what came back from the learner's kernel for a case was not an outcome
                           that the course's probe runner writes: 0 points
    too large to grade     the grader's own work on the submission needed more memory than a
                           grading worker may hold (pool.py): 0 points
    not a notebook, notebook missing    nothing could run: 0 points
    grader error           the grader itself failed: no score (empty), to be graded again

Only a failure of the grader leaves a score empty: whatever a submission does scores what it
earned, and 0 for every exercise it kept from being judged.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

GRADED, RESTORED = "graded", "test cell restored"
TIMED_OUT, CRASHED, TAMPERED = "timed out", "crashed", "probe channel tampered"
TOO_LARGE = "too large to grade"
NOT_A_NOTEBOOK, MISSING = "not a notebook", "notebook missing"
GRADER_ERROR = "grader error"
STOPPED = (TIMED_OUT, CRASHED, TOO_LARGE, NOT_A_NOTEBOOK, MISSING, GRADER_ERROR)  # ends a whole submission
RESTORED_NOTE = "graded with the course's version"


@dataclass
class ExerciseResult:
    """One exercise of one submission: one row of grades.csv. points is None only for a
    grader error."""
    exercise: str
    points: float | None
    max_points: float
    status: str
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def ungraded(exercises, status: str, note: str) -> dict:
    """The result of a submission none of whose exercises was judged, for `status` and `note`:
    0 points each, or no score if the grader failed."""
    points = None if status == GRADER_ERROR else 0.0
    rows = [ExerciseResult(grade_id, points, max_points, status, note).as_dict()
            for grade_id, max_points in exercises]
    return {"exercises": rows, "seconds": 0.0, "feedback": False}
