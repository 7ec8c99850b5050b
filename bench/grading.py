"""Benchmark: `course.py grade` against plain `nbgrader autograde`, on chapter 2.

Generates 100 submissions of chapter 2 (solutions/02_autograd) from the learner notebook and the
solution: 40 correct, 36 partly wrong (four kinds of bug), 24 broken (blank, a syntax error,
invalid JSON, no notebook, a misnamed notebook, a crash, an infinite loop). Then, in the same
run:

- grades all of them with `autograder.grading.grade.grade` (jailed kernels, two workers per core by
  default, feedback and reports included);
- grades an evenly spread sample of them the way an instructor runs nbgrader by hand: one
  `nbgrader autograde 02_autograd --student ID --force` subprocess per student, in a course
  directory of its own (no jail, no feedback);

and prints submissions per second for both, and the ratio. Targets: at least 3x the plain rate,
and the 100 submissions in at most 2 minutes. The machine may be shared: the load average is
printed with the figures.

    python bench/grading.py [--workers N] [--sample 10] [--timeout 10] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.cells import is_solution, nbgrader_of
from autograder.grading.grade import default_workers, grade  # noqa: E402
from autograder.execution.sandbox import Limits  # noqa: E402

CHAPTER, NOTEBOOK = "02_autograd", "autograd.ipynb"
BUGS = {  # name: (solution cell, text in the solution, replacement)
    "mul_assigns_grad": ("value_engine", "a.grad += b.data * out.grad", "a.grad = b.data * out.grad"),
    "neuron_without_activation": ("neuron", 'if self.nonlin == "tanh":', "if False:"),
    "train_without_zero_grad": ("train", "model.zero_grad()", "pass"),
    "pow_wrong_derivative": ("value_engine", "k.data * x.data ** (k.data - 1)",
                             "k.data * x.data ** k.data"),
}
MIX = {"correct": 40, **{bug: 9 for bug in BUGS}, "blank": 7, "syntax_error": 4, "invalid_json": 3,
       "no_notebook": 2, "misnamed": 3, "crash": 3, "infinite_loop": 2}


def make_submissions(folder: Path) -> list[str]:
    """Write the 100 submissions into folder/<student>/; return the student ids, shuffled."""
    release = json.loads((ROOT / "chapters" / CHAPTER / NOTEBOOK).read_text())
    solution = json.loads((ROOT / "solutions" / CHAPTER / NOTEBOOK).read_text())
    answers = {cell["metadata"]["nbgrader"]["grade_id"]:
               "".join(line for line in "".join(cell["source"]).splitlines(keepends=True)
                       if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
               for cell in solution["cells"] if is_solution(cell)}

    def learner(edits: dict[str, str] | None) -> dict:
        """The learner notebook with every exercise solved, except for `edits` ({solution cell:
        source}); with edits None, the blank notebook."""
        notebook = json.loads(json.dumps(release))
        for cell in notebook["cells"]:
            meta = nbgrader_of(cell)
            if edits is not None and meta.get("solution"):
                cell["source"] = edits.get(meta["grade_id"], answers[meta["grade_id"]])
        return notebook

    kinds = [kind for kind, count in MIX.items() for _ in range(count)]
    random.Random(0).shuffle(kinds)
    students = []
    for number, kind in enumerate(kinds):
        student = f"s{number:03d}_{kind}"
        target = folder / student
        target.mkdir(parents=True)
        notebook = learner({})
        if kind in BUGS:
            cell, old, new = BUGS[kind]
            assert old in answers[cell], f"{kind}: {old!r} is not in the solution any more"
            notebook = learner({cell: answers[cell].replace(old, new)})
        elif kind == "blank":
            notebook = learner(None)
        elif kind == "syntax_error":
            notebook = learner({"value_engine": answers["value_engine"] + "\ndef broken(:\n"})
        elif kind == "crash":
            notebook = learner({"neuron": answers["neuron"] + "\nimport os\nos._exit(1)\n"})
        elif kind == "infinite_loop":
            notebook = learner({"train": answers["train"] + "\nwhile True:\n    pass\n"})
        name = "autograd (1).ipynb" if kind == "misnamed" else NOTEBOOK
        if kind == "invalid_json":
            (target / name).write_text(json.dumps(notebook)[:-200])
        elif kind == "no_notebook":
            (target / "answers.txt").write_text("I could not do it")
        else:
            (target / name).write_text(json.dumps(notebook))
        students.append(student)
    return students


def plain_nbgrader(submissions: Path, sample: list[str], course: Path, timeout: int) -> float:
    """Seconds to autograde `sample` with one `nbgrader autograde` process per student."""
    scripts = Path(sys.executable).parent  # as in an activated virtual environment
    env = {**os.environ, "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = {"cwd": course, "env": env, "capture_output": True}
    shutil.copytree(ROOT / "solutions" / CHAPTER, course / "source" / CHAPTER)
    subprocess.run(["nbgrader", "generate_assignment", CHAPTER, "--force"], check=True, **run)
    for student in sample:
        target = course / "submitted" / student / CHAPTER
        target.mkdir(parents=True)
        for file in (submissions / student).iterdir():
            shutil.copy(file, target)
    started = time.monotonic()
    for student in sample:
        subprocess.run(["nbgrader", "autograde", CHAPTER, "--student", student, "--force",
                        f"--Execute.timeout={timeout}", "--OverwriteCells.add_missing_cells=True"],
                       **run)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=None, help="default: as `course.py grade`")
    parser.add_argument("--sample", type=int, default=10, help="submissions graded the plain way")
    parser.add_argument("--timeout", type=int, default=10, help="seconds per cell, for both")
    parser.add_argument("--keep", type=Path, help="keep the submissions and results here")
    args = parser.parse_args()
    args.workers = args.workers or default_workers()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-grading-"))
    submissions = work / "submissions"
    shutil.rmtree(submissions, ignore_errors=True)
    students = make_submissions(submissions)
    print(f"{len(students)} submissions of {CHAPTER}: " +
          ", ".join(f"{count} {kind}" for kind, count in MIX.items()))
    print(f"machine: {os.cpu_count()} cores, load average before: {os.getloadavg()[0]:.2f}")

    started = time.monotonic()
    grade("2", submissions, work / "out", workers=args.workers, limits=Limits(timeout=args.timeout))
    ours = time.monotonic() - started
    sample = [students[i * len(students) // args.sample] for i in range(args.sample)]
    shutil.rmtree(work / "plain", ignore_errors=True)
    plain = plain_nbgrader(submissions, sample, work / "plain", args.timeout)

    ours_rate, plain_rate = len(students) / ours, len(sample) / plain
    print(f"\ncourse.py grade:        {len(students)} submissions in {ours:6.1f} s = "
          f"{ours_rate:.3f} submissions/s ({args.workers} workers, jailed, with feedback)")
    print(f"nbgrader autograde:     {len(sample)} submissions in {plain:6.1f} s = "
          f"{plain_rate:.3f} submissions/s (one process per student: {', '.join(sample)})")
    print(f"speed-up: {ours_rate / plain_rate:.1f}x (target 3x); 100 submissions in "
          f"{100 / ours_rate:.0f} s (target 120 s); load average after: {os.getloadavg()[0]:.2f}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
