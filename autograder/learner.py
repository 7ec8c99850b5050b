"""The learner's commands: check a chapter, export it into nnlib, restore the reference, status.

    python3 course.py check 1         run chapter 1's visible tests on your notebook
    python3 course.py export 1        check, then write your #| export cells into nnlib
    python3 course.py restore derivatives   (or: restore all) put the reference module back
    python3 course.py status          per chapter: exercises passing, modules that are yours

`check` runs your notebook, chapters/NN_name/name.ipynb, top to bottom in a fresh kernel, with
its test cells as the course wrote them (an edited or deleted test cell is put back first), the
way the grader does: it skips the cells no test depends on (`cells.not_run_when_grading`), runs
each test's probes in the kernel and judges their results here, and the kernel can import only
the nnlib modules of the earlier chapters (`library.py`), never this chapter's answers.
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.build import CHAPTERS, PACKAGE, REFERENCE_MARK, ROOT, SOLUTIONS, reference_modules
from autograder.cells import HIDDEN_TESTS
from autograder.export import cell_source, collect, module_path, render, write_atomically
from autograder.intake import sanitise

BACKUPS = PACKAGE / ".backup"


@dataclass
class Result:
    """The outcome of one graded test cell."""
    grade_id: str
    points: float
    passed: bool
    message: str = ""


def find_chapter(name: str) -> str:
    """The chapter folder a learner means by '1', '01', '01_derivatives' or 'derivatives'."""
    chapters = sorted(path.name for path in SOLUTIONS.iterdir() if path.is_dir())
    for chapter in chapters:
        number, _, title = chapter.partition("_")
        if name in (chapter, title) or (name.isdigit() and int(name) == int(number)):
            return chapter
    raise SystemExit(f"No chapter {name!r}; the chapters are: {', '.join(chapters)}")


def notebook_of(folder: Path) -> Path:
    return next(folder.glob("*.ipynb"))


def with_course_tests(learner: dict, reference: dict) -> dict:
    """The learner's notebook as the grader runs it (`intake.sanitise`), rebuilt on the course's
    notebook without its hidden tests: every test cell as the course wrote it (an edited one
    replaced, a deleted one put back), cells marked for grading that are not the course's run as
    plain cells, and the cells after the last test dropped."""
    notebook, _, _ = sanitise(learner, without_hidden_tests(reference))
    return notebook


def without_hidden_tests(notebook: dict) -> dict:
    """The notebook with the hidden block of every test cell removed (as learners get it)."""
    cells = []
    for cell in notebook["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            cell = {**cell, "source": HIDDEN_TESTS.sub("", cell_source(cell))}
        cells.append(cell)
    return {**notebook, "cells": cells}


def run_checks(chapter: str, timeout: int = 120) -> list[Result]:
    """Run the learner's notebook of `chapter` with the course's visible tests, as the grader does
    (probes in the kernel, judged here), in a kernel that imports only the nnlib of the earlier
    chapters; one Result per test."""
    import tempfile

    from autograder.library import write_library
    from autograder.probes import read_tests
    from autograder.sandbox import KernelLauncher, Limits
    from autograder.trial import run_notebook

    solution = notebook_of(SOLUTIONS / chapter)
    learner_path = CHAPTERS / chapter / solution.name
    if not learner_path.exists():
        raise SystemExit(f"{learner_path.relative_to(ROOT)} is missing: `git checkout` it back")
    reference = without_hidden_tests(json.loads(solution.read_text()))
    try:
        learner = json.loads(learner_path.read_text())
    except ValueError as error:
        raise SystemExit(f"{learner_path.relative_to(ROOT)} is not a valid notebook ({error}); "
                         "restore it with `git checkout` or from a backup") from None
    tests = read_tests(reference)
    with tempfile.TemporaryDirectory(prefix="nnfs-check-") as tmp:
        launcher = KernelLauncher(Limits(timeout=timeout, wall=3600, memory_mb=8192), None,
                                  nnlib=str(write_library(Path(tmp), chapter, learners=True)))
        run = run_notebook(with_course_tests(learner, reference), learner_path.parent, tests, launcher, {})
    results = []
    for grade_id, verdict in run.verdicts.items():
        message = verdict.failures[0] if verdict.failures else ""
        if "raised NotImplementedError" in message:
            message = "not done yet: a stub still raises NotImplementedError"
        results.append(Result(grade_id, verdict.max_points, verdict.passed, message))
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


def check(name: str) -> bool:
    chapter = find_chapter(name)
    return report(chapter, run_checks(chapter))


def learner_header(notebook: Path, module: str) -> list[str]:
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return [f"Generated from {notebook.relative_to(ROOT).as_posix()}: your own code, exported {stamp}.",
            f"`python3 course.py restore {module}` puts the course's reference solution back."]


def replace_module(module: str, text: str, stamp: str) -> Path:
    """Write `text` as nnlib's `module`, first copying the file it replaces to BACKUPS."""
    path = module_path(PACKAGE, module)
    if path.exists():
        BACKUPS.mkdir(exist_ok=True)
        shutil.copy2(path, BACKUPS / f"{module}.{stamp}.py")
    write_atomically(path, text)
    return path


def export(name: str) -> bool:
    """Check the chapter, then write the learner's export cells into nnlib (old module backed up)."""
    chapter = find_chapter(name)
    results = run_checks(chapter)
    if not report(chapter, results):
        failing = ", ".join(r.grade_id for r in results if not r.passed)
        print(f"Not exported: first make these pass: {failing}. nnlib is unchanged.")
        return False
    notebook = CHAPTERS / chapter / notebook_of(SOLUTIONS / chapter).name
    modules = {module: render(module, cells, learner_header(notebook, module))
               for module, cells in collect(notebook).items()}  # all rendered before any write
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for module, text in modules.items():
        path = replace_module(module, text, stamp)
        print(f"nnlib.{module} now holds your code ({path.relative_to(ROOT)}; the previous "
              f"version is in {BACKUPS.relative_to(ROOT)}/{module}.{stamp}.py)")
    return True


def restore(name: str) -> bool:
    """Put the reference version of one module (or 'all') back into nnlib."""
    modules = reference_modules()
    names = sorted(modules) if name == "all" else [name.removeprefix("nnlib.")]
    unknown = [module for module in names if module not in modules]
    if unknown:
        print(f"No module {unknown[0]!r}; the modules are: {', '.join(sorted(modules))}")
        return False
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for module in names:
        path = module_path(PACKAGE, module)
        if path.exists() and path.read_text() == modules[module][1]:
            continue
        replace_module(module, modules[module][1], stamp)
        print(f"nnlib.{module} is the course's reference again")
    return True


def owner(module: str) -> str:
    path = module_path(PACKAGE, module)
    if not path.exists():
        return "missing (run `python3 course.py restore all`)"
    first = path.read_text().partition("\n")[0]
    return "reference" if REFERENCE_MARK in first else "yours" if "your own code" in first else "edited"


def status() -> bool:
    """For each chapter: its visible tests, and whose code each of its modules holds."""
    modules = reference_modules()
    for folder in sorted(path for path in SOLUTIONS.iterdir() if path.is_dir()):
        chapter = folder.name
        try:
            results = run_checks(chapter)
        except SystemExit as problem:
            print(f"{chapter}: not checked: {problem}")
            continue
        passed = [r for r in results if r.passed]
        owned = ", ".join(f"nnlib.{m} ({owner(m)})" for m, (nb, _) in modules.items()
                          if nb.parent == folder)
        print(f"{chapter}: {len(passed)}/{len(results)} tests pass; {owned or 'no modules'}")
        for result in results:
            if not result.passed:
                print(f"    to do: {result.grade_id}")
    return True
