"""Benchmark: grading one class as 1, 2 and 3 concurrent shards into a PostgreSQL gradebook,
against one unsharded run into SQLite; and the gradebook's own cost per submission.

Starts a throwaway PostgreSQL server (tests/postgres_server.py: Debian's binaries, a temporary
data directory, run as `nobody` when run as root), writes a generated class of chapter 1
(tests/class_of_chapter1.py: correct, partly wrong, blank, broken and hostile submissions) and
grades it with `course.py grade`:

- unsharded, into SQLite (the default);
- as M = 1, 2 and 3 shards run at the same time (`--shard K/M`, all over TCP), each M into a
  fresh database, each shard with `--workers` workers;

and prints submissions per second (the class over the wall time of the slowest shard, set-up
and reference run of each process included). Shards that share one machine share its cores:
the point is correctness and overhead, not speed-up. Then, in this process, the database work
the grader does per submission (nbgrader's gradebook opened, the submission's grades found and
written, committed; its record written, gradebook_store.py), repeated, for SQLite and for
PostgreSQL over TCP and over the Unix socket. The machine may be shared: the load average is
printed with the figures.

    python bench/shards.py [--students 30] [--workers 2] [--repeat 200]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from class_of_chapter1 import CHAPTER, write_class  # noqa: E402
from postgres_server import DATABASE, PostgresServer  # noqa: E402

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def run_shards(subs: Path, out: Path, count: int, url: str | None, workers: int) -> float:
    """Seconds for `count` concurrent shards (or one unsharded run if url is None)."""
    started = time.monotonic()
    processes = []
    for index in range(1, count + 1):
        args = ["grade", "1", str(subs), "--out", str(out / f"{count}-{index}"), "--workers", str(workers)]
        if url:
            args += ["--db-url", url, "--shard", f"{index}/{count}"]
        processes.append(subprocess.Popen([sys.executable, str(ROOT / "course.py"), *args], cwd=ROOT,
                                          env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                          text=True))
    for process in processes:
        _, error = process.communicate()
        if process.returncode:
            raise SystemExit(f"a grading process failed:\n{error[-2000:]}")
    return time.monotonic() - started


def database_cost(url: str, repeat: int) -> float:
    """Milliseconds per submission of the grader's own database work, on a graded gradebook."""
    from nbgrader.api import Gradebook

    from autograder.grading.gradebook_store import RecordStore
    from autograder.results import SubmissionResult

    with Gradebook(url) as gradebook:
        student = gradebook.find_assignment(CHAPTER).submissions[0].student.id
        notebook_name = gradebook.find_assignment(CHAPTER).notebooks[0].name
    store = RecordStore(url)
    result = SubmissionResult(student, student, "2026-01-01T00:00:00", "", "graded", "", [], 1.0, True)
    started = time.perf_counter()
    for _ in range(repeat):
        with Gradebook(url) as gradebook:
            found = gradebook.find_submission_notebook(notebook_name, CHAPTER, student)
            for grade in found.grades:
                grade.auto_score = grade.auto_score
            gradebook.db.commit()
        store.put(CHAPTER, result, "<p>feedback</p>" * 2000)
    store.close()
    return 1000 * (time.perf_counter() - started) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2, help="workers of each grading process")
    parser.add_argument("--repeat", type=int, default=200, help="database cycles timed")
    args = parser.parse_args()
    server = PostgresServer()
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-shards-") as scratch:
            scratch = Path(scratch)
            write_class(scratch / "subs", server.port, [str(server.socket_path())], args.students)
            load = os.getloadavg()[0]
            seconds = run_shards(scratch / "subs", scratch / "sqlite", 1, None, args.workers)
            print(f"unsharded, SQLite:       {args.students / seconds:.2f} submissions/s ({seconds:.0f} s)")
            for count in (1, 2, 3):
                server.psql(f"DROP DATABASE IF EXISTS {DATABASE}", database="postgres")
                server.psql(f"CREATE DATABASE {DATABASE}", database="postgres")
                seconds = run_shards(scratch / "subs", scratch / "pg", count, server.tcp_url(), args.workers)
                print(f"{count} shard(s), PostgreSQL: {args.students / seconds:.2f} submissions/s "
                      f"({seconds:.0f} s, {args.workers} workers each)")
            print(f"load average at the start: {load:.1f}, at the end: {os.getloadavg()[0]:.1f} "
                  f"({os.cpu_count()} cores)")
            sqlite = f"sqlite:///{scratch / 'sqlite' / '1-1' / 'gradebook.db'}"
            for name, url in [("SQLite", sqlite), ("PostgreSQL, TCP", server.tcp_url()),
                              ("PostgreSQL, Unix socket", server.socket_url())]:
                url = url.replace("postgresql://", "postgresql+psycopg://")
                print(f"database work per submission, {name}: {database_cost(url, args.repeat):.1f} ms")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
