"""The learner's commands: check a chapter, export it into your library, restore the reference,
status. They read the release (chapters/) and write only in work/ (see layout.py).

    python3 course.py check 1         run chapter 1's visible tests on your notebook
                                      (--timeout S: each cell may run S seconds, 30 by default)
    python3 course.py export 1        check, run the library's tests on your modules, then write
                                      your #| export cells into work/nnlib/
    python3 course.py restore derivatives   (or: restore all) the course's reference again
    python3 course.py status          per chapter: exercises passing, modules that are yours

`check` runs your notebook, work/NN_name/name.ipynb, top to bottom in a fresh kernel, with its
test cells as the course released them (an edited or deleted test cell is put back first), the
way the grader does: it skips the cells no test depends on (`cells.not_run_when_grading`), runs
each test's probes in the kernel and judges their results here, and the kernel can import only
the nnlib modules of the earlier chapters (`library.py`), never this chapter's answers.
"""
from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from autograder import layout
from autograder.layout import HERE, Course
from autograder.cells import grade_id_of, is_graded, is_solution
from autograder.authoring.export import GENERATED, collect, render, write_atomically
from autograder.execution.intake import sanitise


class LearnerError(Exception):
    """A learner's command cannot go on; the message says what to do."""


@dataclass
class Result:
    """The outcome of one graded test cell."""
    grade_id: str
    points: float
    passed: bool
    message: str = ""


def find_chapter(name: str, course: Course = HERE) -> str:
    """The released chapter a learner means by '1', '01', '01_derivatives' or 'derivatives'."""
    try:
        return layout.find_chapter(name, course.chapters)
    except LookupError as error:
        raise LearnerError(str(error)) from None


def shown(path: Path, course: Course = HERE) -> str:
    """A path as the learner sees it: relative to the course's folder."""
    return path.relative_to(course.root).as_posix()


def start_work(course: Course = HERE) -> None:
    """Give every released chapter its notebook in work/, copied from the release the first time.

    A notebook someone worked on in chapters/ (where learners worked before work/ existed) is
    the one copied, and a module they exported into nnlib/ then is copied into work/nnlib/:
    nothing of theirs is lost, and from now on the release and their work never share a path."""
    for chapter in course.chapter_names():
        mine = course.work_notebook(chapter)
        if mine.exists():
            continue
        release = course.release_notebook(chapter)
        text = release.read_text()
        try:
            worked = layout.holds_learner_work(json.loads(text))
        except (ValueError, KeyError, TypeError, AttributeError):
            worked = True
        write_atomically(mine, text)
        print(f"your notebook of {chapter}: {shown(mine, course)}"
              + (f" (a copy of your work in {shown(release, course)})" if worked else ""))
    for module in course.modules():
        old, mine = course.reference(module), course.mine(module)
        if old.exists() and not mine.exists() and layout.is_generated(old) and not layout.is_reference(old):
            write_atomically(mine, old.read_text())
            print(f"your export of nnlib.{module} is now in {shown(mine, course)} "
                  f"(`git checkout {shown(old, course)}` puts the course's reference back in its place)")


def read_json(path: Path, course: Course = HERE) -> dict:
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise LearnerError(f"{shown(path, course)} is not a valid notebook ({error}); take your last good "
                           f"version from {shown(course.backups, course)} or your own copies") from None


def with_course_tests(learner: dict, release: dict) -> dict:
    """The learner's notebook as the grader runs it (`intake.sanitise`), rebuilt on the released
    notebook (which has no hidden tests): every test cell as the course wrote it (an edited one
    replaced, a deleted one put back), cells marked for grading that are not the course's run as
    plain cells, and the cells after the last test dropped."""
    notebook, _, _ = sanitise(learner, release)
    return notebook


DEFAULT_TIMEOUT = 30  # seconds a cell may run in `check` (`--timeout S` to change it)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_FRAME = re.compile(r"Cell In\[(\d+)\], line (\d+)")


def run_checks(chapter: str, timeout: int = DEFAULT_TIMEOUT, course: Course = HERE) -> list[Result]:
    """Run the learner's notebook of `chapter` with the course's visible tests, as the grader does
    (probes in the kernel, judged here), in a kernel that imports only the nnlib of the earlier
    chapters, each cell for `timeout` seconds at most; one Result per test (`results_of`)."""
    import tempfile

    from autograder.execution.library import write_library
    from autograder.execution.probes import read_tests
    from autograder.execution.sandbox import KernelLauncher, Limits
    from autograder.execution.trial import execute

    start_work(course)
    release = read_json(course.release_notebook(chapter), course)
    mine = course.work_notebook(chapter)
    tests = read_tests(release)
    notebook = with_course_tests(read_json(mine, course), release)
    with tempfile.TemporaryDirectory(prefix="nnfs-check-") as tmp:
        launcher = KernelLauncher(Limits(timeout=timeout, wall=3600, memory_mb=8192), None,
                                  nnlib=str(write_library(Path(tmp), chapter, learners=True, course=course)))
        try:
            run, ran = execute(notebook, mine.parent, tests, launcher, {})
        except Exception as error:  # noqa: BLE001 (one line, not a traceback: the learner can do nothing with it)
            first = (str(error).strip().splitlines() or [""])[0][:300]
            raise LearnerError(f"{chapter} could not be checked: {type(error).__name__}: {first}") from None
    return results_of(run, ran.cells, timeout)


def exercise_name(cell, index: int) -> str:
    """How a learner finds a cell: its exercise's (or test's) name, else its number."""
    return grade_id_of(cell) or f"code cell {index + 1}"


def exercise_error(cell, index: int, cells: list) -> str | None:
    """What an exercise cell raised when it ran (a SyntaxError, a NameError at definition time...),
    with the line of the learner's code where it did; None if it ran without an error."""
    from autograder.execution.guarded_execute import NOT_RUN

    error = next((output for output in cell.get("outputs", []) if output.get("output_type") == "error"
                  and output.get("ename") != NOT_RUN), None)
    if error is None:
        return None
    name = exercise_name(cell, index)
    text = f"your exercise {name} did not run to its end: {error.get('ename')}: {error.get('evalue')}"
    frames = CELL_FRAME.findall(ANSI.sub("", "\n".join(error.get("traceback") or [])))
    where, number = (cell, index), None
    if frames:
        count, number = int(frames[-1][0]), int(frames[-1][1])
        where = next(((other, at) for at, other in enumerate(cells) if other.cell_type == "code"
                      and other.get("execution_count") == count), where)
    elif error.get("ename") in ("SyntaxError", "IndentationError", "TabError"):
        try:
            compile(cell.source, name, "exec")
        except SyntaxError as problem:
            number = problem.lineno
        except ValueError:
            pass
    lines = where[0].source.splitlines()
    if number and 0 < number <= len(lines):
        own = "its cell" if where[0] is cell else f"the cell of {exercise_name(*where)}"
        text += f"\n  line {number} of {own}: {lines[number - 1].strip()}"
    return text


def stopped_here(cell, verdict) -> bool:
    """Whether the run stopped (a timeout, a crash) in this cell, which ran."""
    from autograder.execution.guarded_execute import NOT_RUN
    from autograder.results import CRASHED, TIMED_OUT

    notes = [str(output.get("evalue", "")) for output in cell.get("outputs", [])
             if output.get("output_type") == "error" and output.get("ename") == NOT_RUN]
    if any(note.startswith("stopped:") for note in notes):
        return True
    return (verdict is not None and verdict.status in (TIMED_OUT, CRASHED)
            and not any(note.startswith("not run:") for note in notes))


def results_of(run, cells: list, timeout: int) -> list[Result]:
    """One Result per test of a run (`trial.execute`: the record and the notebook as it ran).

    A test whose exercise cell raised fails with that error, at the learner's line (whatever
    the test made of what was defined before). A timeout or a crash is reported at the exercise
    (or test) that was running; the tests after it say where the notebook stopped."""
    from autograder.results import TIMED_OUT

    results, failed, stop, after_stop = [], None, None, False
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        verdict = run.verdicts.get(grade_id_of(cell)) if is_graded(cell) else None
        if run.stopped and stop is None and stopped_here(cell, verdict):
            stop = exercise_name(cell, index)
        if is_solution(cell):
            failed = exercise_error(cell, index, cells)
        if verdict is None:
            continue
        message = verdict.failures[0] if verdict.failures else ""
        if "raised NotImplementedError" in message:
            message = "not done yet: a stub still raises NotImplementedError"
        if verdict.status == run.stopped and stop is not None:
            what = "timed out" if run.stopped == TIMED_OUT else "crashed"
            if after_stop:
                message = f"not run: the notebook stopped at {stop} ({what})"
            else:
                reason = (f"ran longer than {timeout} s (an endless loop? `--timeout SECONDS` allows more)"
                          if run.stopped == TIMED_OUT and "limit of" not in run.note else run.note)
                message = f"{what} at {stop}: {reason}" if stop != verdict.grade_id else f"{what}: {reason}"
                after_stop = True
        elif failed:
            message = failed
        results.append(Result(verdict.grade_id, verdict.max_points, verdict.passed and not failed, message))
    return results


def report(chapter: str, results: list[Result]) -> bool:
    """Print one line per test; True when all pass."""
    print(f"{chapter}:")
    for result in results:
        score = result.points if result.passed else 0
        mark = "pass" if result.passed else "FAIL"
        print(f"  {mark}  {result.grade_id:<36} {score:g}/{result.points:g}")
        for line in result.message.splitlines()[:4]:  # the first failed case: inputs, what differs
            print(f"        {line[:300]}")
    earned = sum(r.points for r in results if r.passed)
    print(f"  {earned:g}/{sum(r.points for r in results):g} points on the visible tests "
          "(the grader also runs hidden tests)")
    return all(result.passed for result in results)


def check(name: str, timeout: int = DEFAULT_TIMEOUT, course: Course = HERE) -> bool:
    chapter = find_chapter(name, course)
    return report(chapter, run_checks(chapter, timeout, course))


def learner_header(notebook: Path, module: str, course: Course = HERE) -> list[str]:
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return [f"Generated from {shown(notebook, course)}: your own code, exported {stamp}.",
            f"`python3 course.py restore {module}` puts the course's reference solution back."]


def set_aside(module: str, stamp: str, course: Course = HERE) -> Path | None:
    """Move the learner's export of `module` to work/backups/; return where it went."""
    mine = course.mine(module)
    if not mine.exists():
        return None
    course.backups.mkdir(parents=True, exist_ok=True)
    kept, number = course.backups / f"{module}.{stamp}.py", 1
    while kept.exists():  # two in the same second: never write over a backup
        kept, number = course.backups / f"{module}.{stamp}-{number}.py", number + 1
    shutil.copy2(mine, kept)
    mine.unlink()
    return kept


# Modules that a chapter once exported under another name: {old name: (its new names)}. Chapter 5's
# nnlib.trainer was split into nnlib.steps (train_step, evaluate) and nnlib.optim.lr_scheduler
# (one_cycle_lr); nnlib/trainer.py, written by hand, keeps `import nnlib.trainer` working.
RENAMED_MODULES = {"trainer": ("steps", "optim.lr_scheduler")}


def migrate_exports(course: Course = HERE) -> list[str]:
    """Move the learner's exports of renamed modules (RENAMED_MODULES) to the new names; one line per move.

    An export of an old module, work/nnlib/OLD.py (made before the rename, or since from a notebook of an
    earlier release), holds all that its new modules hold: its text becomes each of them, with a line
    saying where it came from, so the current notebooks and tests run the learner's code. Nothing is
    deleted: the old file, and any new module it replaces, go to work/backups/ (set_aside), as an
    export's replaced modules do. A file without the export header (not an export) is left alone."""
    done = []
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for old, new_names in RENAMED_MODULES.items():
        source = course.mine(old)
        if not source.is_file() or not (text := source.read_text()).startswith(GENERATED):
            continue
        header, _, rest = text.partition("\n")
        moved = (f"{header}\n# Moved from work/nnlib/{old}.py by course.py: nnlib.{old} is now "
                 f"{' and '.join('nnlib.' + name for name in new_names)}.\n{rest}")
        kept = [set_aside(name, stamp, course) for name in new_names]
        for name in new_names:
            write_atomically(course.mine(name), moved)
        old_kept = set_aside(old, stamp, course)
        replaced = [shown(path, course) for path in kept if path]
        done.append(f"your export of nnlib.{old} (a module since renamed) is now "
                    f"{', '.join('nnlib.' + name for name in new_names)}; the file is kept in "
                    f"{shown(old_kept, course)}" + (f", and what it replaced in {', '.join(replaced)}" if replaced else ""))
    return done


def library_tests(modules: set[str], course: Course = HERE) -> list[Path]:
    """The library's test files (tests/test_*.py of this checkout) that import one of `modules`;
    not the tooling's tests. A module's own file (tests/test_engine.py for engine) comes first:
    pytest -x stops at the first failure, most likely there."""
    known = set(course.modules())
    found = []
    for path in sorted(course.tests.glob("test_*.py")):
        try:
            needs = layout.nnlib_imports(path, known)
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        if "autograder" not in needs and needs & modules:
            found.append(path)
    own = {f"test_{part}.py" for module in modules for part in module.split(".")}
    return sorted(found, key=lambda path: path.name not in own)


LIBRARY_TESTS_TIMEOUT = 600  # seconds for the library's tests of an export


def test_candidates(modules: dict[str, str], course: Course = HERE) -> tuple[bool, str]:
    """Run the library's tests of `modules` ({module: the text export would write}) on that text,
    before anything is written: in a subprocess where nnlib finds these modules first
    (NNLIB_FIRST, see nnlib/__init__.py). (passed, what to tell the learner)."""
    import os
    import subprocess
    import sys
    import tempfile

    from autograder.authoring.export import module_path

    files = library_tests(set(modules), course)
    if not files:
        return True, (f"(no library test in tests/ covers {', '.join('nnlib.' + m for m in sorted(modules))}: "
                      "exported without one)")
    shown_files = " ".join(shown(path, course) for path in files)
    with tempfile.TemporaryDirectory(prefix="nnfs-export-") as tmp:
        for module, text in modules.items():
            write_atomically(module_path(Path(tmp), module), text)
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                   "-o", "addopts=", *(shown(path, course) for path in files)]
        env = {**os.environ, "NNLIB_FIRST": tmp, "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            ran = subprocess.run(command, cwd=course.root, env=env, capture_output=True, text=True,
                                 timeout=LIBRARY_TESTS_TIMEOUT)
        except subprocess.TimeoutExpired:
            return False, (f"the library's tests ({shown_files}) ran longer than "
                           f"{LIBRARY_TESTS_TIMEOUT} s on your code (an endless loop?)")
    if ran.returncode in (0, 5):  # 5: every test skipped or none collected
        return True, f"the library's tests pass on your code ({shown_files})"
    failing = [line.split(" ", 1)[1] for line in ran.stdout.splitlines()
               if line.startswith(("FAILED ", "ERROR "))]
    if not failing:
        failing = [line for line in (ran.stdout + ran.stderr).strip().splitlines()[-3:]]
    failing_files = " ".join(dict.fromkeys(line.split("::")[0] for line in failing if "::" in line))
    return False, ("the library's tests fail on your code:\n"
                   + "\n".join(f"    {line[:300]}" for line in failing[:5])
                   + f"\n  (run them: python3 course.py test {failing_files or shown_files})")


def export(name: str, timeout: int = DEFAULT_TIMEOUT, course: Course = HERE) -> bool:
    """Check the chapter, run the library's tests on the modules it would write, then write the
    learner's export cells into work/nnlib/ (the export they replace is kept in work/backups/)."""
    chapter = find_chapter(name, course)
    results = run_checks(chapter, timeout, course)
    if not report(chapter, results):
        failing = ", ".join(r.grade_id for r in results if not r.passed)
        print(f"Not exported: first make these pass: {failing}. Your library is unchanged.")
        return False
    notebook = course.work_notebook(chapter)
    modules = {module: render(module, cells, learner_header(notebook, module, course))
               for module, cells in collect(notebook).items()}  # all rendered before any write
    passed, note = test_candidates(modules, course)
    if not passed:
        print(f"Not exported: {note}\nYour library is unchanged.")
        return False
    print(note)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for module, text in modules.items():
        kept = set_aside(module, stamp, course)
        write_atomically(course.mine(module), text)
        print(f"nnlib.{module} now holds your code ({shown(course.mine(module), course)}"
              + (f"; your previous export is in {shown(kept, course)})" if kept else ")"))
    print("Restart the kernel of any open notebook that imports these modules to use them.")
    return True


def restore(name: str, course: Course = HERE) -> bool:
    """Make nnlib's `name` (or 'all' modules) the course's reference again, where the course gives
    it out; the learner's export is kept in work/backups/."""
    modules = course.modules()
    names = sorted(modules) if name == "all" else [name.removeprefix("nnlib.")]
    unknown = [module for module in names if module not in modules]
    if unknown:
        print(f"No module {unknown[0]!r}; the modules are: {', '.join(sorted(modules))}")
        return False
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for module in names:
        if not course.reference(module).exists():
            if name != "all":
                print(f"nnlib.{module}: the course's reference comes out when {modules[module]} "
                      "closes; until then your export is your library's only version: kept as it is")
            continue
        kept = set_aside(module, stamp, course)
        if kept:
            print(f"nnlib.{module} is the course's reference again (your code is kept in {shown(kept, course)})")
    return True


def owner(module: str, course: Course = HERE) -> str:
    """Whose code `import nnlib.<module>` runs: 'yours', 'reference', 'edited' or 'missing'."""
    if course.mine(module).exists():
        return "yours"
    if course.reference(module).exists():
        return "reference" if layout.is_reference(course.reference(module)) else "edited"
    return "missing"


def status(timeout: int = DEFAULT_TIMEOUT, course: Course = HERE) -> bool:
    """For each chapter: its visible tests, and whose code each of its modules holds."""
    modules = course.modules()
    for chapter in course.chapter_names():
        owners = {module: owner(module, course) for module, exporter in modules.items() if exporter == chapter}
        owned = ", ".join(f"nnlib.{module} ({whose})" for module, whose in owners.items())
        if "missing" in owners.values():
            owned += (f" (missing: not in your library yet; `python3 course.py export {int(chapter[:2])}` "
                      "puts your code there)")
        try:
            results = run_checks(chapter, timeout, course)
        except LearnerError as problem:
            print(f"{chapter}: not checked: {problem}")
            continue
        passed = [r for r in results if r.passed]
        print(f"{chapter}: {len(passed)}/{len(results)} tests pass; {owned or 'no modules'}")
        for result in results:
            if not result.passed:
                print(f"    to do: {result.grade_id}")
    return True
