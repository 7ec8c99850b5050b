"""The learner's commands on a tiny chapter: check runs the learner's notebook with the course's
tests, export refuses failing work and never loses the previous module, restore puts it back."""
import json
import shutil

import pytest

from autograder import build, learner
from autograder.cells import not_run_when_grading
from autograder.nbtext import pack, write_notebook

NNLIB = build.PACKAGE  # the course's nnlib (the fixture points build.PACKAGE elsewhere)
CHAPTER = """\
%% code
#| default_exp tiny
#| export
import numpy as np

%% code
from nnlib.testing import check

%% solution id=double
#| export
def double(x: float) -> float:
    \"\"\"Twice x.\"\"\"
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION

%% code tags=skip-when-grading
double = lambda x: 0.0  # an illustration check skips: were it run, test_double would fail

%% tests id=test_double points=2
def probe_double(x):
    return {"y": double(x)}

check(probe_double, {"x": 1.5}, expect={"y": 3.0})
### BEGIN HIDDEN TESTS
check(probe_double, {"x": -4.0}, expect={"y": -8.0})
### END HIDDEN TESTS
"""


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course with one chapter, built; the learner's notebook is chapters/01_tiny/tiny.ipynb."""
    for module in (build, learner):
        monkeypatch.setattr(module, "ROOT", tmp_path)
        monkeypatch.setattr(module, "SOLUTIONS", tmp_path / "solutions")
        monkeypatch.setattr(module, "CHAPTERS", tmp_path / "chapters")
        monkeypatch.setattr(module, "PACKAGE", tmp_path / "nnlib")
    monkeypatch.setattr(learner, "BACKUPS", tmp_path / "nnlib" / ".backup")
    (tmp_path / "solutions" / "01_tiny").mkdir(parents=True)
    (tmp_path / "nnlib").mkdir()
    for name in ("__init__.py", "testing.py", "plaindata.py"):  # the hand-written modules tests need
        shutil.copy(NNLIB / name, tmp_path / "nnlib" / name)
    write_notebook(pack(CHAPTER, "tiny"), tmp_path / "solutions" / "01_tiny" / "tiny.ipynb")
    assert build.build()
    return tmp_path


def learner_notebook(course):
    return course / "chapters" / "01_tiny" / "tiny.ipynb"


def edit(course, change):
    """Apply `change(cells)` to the learner's notebook."""
    path = learner_notebook(course)
    notebook = json.loads(path.read_text())
    change(notebook["cells"])
    path.write_text(json.dumps(notebook))


def solve(cells):
    for cell in cells:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = "#| export\ndef double(x: float) -> float:\n    return x + x\n"


def test_blank_chapter_fails_check_and_export_changes_nothing(course, capsys):
    reference = (course / "nnlib" / "tiny.py").read_text()
    assert not learner.check("1")
    assert "not done yet" in capsys.readouterr().out
    assert not learner.export("1")
    assert "Not exported: first make these pass: test_double" in capsys.readouterr().out
    assert (course / "nnlib" / "tiny.py").read_text() == reference


def test_solved_chapter_exports_the_learners_code_and_keeps_the_old_module(course, capsys):
    reference = (course / "nnlib" / "tiny.py").read_text()
    edit(course, solve)
    assert learner.export("tiny")
    module = (course / "nnlib" / "tiny.py").read_text()
    assert module.startswith("# Generated from chapters/01_tiny/tiny.ipynb: your own code, exported")
    assert "return x + x" in module
    [backup] = (course / "nnlib" / ".backup").iterdir()
    assert backup.read_text() == reference
    # The build keeps the learner's module, and restore puts the reference back.
    assert build.build()
    assert "return x + x" in (course / "nnlib" / "tiny.py").read_text()
    assert learner.restore("all")
    assert (course / "nnlib" / "tiny.py").read_text() == reference


def test_check_skips_what_the_grader_skips():
    """Illustrations tagged skip-when-grading and what follows the last test do not run; a tag on
    an exercise or a test cell is ignored, and so are malformed metadata and tags."""
    def cell(nbgrader=None, tags=None):
        metadata = {} if nbgrader is None else {"nbgrader": nbgrader}
        if tags is not None:
            metadata["tags"] = tags
        return {"cell_type": "code", "metadata": metadata, "source": "pass"}

    skip = ["skip-when-grading"]
    cells = [cell(), cell(tags=skip), cell({"solution": True}, skip), cell(tags="skip-when-grading"),
             {"cell_type": "code", "metadata": None, "source": ""}, cell({"grade": True}, skip),
             cell(tags=["other"]), cell(tags=skip)]
    assert not_run_when_grading(cells) == {1, 6, 7}
    assert not_run_when_grading([cell(), cell()]) == {0, 1}  # nothing to grade: nothing runs


def test_edited_or_deleted_test_cells_are_put_back(course):
    def gut_tests(cells):
        for cell in cells:
            if cell["metadata"].get("nbgrader", {}).get("grade"):
                cell["source"] = "pass"

    edit(course, gut_tests)
    assert not learner.check("1"), "an emptied test cell must not make a blank exercise pass"
    edit(course, lambda cells: cells[:] and [cells.pop(i) for i in reversed(range(len(cells)))
                                             if cells[i]["metadata"].get("nbgrader", {}).get("grade")])
    results = learner.run_checks("01_tiny")
    assert [(r.grade_id, r.passed) for r in results] == [("test_double", False)]


def test_hidden_tests_stay_hidden_from_the_learners_check(course):
    reference = json.loads((course / "solutions" / "01_tiny" / "tiny.ipynb").read_text())
    learner_nb = json.loads(learner_notebook(course).read_text())
    checked = learner.with_course_tests(learner_nb, reference)
    assert "-8.0" not in json.dumps(checked) and "HIDDEN" not in json.dumps(checked)


def test_build_moves_a_learners_work_aside_before_replacing_it(course, capsys):
    edit(course, solve)
    notebook = learner_notebook(course)
    worked = notebook.read_text()
    solution = course / "solutions" / "01_tiny" / "tiny.ipynb"
    solution.write_text(solution.read_text().replace("Twice x.", "Two times x."))
    assert build.build()
    [backup] = notebook.parent.glob("tiny.backup-*.ipynb")
    assert backup.read_text() == worked
    assert "Two times x." in notebook.read_text()


def test_unknown_chapter_or_module_is_named(course):
    with pytest.raises(SystemExit, match="No chapter '7'"):
        learner.check("7")
    assert not learner.restore("nonexistent")
