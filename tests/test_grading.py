"""Every chapter through the real grading path (`course.py grade`, jailed): the solution scores
full marks, the blank learner notebook scores 0 on every test and fails only at its exercises
(every error, and every case's outcome, is a stub's NotImplementedError)."""
import json
import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.grading import grade as grading
from autograder.authoring.build import blank_release
from autograder.layout import HERE
from autograder.cells import is_graded, not_run_when_grading
from autograder.execution.library import write_library
from autograder.execution.probes import read_tests
from autograder.execution.sandbox import KernelLauncher, Limits
from autograder.execution.trial import run_notebook
from conftest import CHAPTERS, read_notebook



@pytest.fixture(scope="module", params=CHAPTERS)
def graded(request, tmp_path_factory):
    """(chapter, output folder) of a grading run of the solution and the blank notebook."""
    chapter = request.param
    root = tmp_path_factory.mktemp(chapter)
    solution = next((HERE.solutions / chapter).glob("*.ipynb"))
    (root / "subs" / "solution").mkdir(parents=True)
    shutil.copy(solution, root / "subs" / "solution" / solution.name)
    (root / "subs" / "blank").mkdir()  # the release made from solutions/, never a learner's chapters/
    (root / "subs" / "blank" / solution.name).write_text(blank_release(chapter))
    grading.grade(chapter, root / "subs", root / "out", workers=2, limits=Limits(timeout=120))
    return chapter, root / "out"


def results(out, student):
    return json.loads((out / "results" / f"{student}.json").read_text())["exercises"]


def test_solution_scores_full_marks(graded):
    chapter, out = graded
    rows = results(out, "solution")
    assert rows, f"{chapter} has no graded cells"
    # (its test cells hold the hidden blocks: the grader notes them as edited, and judges its own)
    lost = [row for row in rows if row["points"] != row["max_points"]
            or row["status"] not in ("graded", "test cell restored")]
    assert not lost, f"the solution of {chapter} loses points: {lost}"


def test_blank_notebook_scores_zero_and_fails_only_at_its_exercises(graded):
    """Scored 0 on every test; in the jail, every error of a plain or exercise cell and every
    visible case's failure is a stub's NotImplementedError."""
    chapter, out = graded
    rows = results(out, "blank")
    assert [(row["points"], row["status"]) for row in rows] == [(0, "graded")] * len(rows), rows
    path = next((out / "nbgrader" / "autograded" / "blank" / chapter).glob("*.ipynb"))
    other_errors = []
    for number, cell in enumerate(read_notebook(path)["cells"], start=1):
        test = is_graded(cell)
        for output in cell.get("outputs", []):
            if output["output_type"] != "error":
                continue
            if test:
                visible = [line for line in output["evalue"].splitlines()[1:] if line.startswith("  ")]
                other_errors += [(number, line) for line in visible if "NotImplementedError" not in line]
            elif output["ename"] != "NotImplementedError":
                other_errors.append((number, output["ename"], output["evalue"]))
    assert not other_errors, f"the blank notebook of {chapter} fails outside its exercises: {other_errors}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_case_of_the_blank_notebook_stops_at_a_stub(chapter, tmp_path):
    """Hidden cases too: a probe run on the blank notebook raises NotImplementedError or nothing
    (a case such as "zero epochs" never reaches a stub)."""
    solution = next((HERE.solutions / chapter).glob("*.ipynb"))
    tests = read_tests(read_notebook(solution))
    launcher = KernelLauncher(Limits(timeout=120, wall=1800), None,
                              nnlib=str(write_library(tmp_path / "lib", chapter)))
    run = run_notebook(json.loads(blank_release(chapter)), tmp_path, tests, launcher)
    wrong = {grade_id: outcome for grade_id, outcomes in run.outcomes.items() for outcome in outcomes
             if outcome[0] == "raised" and outcome[1] != "NotImplementedError"}
    assert not run.stopped and not wrong, wrong


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_what_the_grader_runs_of_the_solution_needs_nothing_it_skips(chapter):
    """The grader and `check` skip the illustrations (tagged skip-when-grading) and what follows
    the last test. The rest of the solution, hidden tests included, runs without an error."""
    path = next((HERE.solutions / chapter).glob("*.ipynb"))
    notebook = nbformat.read(path, as_version=4)
    skipped = not_run_when_grading(notebook.cells)
    notebook.cells = [cell for index, cell in enumerate(notebook.cells) if index not in skipped]
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [(cell.source.splitlines()[0], output["ename"], output["evalue"])
              for cell in notebook.cells for output in cell.get("outputs", [])
              if output["output_type"] == "error"]
    assert not errors, f"without the cells the grader skips, {chapter} fails: {errors}"
