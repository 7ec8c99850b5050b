"""What the grading workers do: everything that needs nbgrader, run in long-lived processes.

`grade.py` starts a pool of these processes from a fork server that imported this module (and
so nbgrader, ~3 s) once; each worker then grades many submissions through one `NbGraderAPI`,
paying only for the kernel of each submission. All workers write one gradebook: nbgrader opens
it briefly before and after each execution, SQLite waits for its lock (a 60 s busy timeout, WAL
journal) and other databases handle concurrent writers themselves.
"""
from __future__ import annotations

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

from autograder.build import nbgrader_api
from autograder.feedback import BEGIN, END, FeedbackExporter, HideHiddenTests
from autograder.grade import CRASHED, GRADED, NOT_A_NOTEBOOK, RESTORED, RESTORED_NOTE, Settings, ungraded
from autograder.guarded_execute import LAST_RUN, GuardedExecute

# nbgrader 0.9.6's gradebook code trips this SQLAlchemy 2 warning on every submission; harmless.
warnings.filterwarnings("ignore", category=SAWarning)
_apis: dict = {}


def api_for(settings: Settings):
    """This worker's NbGraderAPI for these settings, made on first use."""
    key = (settings.course, settings.db_url, settings.launcher)
    if key not in _apis:
        api = nbgrader_api(settings.course, timeout=settings.launcher.limits.timeout)
        api.coursedir.db_url = settings.db_url
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
    return _apis[key]


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


def grade_submission(settings: Settings, student: str, restored: dict[str, str]) -> dict:
    """Autograde one staged submission and write its feedback; return its result.

    `restored` maps the grade id of each test cell the learner edited or deleted to "edited" or
    "deleted" (nbgrader grades with the course's version). The result has the student's
    `exercises` (one row each: exercise, points, max_points, status, note), the time it took,
    and whether feedback was written.
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
        return ungraded(settings.exercises, CRASHED, note)
    scores = record_scores(settings, student, set(run.not_run))
    rows = []
    for grade_id, max_points in settings.exercises:
        notes = []
        if grade_id in run.not_run:
            status, points, notes = run.stopped, None, [run.note]
        else:
            status, points = (RESTORED if grade_id in restored else GRADED), scores[grade_id]
            if grade_id in restored:
                notes.append(f"{restored[grade_id]} by the learner, {RESTORED_NOTE}")
        if grade_id in run.tampering:
            notes.append("the submission had replaced " + ", ".join(run.tampering[grade_id])
                         + "; restored before this test")
        if grade_id in run.guard_failed:
            notes.append("the submission interfered with the grading kernel: test failed")
        rows.append({"exercise": grade_id, "points": points, "max_points": max_points,
                     "status": status, "note": "; ".join(notes)})
    return {"exercises": rows, "seconds": round(monotonic() - started, 1),
            "feedback": write_feedback(settings, student)}


def record_scores(settings: Settings, student: str, not_run: set[str]) -> dict[str, float]:
    """{grade id: points} from the gradebook. Cells that did not run get no score there either
    (nbgrader would show 0): auto_score None and needs_manual_grade, nbgrader's own way."""
    with Gradebook(settings.db_url) as gradebook:
        notebook = gradebook.find_submission_notebook(settings.notebook, settings.chapter, student)
        scores = {}
        for grade in notebook.grades:
            if grade.name in not_run:
                grade.auto_score, grade.needs_manual_grade = None, True
            scores[grade.name] = grade.auto_score
        gradebook.db.commit()
    return scores


def write_feedback(settings: Settings, student: str) -> bool:
    """nbgrader's feedback, without hidden tests, as feedback/<student>.html."""
    api = api_for(settings)
    result = api.generate_feedback(settings.chapter, student, force=True)
    html = settings.course / "feedback" / student / settings.chapter / f"{settings.notebook}.html"
    if not result["success"] or not html.exists():
        return False
    text = html.read_text()
    if BEGIN in text or END in text:
        raise RuntimeError(f"hidden tests leaked into {html}: feedback not written")
    settings.feedback.mkdir(parents=True, exist_ok=True)
    (settings.feedback / f"{student}.html").write_text(text)
    return True


def grade_task(settings: Settings, student: str, restored: dict[str, str]) -> dict:
    """`grade_submission`, with a failure of the grader itself reported as this submission's
    "crashed" result instead of stopping the other submissions."""
    try:
        return grade_submission(settings, student, restored)
    except Exception as error:  # noqa: BLE001 (reported in the submission's result and the log)
        note = f"the grader failed: {type(error).__name__}: {error}"
        return ungraded(settings.exercises, CRASHED, note)
