"""Grade every submission of a chapter: `python3 course.py grade CHAPTER SUBMISSIONS [options]`.

    python3 course.py grade 2 submissions/        (or: submissions.zip)
        --out DIR       where everything goes (default: grading/NN_name)
        --db-url URL    the gradebook, any SQLAlchemy URL (default: SQLite, DIR/gradebook.db)
        --workers N     submissions graded at once (default: two per core)
        --timeout S     seconds one cell may run (default 30)
        --memory MB     memory of one submission's kernel (default 2048)
        --wall S        seconds one whole submission may run (default 300)

SUBMISSIONS holds one folder per student, <student>/<notebook>.ipynb (plus, optionally,
nbgrader's timestamp.txt), or is a zip of such folders. First the course's solution runs once
through the grading path (the reference outcomes). Then each submission is autograded by nbgrader
in a jailed kernel with resource limits (sandbox.py) that can import only the nnlib of earlier
chapters (library.py); its tests' probes run there, and the judge compares their results with the
expectations here, outside the kernel (guarded_execute.py, judge.py). Written to DIR:

    grades.csv         one row per student and exercise: points, max_points, status, note
    totals.csv         one row per student
    feedback/STUDENT.html   nbgrader's feedback, without the hidden tests (see feedback.py)
    summary.csv, summary.png   per-exercise pass rates, and the histogram of the scores
    grading.log        every submission's outcome, run after run
    gradebook.db       nbgrader's gradebook (unless --db-url); nbgrader/: its course directory
    results/STUDENT.json    what the reports are made from

Statuses (results.py): "graded"; "test cell restored" (the learner edited or deleted a test cell,
which plays no part: the course's test is judged); "timed out" and "crashed" (the exercises from
that point on were not judged: 0 points); "probe channel tampered" (0 for that exercise); "not a
notebook" and "notebook missing" (0 points); "grader error" (the grader failed: no score, grade
again).

Re-running is safe: every submission found is graded again and logged, nothing is skipped;
students graded before who are not in SUBMISSIONS keep their results. A submission replaces
the graded one unless it is older (timestamp.txt, else the notebook's modification time), in
which case the log says that the newer one was kept.
"""
from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import re
import shutil
import sys
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from autograder import learner
from autograder.build import IGNORED, ROOT
from autograder.export import cell_source
from autograder.library import write_library
from autograder.probes import TestCellError, read_tests
from autograder.results import (GRADED, MISSING, NOT_A_NOTEBOOK, RESTORED,
                                RESTORED_NOTE, STOPPED, TAMPERED, ungraded)
from autograder.sandbox import NO_ISOLATION_WARNING, KernelLauncher, Limits

UNGRADED = STOPPED  # statuses that end a whole submission
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")
MAX_NOTEBOOK_BYTES = 100 << 20
MAX_UNZIPPED_BYTES = 4 << 30


class GradeError(Exception):
    """Grading cannot start: a bad argument or a broken environment."""


@dataclass(frozen=True)
class Settings:
    """What every worker needs to know, sent with each task (workers share no other state)."""
    chapter: str  # the assignment, e.g. 02_autograd
    notebook: str  # the notebook's name without .ipynb, e.g. autograd
    course: Path  # nbgrader's course directory
    db_url: str
    launcher: KernelLauncher
    feedback: Path  # where each student's feedback HTML goes
    exercises: tuple[tuple[str, float], ...] = ()  # (grade id, points) of each graded cell
    tests: dict = field(default_factory=dict)  # {grade id: probes.TestCell}, read from the source
    reference: dict = field(default_factory=dict)  # {grade id: the reference's case outcomes}


@dataclass
class Submission:
    """One student's folder: the notebook to grade, or why there is none."""
    student: str
    timestamp: datetime  # naive UTC
    notebook: Path | None = None
    status: str | None = None  # NOT_A_NOTEBOOK or MISSING when it cannot be graded
    note: str = ""
    restored: dict[str, str] = field(default_factory=dict)  # test cells edited/deleted


class Log:
    """Prints each line and appends it, time-stamped, to DIR/grading.log."""

    def __init__(self, path: Path):
        self.path = path

    def __call__(self, message: str, error: bool = False) -> None:
        print(f"[grade] {message}", file=sys.stderr if error else sys.stdout, flush=True)
        with self.path.open("a") as log:
            log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")


# Finding the submissions ---------------------------------------------------------------------

def ignored_name(path: Path) -> bool:
    return path.name.startswith(".") or path.name == "__MACOSX"


def unpack(submissions: Path, scratch: Path) -> Path:
    """The folder of student folders: `submissions` itself, or where its zip is extracted (the
    zip may hold the student folders directly or inside one top folder)."""
    if submissions.is_dir():
        return submissions
    if not zipfile.is_zipfile(submissions):
        raise GradeError(f"{submissions} is neither a folder nor a zip file")
    target = scratch / "unzipped"
    shutil.rmtree(target, ignore_errors=True)
    with zipfile.ZipFile(submissions) as archive:
        members = archive.infolist()
        for info in members:
            parts = PurePosixPath(info.filename).parts
            if info.filename.startswith(("/", "\\")) or ".." in parts:
                raise GradeError(f"{submissions} holds an unsafe path: {info.filename}")
        if sum(info.file_size for info in members) > MAX_UNZIPPED_BYTES:
            raise GradeError(f"{submissions} unpacks to more than {MAX_UNZIPPED_BYTES >> 30} GB")
        archive.extractall(target)
        for info in members:  # keep the submission times: they decide which submission is newer
            stamp = time.mktime((*info.date_time, 0, 0, -1))
            os.utime(target / info.filename, (stamp, stamp))
    entries = [path for path in target.iterdir() if not ignored_name(path)]
    if len(entries) == 1 and entries[0].is_dir() and not any(entries[0].glob("*.ipynb")):
        return entries[0]
    return target


def find_submissions(folder: Path, name: str, release: dict) -> tuple[list[Submission], list[str]]:
    """One Submission per student folder, and a message for everything else found."""
    submissions, ignored = [], []
    for entry in sorted(folder.iterdir()):
        if ignored_name(entry):
            continue
        if not entry.is_dir():
            ignored.append(f"ignored {entry.name}: not a student folder (<student>/{name}.ipynb)")
        elif not STUDENT_ID.fullmatch(entry.name):
            ignored.append(f"ignored folder {entry.name!r}: not a usable student id "
                           "(letters, digits and . _ @ + -)")
        else:
            submissions.append(read_submission(entry, name, release))
    return submissions, ignored


def read_submission(folder: Path, name: str, release: dict) -> Submission:
    """The student's notebook (a single notebook with another name is taken, and noted), checked
    to be a notebook, with the test cells the learner changed."""
    notebooks = sorted(path for path in folder.rglob("*.ipynb")
                       if ".ipynb_checkpoints" not in path.parts)
    expected = folder / f"{name}.ipynb"
    chosen = expected if expected.exists() else notebooks[0] if len(notebooks) == 1 else None
    submission = Submission(folder.name, submission_time(folder, chosen), chosen)
    if chosen is None:
        found = ", ".join(path.relative_to(folder).as_posix() for path in notebooks)
        submission.status = MISSING
        submission.note = f"no {name}.ipynb" + (f"; found {found}" if found else "")
        return submission
    if chosen != expected:
        submission.note = f"graded {chosen.relative_to(folder).as_posix()} as {name}.ipynb"
    notebook, problem = read_notebook(chosen)
    if problem:
        submission.status = NOT_A_NOTEBOOK
        submission.note = "; ".join(filter(None, [submission.note, problem]))
        return submission
    submission.restored = tampered_tests(notebook, release)
    return submission


def submission_time(folder: Path, notebook: Path | None) -> datetime:
    """nbgrader's timestamp.txt if there is one, else the notebook's (or folder's) mtime; UTC."""
    stamp = folder / "timestamp.txt"
    if stamp.exists():
        from dateutil import parser

        try:
            moment = parser.parse(stamp.read_text().strip())
            if moment.tzinfo:
                moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
            return moment
        except (ValueError, OverflowError):
            pass  # an unreadable timestamp: fall back on the file's time
    mtime = (notebook or folder).stat().st_mtime
    return datetime.fromtimestamp(mtime, timezone.utc).replace(tzinfo=None)


def read_notebook(path: Path) -> tuple[dict | None, str]:
    """(the notebook, '') if a file looks like a notebook nbgrader can read, else (None, why not)."""
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        return None, f"larger than {MAX_NOTEBOOK_BYTES >> 20} MB"
    try:
        notebook = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as error:
        return None, f"invalid JSON ({str(error)[:120]})"
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list) \
            or not all(isinstance(cell, dict) and "cell_type" in cell and is_text(cell.get("source"))
                       for cell in notebook["cells"]):
        return None, "JSON, but not a Jupyter notebook"
    if notebook.get("nbformat") != 4:
        return None, f"notebook format {notebook.get('nbformat')!r}, not 4"
    return notebook, ""


def is_text(source) -> bool:
    """Whether a cell's source is a string or a list of strings, as in a notebook file."""
    return isinstance(source, str) or isinstance(source, list) and all(isinstance(line, str)
                                                                       for line in source)


def tampered_tests(notebook: dict, release: dict) -> dict[str, str]:
    """{grade id: 'edited' or 'deleted'} for the released test cells the learner changed."""
    def tests(cells):
        found = {}
        for cell in cells:
            meta = cell.get("metadata")
            meta = meta.get("nbgrader") if isinstance(meta, dict) else None
            if isinstance(meta, dict) and meta.get("grade") and "grade_id" in meta:
                found[meta["grade_id"]] = cell_source(cell)
        return found
    submitted = tests(notebook["cells"])
    return {grade_id: "deleted" if grade_id not in submitted else "edited"
            for grade_id, text in tests(release["cells"]).items() if submitted.get(grade_id) != text}


def stage(submission: Submission, settings: Settings) -> None:
    """Put the submission where nbgrader looks: submitted/<student>/<chapter>/<notebook>.ipynb."""
    target = settings.course / "submitted" / submission.student / settings.chapter
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copyfile(submission.notebook, target / f"{settings.notebook}.ipynb")
    (target / "timestamp.txt").write_text(submission.timestamp.isoformat(sep=" ") + " UTC")


# Running the workers ---------------------------------------------------------------------------

def run_in_worker(task: tuple):
    """Run grade_worker.NAME(*ARGS) for task (NAME, *ARGS): the only function sent to workers,
    so that this process never imports nbgrader (the workers' fork server does, once)."""
    from autograder import grade_worker

    name, *args = task
    return getattr(grade_worker, name)(*args)


def default_workers() -> int:
    """Two workers per core: a worker waits while its kernel runs, and its kernel waits while
    it reads and records the results, so one per core leaves the cores partly idle
    (on 2 cores, 100 submissions of chapter 2 took 170 s with 2 workers, 115-154 s with 3 and
    112-129 s with 4). Each worker and its kernel need about 350 MB."""
    return 2 * (os.cpu_count() or 1)


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """`workers` processes forked from a server that imported nbgrader once."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["autograder.grade_worker"])
    else:
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def sqlite_url(db_url: str) -> str:
    """The URL, with a 60 s busy timeout if it is SQLite (parallel workers wait for the lock)."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and "timeout" not in url.query:
        url = url.update_query_dict({"timeout": "60"})
    return url.render_as_string(hide_password=False)


# Grading -------------------------------------------------------------------------------------------

def grade(name: str, submissions: Path, out: Path | None = None, db_url: str | None = None,
          workers: int | None = None, limits: Limits = Limits()) -> None:
    """Grade every submission of chapter `name` in `submissions` (a folder or a zip) into `out`."""
    chapter = learner.find_chapter(name)
    source = learner.SOLUTIONS / chapter
    notebook = learner.notebook_of(source).stem
    out = Path(out or ROOT / "grading" / chapter).resolve()
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
    log(launcher.describe())
    course = out / "nbgrader"
    shutil.rmtree(course / "source" / chapter, ignore_errors=True)
    shutil.copytree(source, course / "source" / chapter, ignore=IGNORED)
    try:
        tests = read_tests(json.loads((source / f"{notebook}.ipynb").read_text()))
    except TestCellError as error:
        raise GradeError(f"the course's tests of {chapter} cannot be read: {error}") from None
    launcher = replace(launcher, nnlib=str(write_library(course / "library", chapter)))
    db_url = sqlite_url(db_url or f"sqlite:///{out / 'gradebook.db'}")
    settings = Settings(chapter, notebook, course, db_url, launcher, out / "feedback", tests=tests)
    (out / "results").mkdir(exist_ok=True)
    results = {path.stem: json.loads(path.read_text()) for path in (out / "results").glob("*.json")}
    started = time.monotonic()
    with worker_pool(max(1, workers or default_workers())) as pool:
        try:
            pool.submit(run_in_worker, ("set_up", settings)).result()
            try:
                reference = pool.submit(run_in_worker, ("reference_outcomes", settings)).result()
            except RuntimeError as error:
                raise GradeError(str(error)) from None
            log(f"ran the reference solution's {sum(map(len, reference.values()))} test cases")
            release = json.loads((course / "release" / chapter / f"{notebook}.ipynb").read_text())
            graded = [cell["metadata"]["nbgrader"] for cell in release["cells"]
                      if cell["metadata"].get("nbgrader", {}).get("grade")]
            settings = replace(settings, reference=reference, exercises=tuple(
                (meta["grade_id"], float(meta["points"])) for meta in graded))
            incoming, ignored = find_submissions(unpack(submissions, out), notebook, release)
            for message in ignored:
                log(message)
            tasks, forgotten = {}, []
            for submission in incoming:
                kept = results.get(submission.student)
                if kept and submission.timestamp < datetime.fromisoformat(kept["timestamp"]):
                    log(f"{submission.student}: kept the graded submission of {kept['timestamp']} UTC; "
                        f"this one is older ({submission.timestamp.isoformat(sep=' ')} UTC)")
                elif submission.status:  # it replaces what was graded before, if anything
                    task = ("forget", settings, submission.student)
                    forgotten.append(pool.submit(run_in_worker, task))
                    results[submission.student] = save(out, settings, submission, ungraded(
                        settings.exercises, submission.status, submission.note), log)
                else:
                    stage(submission, settings)
                    task = ("grade_task", settings, submission.student, submission.restored)
                    tasks[pool.submit(run_in_worker, task)] = submission
            for future in as_completed(tasks):
                submission = tasks[future]
                results[submission.student] = save(out, settings, submission, future.result(), log)
            for future in forgotten:
                future.result()
        except BrokenProcessPool as error:
            raise GradeError(f"a grading worker died ({error}); grade again to finish") from None
    log(f"graded {len(tasks)} submission(s) in {time.monotonic() - started:.1f} s")
    write_reports(out, chapter, settings.exercises, results)
    log(f"wrote {out / 'grades.csv'}, totals.csv, summary.csv, summary.png and feedback/")


def save(out: Path, settings: Settings, submission: Submission, graded: dict, log: Log) -> dict:
    """Complete a worker's result with the submission's details; write, log and return it."""
    rows = graded["exercises"]
    statuses = [row["status"] for row in rows]
    status = next((s for s in statuses if s in UNGRADED), RESTORED if RESTORED in statuses else GRADED)
    stop_note = next((row["note"] for row in rows if row["status"] in UNGRADED), "")
    if status == GRADED and TAMPERED in statuses:
        status = TAMPERED
    result = {"student": submission.student, "timestamp": submission.timestamp.isoformat(),
              "submitted": str(submission.notebook or ""), "status": status,
              "note": "; ".join(dict.fromkeys(filter(None, [submission.note, stop_note]))), **graded}
    (out / "results" / f"{submission.student}.json").write_text(json.dumps(result, indent=1))
    if not graded["feedback"]:
        write_plain_feedback(settings.feedback / f"{submission.student}.html", settings.chapter, result)
    done = [row for row in rows if row["points"] is not None]
    points = f"{sum(r['points'] for r in done):g}/{sum(r['max_points'] for r in done):g} points"
    if status in UNGRADED:
        log(f"{submission.student}: {status}: {result['note']}; {points}")
    else:
        restored = [row["exercise"] for row in rows if row["status"] == RESTORED]
        notes = [result["note"], f"test cells put back: {', '.join(restored)}" if restored else ""]
        notes += [part for row in rows for part in row["note"].split("; ")
                  if not part.endswith(RESTORED_NOTE)]
        extra = "; ".join(dict.fromkeys(filter(None, notes)))
        log(f"{submission.student}: {points} ({status}{'; ' + extra if extra else ''}) "
            f"[{graded['seconds']} s]")
    return result


def write_plain_feedback(path: Path, chapter: str, result: dict) -> None:
    """A short page where nbgrader made none (the submission could not be graded)."""
    from html import escape

    rows = "".join(f"<tr><td>{escape(row['exercise'])}</td><td>{number(row['points'])}</td>"
                   f"<td>{number(row['max_points'])}</td><td>{escape(row['status'])}</td></tr>"
                   for row in result["exercises"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(chapter)}"
                    f"</title></head><body><h1>{escape(chapter)}: {escape(result['student'])}</h1>"
                    f"<p><b>{escape(result['status'])}</b>: {escape(result['note'])}</p><table>"
                    f"<tr><th>exercise</th><th>points</th><th>of</th><th>status</th></tr>{rows}"
                    "</table></body></html>\n")


# Reports -------------------------------------------------------------------------------------------

def number(value) -> str:
    return "" if value is None else f"{value:g}"


def write_reports(out: Path, chapter: str, exercises, results: dict[str, dict]) -> None:
    """grades.csv, totals.csv, summary.csv and summary.png from every student's result."""
    students = [results[student] for student in sorted(results)]
    with (out / "grades.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["student", "exercise", "points", "max_points", "status", "note"])
        for result in students:
            for row in result["exercises"]:
                writer.writerow([result["student"], row["exercise"], number(row["points"]),
                                 number(row["max_points"]), row["status"], row["note"]])
    maximum = sum(points for _, points in exercises)
    totals = {}
    with (out / "totals.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["student", "points", "max_points", "status", "exercises_graded", "note"])
        for result in students:
            done = [row for row in result["exercises"] if row["points"] is not None]
            complete = len(done) == len(result["exercises"])
            total = sum(row["points"] for row in done) if complete else None
            if total is not None:
                totals[result["student"]] = total
            writer.writerow([result["student"], number(total), number(maximum), result["status"],
                             f"{len(done)}/{len(result['exercises'])}", result["note"]])
    rates = []
    with (out / "summary.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["exercise", "max_points", "graded", "passed", "pass_rate"])
        for grade_id, points in exercises:
            rows = [row for result in students for row in result["exercises"]
                    if row["exercise"] == grade_id and row["points"] is not None]
            passed = sum(row["points"] >= row["max_points"] for row in rows)
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
    parser.add_argument("--db-url", help="gradebook URL (default: sqlite:///OUT/gradebook.db)")
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
        grade(args.chapter, args.submissions, args.out, args.db_url, args.workers, limits)
    except GradeError as error:
        print(f"grade: {error}", file=sys.stderr)
        return 1
    return 0
