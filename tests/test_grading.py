"""Every chapter through nbgrader's real autograde: the solution scores full marks, the blank
learner notebook scores 0 on every graded cell, and it fails only at its exercises."""
import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.api import Gradebook

from autograder.build import SOLUTIONS
from autograder.cells import not_run_when_grading
from conftest import CHAPTERS, read_notebook


def grades(course, chapter, student):
    """{grade_id: (score, max_score)} of one autograded submission."""
    notebook = next((course / "source" / chapter).glob("*.ipynb")).stem
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission_notebook(notebook, chapter, student)
        return {grade.name: (grade.score, grade.max_score) for grade in submission.grades}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_solution_scores_full_marks(graded_course, chapter):
    result = grades(graded_course, chapter, "solution")
    assert result, f"{chapter} has no graded cells"
    lost = {name: score for name, score in result.items() if score[0] != score[1]}
    assert not lost, f"the solution of {chapter} loses points in {lost}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_blank_notebook_scores_zero_on_every_graded_cell(graded_course, chapter):
    scored = {name: score for name, score in grades(graded_course, chapter, "blank").items()
              if score[0] != 0}
    assert not scored, f"the blank learner notebook of {chapter} earns points in {scored}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_blank_notebook_fails_only_at_its_exercises(graded_course, chapter):
    """Run top to bottom, the only errors are the stubs' NotImplementedError."""
    path = next((graded_course / "autograded" / "blank" / chapter).glob("*.ipynb"))
    other_errors = [
        (number, output["ename"], output["evalue"])
        for number, cell in enumerate(read_notebook(path)["cells"], start=1)
        for output in cell.get("outputs", [])
        if output["output_type"] == "error" and output["ename"] != "NotImplementedError"]
    assert not other_errors, f"the blank notebook of {chapter} fails outside its exercises " \
                             f"(cell number, error, message): {other_errors}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_what_the_grader_runs_of_the_solution_needs_nothing_it_skips(chapter):
    """The grader and `check` skip the illustrations (tagged skip-when-grading) and what follows
    the last test. The rest of the solution, hidden tests included, runs without an error."""
    path = next((SOLUTIONS / chapter).glob("*.ipynb"))
    notebook = nbformat.read(path, as_version=4)
    skipped = not_run_when_grading(notebook.cells)
    notebook.cells = [cell for index, cell in enumerate(notebook.cells) if index not in skipped]
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [(cell.source.splitlines()[0], output["ename"], output["evalue"])
              for cell in notebook.cells for output in cell.get("outputs", [])
              if output["output_type"] == "error"]
    assert not errors, f"without the cells the grader skips, {chapter} fails: {errors}"
