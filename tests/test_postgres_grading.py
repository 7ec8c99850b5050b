"""Grading at scale against a real PostgreSQL server (README: At scale): a class of 30 generated
submissions of chapter 1 graded as 3 shards in 3 concurrent `course.py grade` processes (over
TCP and over the Unix socket) into one gradebook, next to one unsharded SQLite run of the same
class; then a shard killed mid-run and run again, the database stopped during a shard, a wrong
password. Skips, with the reason, where PostgreSQL is not installed (`course.py test` installs
Debian's `postgresql` as root) or cannot start."""
from __future__ import annotations

import csv
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.grading.shards import shard_of
from autograder.layout import HERE
from class_of_chapter1 import CHAPTER, write_class
from postgres_server import PASSWORD, PostgresServer

pytest.importorskip("psycopg", reason="the psycopg driver is not installed (course extras)")
from sqlalchemy import create_engine, text  # noqa: E402

ROOT = HERE.root

SHARDS = 3
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
SCORES = """SELECT sa.student_id, bc.name, g.auto_score FROM grade g
            JOIN submitted_notebook sn ON g.notebook_id = sn.id
            JOIN submitted_assignment sa ON sn.assignment_id = sa.id
            JOIN base_cell bc ON g.cell_id = bc.id ORDER BY 1, 2"""
REPORTS = ("grades.csv", "totals.csv", "summary.csv")


def course(*args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    """`python course.py ARGS` in its own process group, its output captured."""
    return subprocess.Popen([sys.executable, str(ROOT / "course.py"), *args], cwd=ROOT, env=env or ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, **kwargs)


def finish(process: subprocess.Popen, timeout: float = 600) -> tuple[int, str]:
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output


def shard_command(subs: Path, out: Path, index: int, url: str) -> list[str]:
    return ["grade", "1", str(subs), "--out", str(out), "--db-url", url, "--shard", f"{index}/{SHARDS}",
            "--workers", "2"]


@pytest.fixture(scope="module")
def server():
    try:
        server = PostgresServer()
    except FileNotFoundError as error:
        pytest.skip(str(error))
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        server.stop()
        pytest.skip(f"PostgreSQL cannot be started here: {error}")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def graded(server, tmp_path_factory):
    """The class graded twice at once: unsharded into SQLite, and as 3 concurrent shards into
    PostgreSQL (shard 1 over TCP with the password in the URL, shard 2 over the Unix socket with
    the URL in a file, shard 3 over TCP with the password from NNFS_DB_PASSWORD)."""
    root = tmp_path_factory.mktemp("scale")
    sockets = [str(server.socket_path()), f"/var/run/postgresql/.s.PGSQL.{server.port}",
               "/run/postgresql/.s.PGSQL.5432"]
    kinds = write_class(root / "subs", server.port, sockets)
    (root / "url").write_text(server.socket_url() + "\n")
    started = time.monotonic()
    reference = course("grade", "1", str(root / "subs"), "--out", str(root / "sqlite"), "--workers", "2")
    shards = [course(*shard_command(root / "subs", root / "shard1", 1, server.tcp_url())),
              course("grade", "1", str(root / "subs"), "--out", str(root / "shard2"), "--db-url-file",
                     str(root / "url"), "--shard", f"2/{SHARDS}", "--workers", "2"),
              course(*shard_command(root / "subs", root / "shard3", 3, server.tcp_url(password=None)),
                     env={**ENV, "NNFS_DB_PASSWORD": PASSWORD})]
    outputs = [finish(process) for process in [reference, *shards]]
    for code, output in outputs:
        assert code == 0, output[-3000:]
    seconds = time.monotonic() - started
    print(f"graded {len(kinds)} submissions unsharded and as {SHARDS} shards at once in {seconds:.0f} s")
    yield {"root": root, "kinds": kinds, "outputs": [output for _, output in outputs], "server": server}


def scores_of(url: str) -> list[tuple]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(SCORES))]
    finally:
        engine.dispose()


def records_of(server: PostgresServer) -> list[tuple]:
    """(student, status, result) of every record of the chapter."""
    engine = create_engine(server.tcp_url().replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(
                "SELECT student, status, result FROM nnfs_record WHERE assignment = :chapter ORDER BY student"),
                {"chapter": CHAPTER})]
    finally:
        engine.dispose()


def reference_scores(root: Path) -> list[tuple]:
    with sqlite3.connect(root / "sqlite" / "gradebook.db") as connection:
        return [tuple(row) for row in connection.execute(SCORES)]


def class_reports(root: Path, server: PostgresServer, out: Path) -> None:
    code, output = finish(course("grades", "1", "--out", str(out), env={**ENV, "NNFS_DB_URL": server.tcp_url()}))
    assert code == 0, output


def assert_same_reports(expected: Path, actual: Path) -> None:
    """The reports are the same; the feedback pages too, but for how the kernel's output
    streams were split into chunks (markup and white space)."""
    for name in REPORTS:
        assert (actual / name).read_text() == (expected / name).read_text(), name
    pages = sorted(path.name for path in (expected / "feedback").glob("*.html"))
    assert sorted(path.name for path in (actual / "feedback").glob("*.html")) == pages

    def words(path: Path) -> str:
        return re.sub(r"<[^>]+>|\s+", "", path.read_text())

    for page in pages:
        assert words(actual / "feedback" / page) == words(expected / "feedback" / page), page


def assert_consistent(graded: dict) -> None:
    """Every student recorded exactly once, whole; nbgrader's scores those of the SQLite run."""
    root, server = graded["root"], graded["server"]
    students = sorted(json.loads(path.read_text())["student"] for path in (root / "sqlite" / "results").glob("*.json"))
    records = records_of(server)
    assert [student for student, _, _ in records] == students
    for student, status, result in records:
        assert json.loads(result)["status"] == status and json.loads(result)["student"] == student
    assert scores_of(server.tcp_url()) == reference_scores(root)


def test_each_student_is_graded_by_exactly_one_shard(graded):
    root, kinds = graded["root"], graded["kinds"]
    assert len(kinds) >= 30 and set(kinds.values()) == {"correct", "wrong", "blank", "broken", "hostile"}
    graded_by = {}
    for index in range(1, SHARDS + 1):
        for path in (root / f"shard{index}" / "results").glob("*.json"):
            name = json.loads(path.read_text())["name"]
            assert name not in graded_by, f"{name} graded by shards {graded_by[name]} and {index}"
            graded_by[name] = index
    assert graded_by == {name: shard_of(name, SHARDS) for name in kinds}


def test_the_gradebook_holds_every_student_once_with_the_scores_of_one_sqlite_run(graded):
    assert_consistent(graded)
    scores = scores_of(graded["server"].tcp_url())
    assert len(scores) == len(set((student, cell) for student, cell, _ in scores)), "duplicated rows"
    assert len({student for student, _, _ in scores}) == sum(kind != "broken" for kind in graded["kinds"].values())


def test_the_class_reports_equal_one_unsharded_sqlite_run(graded):
    root = graded["root"]
    class_reports(root, graded["server"], root / "class")
    assert_same_reports(root / "sqlite", root / "class")
    totals = {row["student"]: row["points"] for row in csv.DictReader((root / "class" / "totals.csv").open())}
    for name, kind in graded["kinds"].items():
        expected = {"correct": "10", "hostile": "10", "blank": "0", "broken": "0"}.get(kind)
        assert expected is None or totals[name] == expected, (name, kind, totals[name])
        assert kind != "wrong" or totals[name] in ("7", "8"), (name, totals[name])


def test_graded_code_cannot_reach_the_database(graded):
    root, server = graded["root"], graded["server"]
    hostile = [name for name, kind in graded["kinds"].items() if kind == "hostile"]
    seen = 0
    for path in root.glob(f"shard*/nbgrader/autograded/*/{CHAPTER}/*.ipynb"):
        notebook = json.loads(path.read_text())
        outputs = "".join(output.get("text", "") if isinstance(output.get("text", ""), str) else "".join(output["text"])
                          for cell in notebook["cells"] if cell.get("id") == "probe-db"
                          for output in cell.get("outputs", []))
        if outputs:
            seen += 1
            assert "REACHED[]" in outputs, outputs
            assert f"{server.socket_path()} " in outputs  # its error is named
    assert seen == len(hostile)
    totals = {row["student"]: row for row in csv.DictReader((root / "shard1" / "totals.csv").open())}
    for index in (2, 3):
        totals.update({row["student"]: row for row in csv.DictReader((root / f"shard{index}" / "totals.csv").open())})
    assert all(totals[name]["points"] == "10" for name in hostile)


def test_the_password_is_never_printed(graded):
    for output in graded["outputs"]:
        assert PASSWORD not in output
    for log in graded["root"].glob("shard*/grading.log"):
        assert PASSWORD not in log.read_text()
    assert "grader:***@127.0.0.1" in graded["outputs"][1]


def wait_for_a_record(server: PostgresServer, since: float, timeout: float = 240) -> None:
    """Return once a record was written after `since` (time.time()) by a running shard."""
    engine = create_engine(server.tcp_url().replace("postgresql://", "postgresql+psycopg://"))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                latest = connection.execute(text("SELECT max(graded) FROM nnfs_record")).scalar()
            if latest is not None and latest.timestamp() > since:
                return
            time.sleep(0.3)
    finally:
        engine.dispose()
    raise AssertionError("no record was written")


def smallest_shard(graded: dict) -> int:
    """The shard of fewest students (with some): the cheapest to run again."""
    counts = [sum(shard_of(name, SHARDS) == index for name in graded["kinds"]) or len(graded["kinds"])
              for index in range(1, SHARDS + 1)]
    return counts.index(min(counts)) + 1


def utc_now() -> float:
    """Now, as the naive UTC times of the records read back by datetime.timestamp()."""
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).replace(tzinfo=None).timestamp()


def test_a_shard_killed_mid_run_and_run_again_leaves_the_gradebook_consistent(graded):
    root, server = graded["root"], graded["server"]
    index = smallest_shard(graded)
    since = utc_now()
    process = course(*shard_command(root / "subs", root / f"shard{index}", index, server.tcp_url()))
    try:
        wait_for_a_record(server, since)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        finish(process)
    assert_consistent(graded)  # the records are the previous run's or this one's, each whole
    code, output = finish(course(*shard_command(root / "subs", root / f"shard{index}", index, server.tcp_url())))
    assert code == 0, output[-3000:]
    assert_consistent(graded)
    class_reports(root, server, root / "after_kill")
    assert_same_reports(root / "sqlite", root / "after_kill")


def test_the_database_stopping_during_a_shard_is_retried_or_fails_clearly(graded):
    root, server = graded["root"], graded["server"]
    index = smallest_shard(graded)
    since = utc_now()
    process = course(*shard_command(root / "subs", root / f"shard{index}", index, server.socket_url()))
    try:
        wait_for_a_record(server, since)
        server.stop_for(4.0)
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    code, output = finish(process)
    assert PASSWORD not in output
    if code != 0:  # a clean failure: it says what happened and where; then the shard is run again
        assert code == 1 and "gradebook" in output.splitlines()[-1], output[-3000:]
        print("the shard failed cleanly:", output.splitlines()[-1])
        code, output = finish(course(*shard_command(root / "subs", root / f"shard{index}", index,
                                                    server.socket_url())))
        assert code == 0, output[-3000:]
    assert_consistent(graded)
    class_reports(root, server, root / "after_outage")
    assert_same_reports(root / "sqlite", root / "after_outage")


@pytest.mark.parametrize("wrong", ["password", "database", "port"])
def test_a_wrong_url_fails_at_once_naming_host_and_database(graded, wrong, tmp_path):
    server = graded["server"]
    url = server.tcp_url()
    if wrong == "password":
        url = server.tcp_url(password="not-" + PASSWORD)
    elif wrong == "database":
        url = url.replace("/nnfs", "/no_such_db")
    else:
        url = url.replace(f":{server.port}/", f":{server.port + 1 if server.port < 65535 else 1}/")
    started = time.monotonic()
    code, output = finish(course(*shard_command(graded["root"] / "subs", tmp_path / "out", 1, url)), timeout=120)
    assert code == 1 and time.monotonic() - started < 60, output
    database = "no_such_db" if wrong == "database" else "nnfs"
    assert f"cannot connect to the gradebook, database {database} on host 127.0.0.1" in output
    assert PASSWORD not in output
    assert "ran the reference" not in output  # it failed before grading anything


def test_the_password_may_come_from_libpq_s_password_file(server, tmp_path, monkeypatch):
    from autograder.grading.gradebook_store import RecordStore, resolve_url

    url = resolve_url(server.tcp_url(password=None), environ={})
    assert PASSWORD not in url
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{server.port}:*:grader:{PASSWORD}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    store = RecordStore(url)
    try:
        store.check()
    finally:
        store.close()
