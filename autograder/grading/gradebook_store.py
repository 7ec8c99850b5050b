"""The shared gradebook: its URL, and the per-submission records nbgrader's gradebook lacks.

nbgrader's gradebook (any SQLAlchemy URL: SQLite by default, PostgreSQL for a class graded on
several machines) holds the scores of each graded cell. What the reports also need, the
submission's status, note and time, the rows of grades.csv and the feedback page, goes into two
tables of the same database:

    nnfs_assignment   one row per chapter: its exercises (grade id, points), in notebook order
    nnfs_record       one row per (chapter, student): the submission's result (the JSON of
                      results/STUDENT.json), when it was submitted and graded, its feedback HTML

A record is written in one transaction, after nbgrader's rows of the submission: it is the
submission's completion marker, and the reports (`course.py grades`) read records only, so a
submission becomes visible whole or not at all (a grader killed between nbgrader's rows and the
record leaves the previous record, if any, until its shard runs again).

The URL: `--db-url`, else the first line of `--db-url-file`, else the environment variable
NNFS_DB_URL. A URL without a password takes it from NNFS_DB_PASSWORD, else libpq finds it
(PGPASSFILE, ~/.pgpass). `postgresql://` means the psycopg (3) driver. No message shows the
password: `masked` and `place` are what is printed.
"""
from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import (Column, DateTime, Float, MetaData, String, Table, Text, create_engine,
                        delete, insert, select, text)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from autograder.execution.intake import GradeError
from autograder.results import GRADER_ERROR, NOT_A_NOTEBOOK, Graded, SubmissionResult

URL_VARIABLE, PASSWORD_VARIABLE = "NNFS_DB_URL", "NNFS_DB_PASSWORD"
SETUP_LOCK = 0x6E6E6673  # PostgreSQL advisory lock held while a shard sets the chapter up ("nnfs")
RETRY_SECONDS = (1, 2, 4, 8, 15)  # waits before writing a record again after losing the database
# How nbgrader's failures read when it could not reach its gradebook (grade_worker.py's notes)
UNREACHABLE = ("OperationalError", "error accessing the nbgrader database")

metadata = MetaData()
assignments = Table("nnfs_assignment", metadata,
                    Column("assignment", String(128), primary_key=True),
                    Column("exercises", Text, nullable=False))  # JSON [[grade id, points], ...]
records = Table("nnfs_record", metadata,
                Column("assignment", String(128), primary_key=True),
                Column("student", String(160), primary_key=True),
                Column("name", Text, nullable=False),  # the folder's name, as the reports show it
                Column("status", String(64), nullable=False),
                Column("submitted", String(40), nullable=False),  # ISO time, naive UTC
                Column("graded", DateTime, nullable=False),  # naive UTC
                Column("seconds", Float, nullable=False),
                Column("result", Text, nullable=False),  # JSON, as results/STUDENT.json
                Column("feedback", Text, nullable=False))  # HTML


def resolve_url(url: str | None, url_file: Path | None = None, default: str | None = None,
                environ=os.environ) -> str | None:
    """The gradebook URL from (in this order) `url`, the first line of `url_file`, NNFS_DB_URL or
    `default`; with the password of NNFS_DB_PASSWORD if it has none, and `postgresql://` read as
    psycopg's. GradeError (without the URL's password) if it is not a database URL."""
    if url is None and url_file is not None:
        try:
            url = Path(url_file).read_text().strip().splitlines()[0]
        except (OSError, IndexError) as error:
            raise GradeError(f"--db-url-file {url_file}: no URL could be read from it "
                             f"({type(error).__name__})") from None
    url = url or environ.get(URL_VARIABLE) or default
    if url is None:
        return None
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise GradeError("the gradebook URL is not a database URL: expected e.g. "
                         "postgresql://USER@HOST:PORT/DATABASE or sqlite:///PATH") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "postgresql" and parsed.password is None and environ.get(PASSWORD_VARIABLE):
        parsed = parsed.set(password=environ[PASSWORD_VARIABLE])
    return parsed.render_as_string(hide_password=False)


def sqlite_url(db_url: str) -> str:
    """The URL, with a 60 s busy timeout if it is SQLite (parallel workers wait for the lock)."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and "timeout" not in url.query:
        url = url.update_query_dict({"timeout": "60"})
    return url.render_as_string(hide_password=False)


def masked(url: str) -> str:
    """The URL as it may be printed: its password replaced by ***."""
    return make_url(url).render_as_string(hide_password=True)


def place(url: str | URL) -> str:
    """Where the gradebook is, for messages: `database D on host H port P as user U` (the
    host may be a Unix socket's folder), or the SQLite file."""
    url = make_url(url) if isinstance(url, str) else url
    if url.get_backend_name() == "sqlite":
        return f"SQLite gradebook {url.database or ':memory:'}"
    host = url.host or url.query.get("host") or "the default socket"
    port = url.port or url.query.get("port") or "default port"
    user = f" as user {url.username}" if url.username else ""
    return f"database {url.database} on host {host} port {port}{user}"


def reason(error: Exception, url: str | URL) -> str:
    """The first line of a database error, without the URL's password."""
    url = make_url(url) if isinstance(url, str) else url
    cause = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    message = lines[0] if lines else type(cause).__name__
    if url.password:
        message = message.replace(str(url.password), "***")
    return message[:300]


def unreachable_gradebook(result: Graded) -> str | None:
    """The note of a worker's result if its grading failed because nbgrader could not reach the
    gradebook (then it says nothing of the submission), else None."""
    rows = result.exercises
    if rows and rows[0].status in (GRADER_ERROR, NOT_A_NOTEBOOK) and any(
            marker in rows[0].note for marker in UNREACHABLE):
        return rows[0].note
    return None


class RecordStore:
    """The records of one gradebook (see the module's docstring), written by every shard."""

    def __init__(self, url: str):
        self.url = make_url(url)
        self.engine = create_engine(url, pool_pre_ping=True)

    def check(self) -> None:
        """Connect once: GradeError naming the host and database (never the password) if that
        fails (a wrong host, database, user or password), so that a shard fails at once."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except DBAPIError as error:
            raise GradeError(f"cannot connect to the gradebook, {place(self.url)}: "
                             f"{reason(error, self.url)}") from None

    @contextmanager
    def setting_up(self):
        """Held while a shard generates the chapter into the gradebook (nbgrader's
        generate_assignment): on PostgreSQL, an advisory lock, so that shards starting together
        set up one after the other (run at once, they race on nbgrader's unique constraints,
        nbgrader #1161). The record tables are created under it."""
        with self.engine.connect() as connection:
            postgres = self.url.get_backend_name() == "postgresql"
            if postgres:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SETUP_LOCK})
                connection.commit()
            try:
                metadata.create_all(connection)
                connection.commit()
                yield
            finally:
                if postgres and not connection.closed:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SETUP_LOCK})
                    connection.commit()

    def put_exercises(self, chapter: str, exercises) -> None:
        """Record the chapter's exercises (grade id, points) in notebook order."""
        value = json.dumps([[grade_id, points] for grade_id, points in exercises])
        self._retry(f"the exercises of {chapter}", lambda connection: (
            connection.execute(delete(assignments).where(assignments.c.assignment == chapter)),
            connection.execute(insert(assignments).values(assignment=chapter, exercises=value))))

    def exercises(self, chapter: str) -> list[tuple[str, float]]:
        """The chapter's exercises, as the first shard to set it up recorded them."""
        with self.engine.connect() as connection:
            value = connection.execute(select(assignments.c.exercises).where(
                assignments.c.assignment == chapter)).scalar()
        if value is None:
            raise GradeError(f"no grading of {chapter} is recorded in the gradebook, {place(self.url)}")
        return [(grade_id, float(points)) for grade_id, points in json.loads(value)]

    def put(self, chapter: str, result: SubmissionResult, feedback: str) -> None:
        """Replace the record of `result`'s student with `result` (as results/STUDENT.json holds
        it) and its feedback page, in one transaction; retried while the database is unreachable."""
        student = result.student
        row = {"assignment": chapter, "student": student, "name": result.name,
               "status": result.status, "submitted": result.timestamp,
               "graded": datetime.now(timezone.utc).replace(tzinfo=None),
               "seconds": float(result.seconds or 0), "result": json.dumps(result.as_json()),
               "feedback": feedback}
        key = (records.c.assignment == chapter) & (records.c.student == student)
        self._retry(f"the result of {student}", lambda connection: (
            connection.execute(delete(records).where(key)), connection.execute(insert(records).values(row))))

    def results(self, chapter: str) -> dict[str, SubmissionResult]:
        """{student: result} of every submission of the chapter recorded whole."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(records.c.student, records.c.result).where(
                records.c.assignment == chapter))
            return {student: SubmissionResult.from_json(json.loads(result)) for student, result in rows}

    def feedback_pages(self, chapter: str) -> dict[str, str]:
        """{student: feedback HTML} of every recorded submission of the chapter."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(records.c.student, records.c.feedback).where(
                records.c.assignment == chapter))
            return dict(rows.all())

    def kept_times(self, chapter: str) -> dict[str, datetime]:
        """{student: when the recorded submission was made}, no later than when it was graded
        (a date from the future cannot lock in a grade)."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(records.c.student, records.c.submitted, records.c.graded)
                                      .where(records.c.assignment == chapter))
            return {student: min(datetime.fromisoformat(submitted), graded)
                    for student, submitted, graded in rows}

    def _retry(self, what: str, write) -> None:
        """Run `write(connection)` in one transaction; while the database is unreachable (it
        restarts, the network drops), wait and run it again, RETRY_SECONDS apart; then
        GradeError: nothing of it was written."""
        for wait in (*RETRY_SECONDS, None):
            try:
                with self.engine.begin() as connection:
                    write(connection)
                return
            except OperationalError as error:
                if wait is None:
                    raise GradeError(f"lost the gradebook, {place(self.url)}, writing {what}: "
                                     f"{reason(error, self.url)}; nothing of it was written: "
                                     "grade again (re-run the shard)") from None
                time.sleep(wait)

    def close(self) -> None:
        self.engine.dispose()
