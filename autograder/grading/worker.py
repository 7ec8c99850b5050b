"""What the grading workers do: everything that needs nbgrader, run in long-lived processes.

`grade.py` starts a pool of these processes from a fork server that imported this module (and
so nbgrader, ~3 s) once; each worker then grades many submissions through one `NbGraderAPI`,
paying only for the kernel of each submission. All workers write one gradebook: nbgrader opens
it briefly before and after each execution, SQLite waits for its lock (a 60 s busy timeout, WAL
journal) and other databases handle concurrent writers themselves.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import warnings
from time import monotonic

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, GetGrades,
                                    IgnorePattern, LimitOutput, SaveAutoGrades)
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from autograder.authoring.build import nbgrader_api
from autograder.cells import BEGIN_HIDDEN, END_HIDDEN
from autograder.grading.feedback import FeedbackExporter, HideHiddenTests
from autograder.execution import trial
from autograder.execution.guarded_execute import LAST_RUN, GuardedExecute
from autograder.results import (GRADED, GRADER_ERROR, NOT_A_NOTEBOOK, RESTORED, RESTORED_NOTE, TAMPERED,
                                ExerciseResult, Graded, Settings, ungraded)

# nbgrader 0.9.6's gradebook code trips this SQLAlchemy 2 warning on every submission; harmless.
warnings.filterwarnings("ignore", category=SAWarning)
_apis: dict = {}


def api_for(settings: Settings):
    """This worker's NbGraderAPI for these settings, made on first use."""
    key = (settings.course, settings.chapter, settings.db_url, settings.launcher)
    if key not in _apis:
        api = nbgrader_api(settings.course, timeout=settings.launcher.limits.timeout)
        api.coursedir.db_url = settings.db_url
        if make_url(settings.db_url).get_backend_name() != "sqlite":
            # nbgrader's course row, made by the set-up (one shard at a time, gradebook_store.py):
            # a database that enforces foreign keys refuses assignments of course "" (no row)
            api.coursedir.course_id = "default_course"
        config = Config()
        config.Autograde.autograde_preprocessors = [
            GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
            AssignLatePenalties, CheckCellMetadata]
        config.GuardedExecute.launcher = settings.launcher
        config.OverwriteCells.add_missing_cells = True
        config.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, HideHiddenTests]
        config.GenerateFeedback.exporter_class = FeedbackExporter
        api.config.merge(config)
        _apis[key] = api
    api = _apis[key]
    api.config.GuardedExecute.tests = settings.tests  # (the reference is known after set_up)
    api.config.GuardedExecute.reference = settings.reference
    return api


def set_up(settings: Settings) -> None:
    """Generate the assignment in the course directory: its release notebook, and its entry in
    the gradebook."""
    api = api_for(settings)
    result = api.generate_assignment(settings.chapter, force=True)
    if not result["success"]:
        raise RuntimeError(f"nbgrader could not generate {settings.chapter} in "
                           f"{settings.course}:\n{result.get('log', '')}{result.get('error', '')}")
    url = make_url(settings.db_url)
    if url.get_backend_name() == "sqlite" and url.database:
        with sqlite3.connect(url.database) as connection:  # readers then never block the writer
            connection.execute("PRAGMA journal_mode=WAL")


def forget(settings: Settings, student: str) -> None:
    """Remove a student's graded submission from the gradebook (a newer one cannot be graded)."""
    with Gradebook(settings.db_url) as gradebook:
        try:
            gradebook.remove_submission(settings.chapter, student)
        except MissingEntry:
            pass
    for folder in ("autograded", "feedback"):  # (its feedback page is replaced by grade.py)
        shutil.rmtree(settings.course / folder / student / settings.chapter, ignore_errors=True)


def last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no message"


def reference_outcomes(settings: Settings) -> dict[str, list]:
    """The outcome of every case on the course's solution, run through the grading path once
    per grading run (hidden cases without an expectation are judged against it)."""
    source = settings.course / "source" / settings.chapter
    notebook = json.loads((source / f"{settings.notebook}.ipynb").read_text())
    return trial.reference_outcomes(notebook, source, settings.tests, settings.launcher)


def grade_submission(settings: Settings, student: str, restored: dict[str, str]) -> Graded:
    """Autograde one staged submission and write its feedback; return its result.

    `restored` maps the grade id of each test cell the learner edited or deleted to "edited" or
    "deleted" (their test cells play no part: the course's tests are judged). The submission's
    status is the run's stop (a timeout, a crash), else RESTORED if a test cell was put back,
    else TAMPERED if a case's outcome was, else GRADED.
    """
    api = api_for(settings)
    started = monotonic()
    outcome = api.autograde(settings.chapter, student, force=True, create=True)
    run = LAST_RUN.pop(student, None)
    if run is None:  # nbgrader gave up before executing anything: it cannot read this notebook
        note = f"nbgrader cannot grade it: {last_line(outcome.get('error') or outcome.get('log'))}"
        return ungraded(settings.exercises, NOT_A_NOTEBOOK, note)
    if not outcome["success"]:
        note = f"grading failed: {last_line(outcome.get('error') or outcome.get('log'))}"
        return ungraded(settings.exercises, GRADER_ERROR, note)
    record_scores(settings, student, run.verdicts)
    rows = []
    for grade_id, max_points in settings.exercises:
        verdict = run.verdicts[grade_id]
        status, notes = verdict.status, verdict.failures[:1]
        if status == GRADED and grade_id in restored:
            status = RESTORED
            notes.append(f"{restored[grade_id]} by the learner, {RESTORED_NOTE}")
        rows.append(ExerciseResult(grade_id, verdict.points, max_points, status,
                                   "; ".join(note.replace("\n", " ")[:300] for note in notes)))
    if run.stopped:
        status = run.stopped
    elif any(row.status == RESTORED for row in rows):
        status = RESTORED
    else:
        status = TAMPERED if any(row.status == TAMPERED for row in rows) else GRADED
    note = next((row.note for row in rows if row.status == run.stopped), "") if run.stopped else ""
    page = write_feedback(settings, student) if settings.pages else False
    return Graded(rows, status, note, round(monotonic() - started, 1), page)


def record_scores(settings: Settings, student: str, verdicts: dict) -> None:
    """Write the judge's points into the gradebook (what nbgrader derived from the outputs is
    replaced: the verdict alone decides)."""
    with Gradebook(settings.db_url) as gradebook:
        notebook = gradebook.find_submission_notebook(settings.notebook, settings.chapter, student)
        for grade in notebook.grades:
            if grade.name in verdicts:
                grade.auto_score, grade.needs_manual_grade = verdicts[grade.name].points, False
        gradebook.db.commit()


def write_feedback(settings: Settings, student: str) -> bool:
    """nbgrader's feedback, without hidden tests, as feedback/<student>.html."""
    api = api_for(settings)
    result = api.generate_feedback(settings.chapter, student, force=True)
    html = settings.course / "feedback" / student / settings.chapter / f"{settings.notebook}.html"
    if not result["success"] or not html.exists():
        return False
    text = html.read_text()
    if BEGIN_HIDDEN in text or END_HIDDEN in text:
        raise RuntimeError(f"hidden tests leaked into {html}: feedback not written")
    settings.feedback.mkdir(parents=True, exist_ok=True)
    (settings.feedback / f"{student}.html").write_text(text)
    return True


def grade_task(settings: Settings, student: str, restored: dict[str, str]) -> Graded:
    """`grade_submission`, with a failure of the grader itself reported as this submission's
    "grader error" result instead of stopping the other submissions."""
    try:
        return grade_submission(settings, student, restored)
    except Exception as error:  # noqa: BLE001 (reported in the submission's result and the log)
        note = f"the grader failed: {type(error).__name__}: {error}"
        return ungraded(settings.exercises, GRADER_ERROR, note)
