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

from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.execution.sandbox import KernelLauncher

GRADED, RESTORED = "graded", "test cell restored"
TIMED_OUT, CRASHED, TAMPERED = "timed out", "crashed", "probe channel tampered"
TOO_LARGE = "too large to grade"
NOT_A_NOTEBOOK, MISSING = "not a notebook", "notebook missing"
GRADER_ERROR = "grader error"
STOPPED = (TIMED_OUT, CRASHED, TOO_LARGE, NOT_A_NOTEBOOK, MISSING, GRADER_ERROR)  # ends a whole submission
RESTORED_NOTE = "graded with the course's version"


@dataclass(frozen=True)
class Settings:
    """What every grading worker needs to know, sent with each task (workers share no other state)."""
    chapter: str  # the assignment, e.g. 02_autograd
    notebook: str  # the notebook's name without .ipynb, e.g. autograd
    course: Path  # nbgrader's course directory
    db_url: str
    launcher: KernelLauncher
    feedback: Path  # where each student's feedback HTML goes
    exercises: tuple[tuple[str, float], ...] = ()  # (grade id, points) of each graded cell
    tests: dict = field(default_factory=dict)  # {grade id: probes.TestCell}, read from the source
    reference: dict = field(default_factory=dict)  # {grade id: the reference's case outcomes}
    pages: bool = True  # nbgrader's feedback pages (the audit, which reads only the results, goes without)


@dataclass
class ExerciseResult:
    """One exercise of one submission: one row of grades.csv. points is None only for a
    grader error."""
    exercise: str
    points: float | None
    max_points: float
    status: str
    note: str = ""


@dataclass
class Graded:
    """What grading one submission gives, as a worker returns it: each exercise's result, the
    submission's status (GRADED, RESTORED, TAMPERED, or the STOPPED status that ended it) and
    why it stopped, the seconds it took, and whether nbgrader's feedback page was written."""
    exercises: list[ExerciseResult]
    status: str = GRADED
    note: str = ""
    seconds: float = 0.0
    feedback: bool = False


@dataclass
class SubmissionResult:
    """One student's graded submission: what results/STUDENT_ID.json holds and the reports read.
    `student` is the id it was graded under, `name` the folder's name; `timestamp` is when it
    was submitted (UTC, ISO format), `submitted` the notebook's path in the submissions."""
    student: str
    name: str
    timestamp: str
    submitted: str
    status: str
    note: str
    exercises: list[ExerciseResult]
    seconds: float = 0.0
    feedback: bool = False

    @property
    def points(self) -> float | None:
        """The total, or None unless every exercise has a score (a grader error leaves it empty)."""
        if any(row.points is None for row in self.exercises):
            return None
        return sum(row.points for row in self.exercises)

    def as_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> SubmissionResult:
        """A result read back from results/STUDENT_ID.json (one written before folders had names
        of their own has no `name`: its id is its name)."""
        rows = [ExerciseResult(**row) for row in data["exercises"]]
        return cls(data["student"], data.get("name", data["student"]), data["timestamp"],
                   data["submitted"], data["status"], data["note"], rows, data.get("seconds", 0.0),
                   data.get("feedback", False))


def ungraded(exercises, status: str, note: str) -> Graded:
    """The result of a submission none of whose exercises was judged, for `status` and `note`:
    0 points each, or no score if the grader failed."""
    points = None if status == GRADER_ERROR else 0.0
    return Graded([ExerciseResult(grade_id, points, max_points, status, note)
                   for grade_id, max_points in exercises], status, note)
