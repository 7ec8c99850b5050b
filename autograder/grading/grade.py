"""Grade every submission of a chapter: `python3 course.py grade CHAPTER SUBMISSIONS [options]`.

    python3 course.py grade 2 submissions/        (or: submissions.zip)
        --out DIR       where everything goes (default: grading/NN_name)
        --db-url URL    the gradebook, any SQLAlchemy URL (default: SQLite, DIR/gradebook.db);
                        or --db-url-file FILE, or NNFS_DB_URL (gradebook_store.py)
        --shard K/M     grade only the K-th of M slices of the students (shards.py)
        --workers N     submissions graded at once (default: two per core)
        --timeout S     seconds one cell may run (default 30)
        --memory MB     memory of one submission's kernel (default 2048)
        --wall S        seconds one whole submission may run (default 300)

SUBMISSIONS holds one folder per student, <student>/<notebook>.ipynb (plus, optionally,
nbgrader's timestamp.txt), or is a zip of such folders. Every folder is graded (intake.py), one
whose name is no usable id (`John Smith`, `josé`) under an id made from it; only __MACOSX, .git
and .ipynb_checkpoints are skipped. Each notebook is rebuilt on the release before anything runs
(the course's grading metadata; test cells put back; what follows the last test dropped: it
never runs; other cells marked for grading ignored, and noted). First the course's solution
runs once through the grading path (the reference outcomes). Then each submission is
autograded by nbgrader in a jailed kernel with resource limits (sandbox.py) that can import only
the nnlib of earlier chapters (library.py); its tests' probes run there, and the judge compares
their results with the expectations here, outside the kernel (guarded_execute.py, judge.py).
Written to DIR:

    grades.csv         one row per student (the folder's name) and exercise: points, max_points,
                       status, note, student_id (the id it was graded under)
    totals.csv         one row per student
    feedback/STUDENT_ID.html   nbgrader's feedback, without the hidden tests (see feedback.py)
    summary.csv, summary.png   per-exercise pass rates, and the histogram of the scores
    grading.log        every submission's outcome, run after run
    gradebook.db       nbgrader's gradebook (unless --db-url); nbgrader/: its course directory
    results/STUDENT_ID.json    what the reports are made from

Statuses (results.py): "graded"; "test cell restored" (the learner edited or deleted a test cell,
which plays no part: the course's test is judged); "timed out" and "crashed" (the exercises from
that point on were not judged: 0 points); "probe channel tampered" (0 for that exercise); "not a
notebook" and "notebook missing" (0 points); "too large to grade" (the grader's own work on it
went over a worker's memory bound: 0 points); "grader error" (the grader failed: no score, grade
again). Whatever goes wrong with one submission is its status and note; the run goes on: a
worker killed for a bound (pool.py) or dead is replaced.

Re-running is safe: every submission found is graded again and logged, nothing is skipped;
students graded before who are not in SUBMISSIONS keep their results. A submission replaces
the graded one unless it is older (timestamp.txt, else the notebook's modification time; never
later than the grading time), in which case the log says that the newer one was kept.
"""
from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import shutil
import sys
import time
from concurrent.futures import as_completed
from dataclasses import replace
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from autograder import layout
from autograder.layout import HERE, Course
from autograder.cells import is_graded, nbgrader_of
from autograder.authoring.build import IGNORED
from autograder.execution.intake import (GradeError, Submission, find_submissions, kept_timestamp, stage,
                                         unpack)
from autograder.execution.library import write_library
from autograder.execution.probes import TestCellError, read_tests
from autograder.execution.sandbox import NO_ISOLATION_WARNING, KernelLauncher, Limits
from autograder.grading.gradebook_store import (RecordStore, masked, place, reason, resolve_url, sqlite_url,
                                                unreachable_gradebook)
from autograder.grading.pool import WorkerLost, WorkerPool
from autograder.grading.shards import Shard
from autograder.results import (GRADER_ERROR, RESTORED, RESTORED_NOTE, STOPPED, Graded, Settings,
                                SubmissionResult, ungraded)

# The resident memory a grading worker may hold (nbgrader, the notebook being graded, its
# feedback): at most 140 MB for the submissions of chapters 2 and 5; past it, the worker is
# killed (pool.py) and the submission is "too large to grade".
GRADER_MEMORY_MB = 1024


class Log:
    """Prints each line and appends it, time-stamped, to DIR/grading.log."""

    def __init__(self, path: Path):
        self.path = path

    def __call__(self, message: str, error: bool = False) -> None:
        print(f"[grade] {message}", file=sys.stderr if error else sys.stdout, flush=True)
        with self.path.open("a") as log:
            log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")


# Running the workers ---------------------------------------------------------------------------

def run_in_worker(task: tuple):
    """Run worker.NAME(*ARGS) for task (NAME, *ARGS): the only function sent to workers,
    so that this process never imports nbgrader (the workers' fork server does, once)."""
    from autograder.grading import worker

    name, *args = task
    return getattr(worker, name)(*args)


def default_workers() -> int:
    """Two workers per core: a worker waits while its kernel runs, and its kernel waits while
    it reads and records the results, so one per core leaves the cores partly idle
    (on 2 cores, 100 submissions of chapter 2 took 170 s with 2 workers, 115-154 s with 3 and
    112-129 s with 4). Each worker and its kernel need about 350 MB."""
    return 2 * (os.cpu_count() or 1)


def grader_seconds(limits: Limits) -> int:
    """How long a worker may spend on one submission in all: `--wall` for its kernel (start
    included), plus a fifth of that, at least 10 s, for the grader's own work before and after
    the kernel runs (nbgrader's sanitising and saving, the judging, the feedback: 1-3 s for a
    submission of chapter 2). Past it, the worker is killed and the submission has timed out."""
    return limits.wall + max(10, limits.wall // 5)


def worker_pool(workers: int, seconds: float, log: Log, launcher: KernelLauncher) -> WorkerPool:
    """`workers` processes forked from a server that imported nbgrader once, each task bounded to
    `seconds` and GRADER_MEMORY_MB (pool.py: a worker past a bound, or dead, is replaced; the
    cgroups of its kernels are removed with it)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["autograder.grading.worker"])
    else:
        context = multiprocessing.get_context("spawn")
    ended = launcher.cgroups.remove_groups_of if launcher.cgroups else (lambda pid: None)
    return WorkerPool(workers, context, seconds, GRADER_MEMORY_MB, log, ended)


# Grading -------------------------------------------------------------------------------------------

def grade(name: str, submissions: Path, out: Path | None = None, db_url: str | None = None,
          workers: int | None = None, limits: Limits = Limits(), shard: Shard | None = None,
          course: Course = HERE, pages: bool = True) -> None:
    """Grade every submission of chapter `name` of `course` in `submissions` (a folder or a zip)
    into `out`, or those of `shard` only; each is recorded whole in the gradebook
    (gradebook_store.py). Without `pages`, each feedback page is the plain one of a submission
    nbgrader could not render (a sixth of a worker's time is nbgrader's page)."""
    try:
        chapter = layout.find_chapter(name, course.solutions)
    except LookupError as error:
        raise GradeError(str(error)) from None
    source = course.solutions / chapter
    notebook = min(source.glob("*.ipynb")).stem
    out = Path(out or course.root / "grading" / chapter).resolve()
    submissions = Path(submissions).resolve()
    if not submissions.exists():
        raise GradeError(f"{submissions} does not exist")
    launcher = KernelLauncher.detect(limits)
    exposed = [path for path in launcher.read_only if out == Path(path) or Path(path) in out.parents]
    if exposed:
        raise GradeError(f"--out {out} is inside {exposed[0]}, which submitted code can read: "
                         "choose another directory")
    out.mkdir(parents=True, exist_ok=True)
    log = Log(out / "grading.log")
    if not launcher.isolated:
        log(NO_ISOLATION_WARNING.format(reason=launcher.reason), error=True)
    log(f"grading {chapter} from {submissions} into {out}")
    log(launcher.describe(), error=launcher.cgroups is None)  # (its warning goes to stderr too)
    nbgrader_course = out / "nbgrader"
    shutil.rmtree(nbgrader_course / "source" / chapter, ignore_errors=True)
    shutil.copytree(source, nbgrader_course / "source" / chapter, ignore=IGNORED)
    try:
        tests = read_tests(json.loads((source / f"{notebook}.ipynb").read_text()))
    except TestCellError as error:
        raise GradeError(f"the course's tests of {chapter} cannot be read: {error}") from None
    launcher = replace(launcher, nnlib=str(write_library(nbgrader_course / "library", chapter,
                                                         course=course)))
    db_url = sqlite_url(db_url or f"sqlite:///{out / 'gradebook.db'}")
    store = RecordStore(db_url)
    store.check()
    log(f"gradebook: {masked(db_url)}" + (f"; shard {shard} of the students" if shard else ""))
    settings = Settings(chapter, notebook, nbgrader_course, db_url, launcher, out / "feedback", tests=tests,
                        pages=pages)
    (out / "results").mkdir(exist_ok=True)
    results = {path.stem: SubmissionResult.from_json(json.loads(path.read_text()))
               for path in (out / "results").glob("*.json")}

    def record(submission: Submission, graded: Graded) -> SubmissionResult:
        result = save(out, settings, submission, graded, log)
        page = settings.feedback / f"{submission.student}.html"
        store.put(chapter, result, page.read_text() if page.exists() else "")
        return result

    started = time.monotonic()
    with worker_pool(max(1, workers or default_workers()), grader_seconds(limits), log,
                     launcher) as pool:
        try:
            try:
                with store.setting_up():
                    pool.submit(run_in_worker, ("set_up", settings), label="setting up").result()
                reference = pool.submit(run_in_worker, ("reference_outcomes", settings),
                                        label="the reference solution").result()
            except RuntimeError as error:
                raise GradeError(str(error)) from None
            log(f"ran the reference solution's {sum(map(len, reference.values()))} test cases")
            release = json.loads((nbgrader_course / "release" / chapter / f"{notebook}.ipynb")
                                 .read_text())
            graded = [nbgrader_of(cell) for cell in release["cells"] if is_graded(cell)]
            settings = replace(settings, reference=reference, exercises=tuple(
                (meta["grade_id"], float(meta["points"])) for meta in graded))
            store.put_exercises(chapter, settings.exercises)
            folder, skipped = unpack(submissions, out)
            incoming, ignored = find_submissions(folder, notebook, release, out / "intake",
                                                 select=shard.holds if shard else None)
            for message in skipped + ignored:
                log(message)
            kept_times = {student: kept_timestamp(result.timestamp, out / "results" / f"{student}.json")
                          for student, result in results.items()}
            kept_times.update(store.kept_times(chapter))  # (graded on any machine)
            tasks, forgotten, unreached = {}, [], []
            for submission in incoming:
                kept = kept_times.get(submission.student)
                if kept and submission.timestamp < kept:
                    log(f"{submission.student}: kept the graded submission of {kept.isoformat(sep=' ')} UTC; "
                        f"this one is older ({submission.timestamp.isoformat(sep=' ')} UTC)")
                elif submission.status or not stage(submission, settings):
                    # ungradable (or unstaged): this replaces what was graded before, if anything
                    task = ("forget", settings, submission.student)
                    forgotten.append(pool.submit(run_in_worker, task, label=submission.student))
                    results[submission.student] = record(submission, ungraded(
                        settings.exercises, submission.status, submission.note))
                else:
                    task = ("grade_task", settings, submission.student, submission.restored)
                    tasks[pool.submit(run_in_worker, task, label=submission.student)] = submission
            for future in as_completed(tasks):
                submission = tasks[future]
                try:
                    result = future.result()
                except WorkerLost as lost:  # its worker was killed or died: nbgrader's partial record goes
                    result = ungraded(settings.exercises, lost.status, lost.note)
                    forgotten.append(pool.submit(run_in_worker, ("forget", settings, submission.student),
                                                 label=submission.student))
                failure = unreachable_gradebook(result)
                if failure:  # nbgrader lost the gradebook: no verdict on the submission itself
                    result = ungraded(settings.exercises, GRADER_ERROR, f"the gradebook was unreachable: {failure}")
                    unreached.append(submission.student)
                results[submission.student] = record(submission, result)
            for future in forgotten:
                try:
                    future.result()
                except WorkerLost as lost:  # its gradebook record stays: the results are right
                    log(f"could not remove a stale gradebook record ({lost.note}); the reports "
                        "are made from results/, which is up to date", error=True)
                except DBAPIError as error:  # (the same; nbgrader's rows are fixed by grading again)
                    log(f"could not remove a stale gradebook record: {reason(error, db_url)}", error=True)
                    unreached.append("a stale record")
        except WorkerLost as lost:  # in setting up or the reference run
            raise GradeError(f"a grading worker was lost: {lost.note}; grade again") from None
        except DBAPIError as error:  # in setting up, or reading the records
            raise GradeError(f"lost the gradebook, {place(db_url)}: {reason(error, db_url)}; nothing "
                             "half written: grade again") from None
    log(f"graded {len(tasks)} submission(s) in {time.monotonic() - started:.1f} s")
    write_reports(out, chapter, settings.exercises, results)
    log(f"wrote {out / 'grades.csv'}, totals.csv, summary.csv, summary.png and feedback/")
    store.close()
    if unreached:
        raise GradeError(f"the gradebook, {place(db_url)}, was unreachable while grading {len(unreached)} "
                         f"submission(s) ({', '.join(unreached[:5])}{', ...' if len(unreached) > 5 else ''}): "
                         "recorded as grader errors, nothing half written; grade again")


def save(out: Path, settings: Settings, submission: Submission, graded: Graded,
         log: Log) -> SubmissionResult:
    """Complete a worker's result with the submission's details; write, log and return it."""
    rows = graded.exercises
    result = SubmissionResult(submission.student, submission.name, submission.timestamp.isoformat(),
                              str(submission.notebook or ""), graded.status,
                              "; ".join(dict.fromkeys(filter(None, [submission.note, graded.note]))),
                              rows, graded.seconds, graded.feedback)
    (out / "results" / f"{submission.student}.json").write_text(json.dumps(result.as_json(), indent=1))
    if not graded.feedback:
        write_plain_feedback(settings.feedback / f"{submission.student}.html", settings.chapter, result)
    done = [row for row in rows if row.points is not None]
    points = f"{sum(r.points for r in done):g}/{sum(r.max_points for r in done):g} points"
    if result.status in STOPPED:
        log(f"{submission.student}: {result.status}: {result.note}; {points}")
    else:
        restored = [row.exercise for row in rows if row.status == RESTORED]
        notes = [result.note, f"test cells put back: {', '.join(restored)}" if restored else ""]
        notes += [part for row in rows for part in row.note.split("; ")
                  if not part.endswith(RESTORED_NOTE)]
        extra = "; ".join(dict.fromkeys(filter(None, notes)))
        log(f"{submission.student}: {points} ({result.status}{'; ' + extra if extra else ''}) "
            f"[{graded.seconds} s]")
    return result


def write_plain_feedback(path: Path, chapter: str, result: SubmissionResult) -> None:
    """A short page where nbgrader made none (the submission could not be graded, or the run
    went without nbgrader's pages)."""
    from html import escape

    rows = "".join(f"<tr><td>{escape(row.exercise)}</td><td>{number(row.points)}</td>"
                   f"<td>{number(row.max_points)}</td><td>{escape(row.status)}</td></tr>"
                   for row in result.exercises)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(chapter)}"
                    f"</title></head><body><h1>{escape(chapter)}: {escape(result.student)}</h1>"
                    f"<p><b>{escape(result.status)}</b>: {escape(result.note)}</p><table>"
                    f"<tr><th>exercise</th><th>points</th><th>of</th><th>status</th></tr>{rows}"
                    "</table></body></html>\n")


# Reports -------------------------------------------------------------------------------------------

def number(value) -> str:
    return "" if value is None else f"{value:g}"


def write_reports(out: Path, chapter: str, exercises, results: dict[str, SubmissionResult]) -> None:
    """grades.csv, totals.csv, summary.csv and summary.png from every student's result."""
    students = [results[student] for student in sorted(results)]
    with (out / "grades.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["student", "exercise", "points", "max_points", "status", "note", "student_id"])
        for result in students:
            for row in result.exercises:
                writer.writerow([result.name, row.exercise, number(row.points), number(row.max_points),
                                 row.status, row.note, result.student])
    maximum = sum(points for _, points in exercises)
    totals = {}
    with (out / "totals.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["student", "points", "max_points", "status", "exercises_graded", "note",
                         "student_id"])
        for result in students:
            done = [row for row in result.exercises if row.points is not None]
            total = result.points
            if total is not None:
                totals[result.student] = total
            writer.writerow([result.name, number(total), number(maximum), result.status,
                             f"{len(done)}/{len(result.exercises)}", result.note, result.student])
    rates = []
    with (out / "summary.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["exercise", "max_points", "graded", "passed", "pass_rate"])
        for grade_id, points in exercises:
            rows = [row for result in students for row in result.exercises
                    if row.exercise == grade_id and row.points is not None]
            passed = sum(row.points >= row.max_points for row in rows)
            rate = passed / len(rows) if rows else None
            rates.append((grade_id, rate))
            writer.writerow([grade_id, number(points), len(rows), passed,
                             "" if rate is None else f"{rate:.3f}"])
    plot_summary(out / "summary.png", chapter, rates, list(totals.values()), maximum)


def plot_summary(path: Path, chapter: str, rates: list, totals: list[float], maximum: float) -> None:
    """Two panels: the pass rate of each exercise, and the histogram of complete scores."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4), layout="constrained")
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
    names = [grade_id for grade_id, _ in rates]
    left.barh(names, [100 * (rate or 0) for _, rate in rates], color="tab:blue")
    left.invert_yaxis()
    left.set(xlim=(0, 100), xlabel="passed (% of graded submissions)",
             title=f"{chapter}: pass rate per exercise")
    right.hist(totals, bins=min(20, max(1, int(maximum) + 1)), range=(0, maximum or 1),
               color="tab:green", edgecolor="white")
    right.set(xlabel=f"score (of {maximum:g})", ylabel="students",
              title=f"scores of the {len(totals)} fully graded submission(s)")
    figure.savefig(path, dpi=100)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 course.py grade",
                                     description="Autograde every submission of a chapter.")
    parser.add_argument("chapter", help="the chapter: 2, 02, 02_autograd or autograd")
    parser.add_argument("submissions", type=Path,
                        help="a folder of <student>/<notebook>.ipynb, or a zip of one")
    parser.add_argument("--out", type=Path, help="output directory (default: grading/NN_name)")
    parser.add_argument("--db-url", help="gradebook URL (default: $NNFS_DB_URL, else "
                        "sqlite:///OUT/gradebook.db); a password not in it comes from $NNFS_DB_PASSWORD "
                        "or PGPASSFILE")
    parser.add_argument("--db-url-file", type=Path, help="a file whose first line is the gradebook URL")
    parser.add_argument("--shard", help="K/M: grade only the K-th of M slices of the students (1 <= K <= M)")
    parser.add_argument("--workers", type=int, help="submissions graded at once (default: 2 per core)")
    defaults = Limits()
    parser.add_argument("--timeout", type=int, default=defaults.timeout, help="seconds per cell")
    parser.add_argument("--memory", type=int, default=defaults.memory_mb, help="MB per kernel")
    parser.add_argument("--wall", type=int, default=defaults.wall, help="seconds per submission")
    args = parser.parse_args(argv)
    if min(args.timeout, args.memory, args.wall, args.workers or 1) <= 0:
        parser.error("--timeout, --memory, --wall and --workers must be positive")
    limits = replace(defaults, timeout=args.timeout, memory_mb=args.memory, wall=args.wall)
    try:
        shard = Shard.parse(args.shard) if args.shard is not None else None
    except ValueError as error:
        parser.error(f"--shard: {error}")
    try:
        db_url = resolve_url(args.db_url, args.db_url_file)
        grade(args.chapter, args.submissions, args.out, db_url, args.workers, limits, shard)
    except GradeError as error:
        print(f"grade: {error}", file=sys.stderr)
        return 1
    return 0
