"""Run a notebook through the grading path without a gradebook: for `check`, for the reference
run, and for authors trying their tests on a solution and on mutants of it.

    python -m autograder.execution.trial SOLUTION.ipynb [SUBMISSION.ipynb ...]

runs SOLUTION (the course's notebook, with its solutions) as the reference, then each
SUBMISSION (default: SOLUTION itself) with the course's tests, visible and hidden, in a kernel
that imports only the nnlib this chapter may import, and prints each test's points and the
reason of every failed case. No jail: use it on the course's own notebooks and mutants only.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import nbformat

from autograder.execution.guarded_execute import LAST_RUN, GuardedExecute, RunRecord
from autograder.execution.judge import judge_test
from autograder.execution.library import write_library
from autograder.execution.probes import TestCellError, read_tests
from autograder.execution.sandbox import KernelLauncher, Limits


def run_notebook(notebook: dict, folder: Path, tests: dict, launcher: KernelLauncher,
                 reference: dict | None = None) -> RunRecord:
    """Run `notebook` (a dict from its JSON; `folder` holds its other files) judging `tests`
    against `reference`, or, with `reference=None`, record the outcomes (the reference run)."""
    return execute(notebook, folder, tests, launcher, reference)[0]


def execute(notebook: dict, folder: Path, tests: dict, launcher: KernelLauncher,
            reference: dict | None = None) -> tuple[RunRecord, nbformat.NotebookNode]:
    """`run_notebook`, and the notebook as it ran: each cell's outputs (an exercise's error, the
    cell where a timeout or a crash stopped the run: see `learner.run_checks`)."""
    executor = GuardedExecute(launcher=launcher, tests=tests, reference=reference or {},
                              reference_run=reference is None, timeout=launcher.limits.timeout)
    node = nbformat.reads(json.dumps(notebook), as_version=4)
    executor.preprocess(node, {"nbgrader": {"student": "trial"}, "metadata": {"path": str(folder)}})
    return LAST_RUN.pop("trial"), node


def reference_outcomes(notebook: dict, folder: Path, tests: dict, launcher: KernelLauncher) -> dict:
    """The outcomes of every case on the course's solution; RuntimeError if the solution does
    not run to the end or fails its own tests' expectations."""
    run = run_notebook(notebook, folder, tests, launcher)
    if run.stopped:
        raise RuntimeError(f"the reference solution {run.stopped}: {run.note}")
    failures = [line for grade_id, test in tests.items()
                for line in judge_test(test, run.outcomes[grade_id], run.outcomes[grade_id]).failures]
    if failures:
        raise RuntimeError("the reference solution fails its own tests:\n" + "\n".join(failures[:10]))
    return run.outcomes


def try_notebooks(solution: Path, submissions: list[Path]) -> None:
    """Run `solution` as the reference, then grade each of `submissions` against it and print
    each test's points and the reason of every failed case."""
    reference_notebook = json.loads(solution.read_text())
    tests = read_tests(reference_notebook)
    with tempfile.TemporaryDirectory() as tmp:
        launcher = KernelLauncher(Limits(timeout=120, wall=1800), None,
                                  nnlib=str(write_library(Path(tmp), solution.parent.name)))
        reference = reference_outcomes(reference_notebook, solution.parent, tests, launcher)
        for path in submissions:
            run = run_notebook(json.loads(path.read_text()), path.parent, tests, launcher, reference)
            earned = sum(verdict.points for verdict in run.verdicts.values())
            print(f"{path}: {earned:g}/{sum(test.points for test in tests.values()):g}"
                  + (f" ({run.stopped}: {run.note})" if run.stopped else ""))
            for grade_id, verdict in run.verdicts.items():
                print(f"  {'pass' if verdict.passed else 'FAIL'}  {grade_id:<32} "
                      f"{verdict.points:g}/{verdict.max_points:g}  {verdict.status}")
                for line in verdict.failures:
                    print("        " + line.replace("\n", "\n        "))


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    try:
        try_notebooks(Path(argv[0]), [Path(arg) for arg in argv[1:]] or [Path(argv[0])])
    except (OSError, ValueError, RuntimeError, TestCellError) as error:
        print(f"trial: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
