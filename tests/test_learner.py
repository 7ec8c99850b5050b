"""The learner's commands on a tiny chapter: check runs the learner's notebook with the course's
tests, export refuses failing work and never loses the previous module, restore puts it back."""
import json
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from autograder import learner
from autograder.layout import HERE, Course
from autograder.authoring import build
from autograder.cells import grade_id_of, is_graded, is_solution, not_run_when_grading
from autograder.authoring.nbtext import pack, write_notebook

NNLIB = HERE.package  # the course's nnlib (the fixtures build other courses)
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
def course(tmp_path):
    """A course with one chapter, built; the learner's notebook is work/01_tiny/tiny.ipynb."""
    return make_course(tmp_path, CHAPTER)


def make_course(tmp_path, chapter: str):
    """The course of one chapter, `chapter` (in nbtext's format), built in tmp_path."""
    (tmp_path / "solutions" / "01_tiny").mkdir(parents=True)
    (tmp_path / "nnlib").mkdir()
    for name in ("__init__.py", "testing.py", "plaindata.py"):  # the hand-written modules tests need
        shutil.copy(NNLIB / name, tmp_path / "nnlib" / name)
    write_notebook(pack(chapter, "tiny"), tmp_path / "solutions" / "01_tiny" / "tiny.ipynb")
    assert build.build(course=Course(tmp_path))
    return tmp_path


def learner_notebook(course):
    return course / "work" / "01_tiny" / "tiny.ipynb"


def edit(course, change):
    """Apply `change(cells)` to the learner's notebook (made from the release first, if need be)."""
    learner.start_work(Course(course))
    path = learner_notebook(course)
    notebook = json.loads(path.read_text())
    change(notebook["cells"])
    path.write_text(json.dumps(notebook))


def solve(cells):
    for cell in cells:
        if is_solution(cell):
            cell["source"] = "#| export\ndef double(x: float) -> float:\n    return x + x\n"


def imported_from(course) -> str:
    """The file `import nnlib.tiny` runs in a fresh interpreter with this course's nnlib."""
    code = f"import sys; sys.path.insert(0, {str(course)!r}); import nnlib.tiny; print(nnlib.tiny.__file__)"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=course).stdout.strip()


def test_blank_chapter_fails_check_and_export_changes_nothing(course, capsys):
    reference = (course / "nnlib" / "tiny.py").read_text()
    assert not learner.check("1", course=Course(course))
    out = capsys.readouterr().out
    assert "not done yet" in out and "your notebook of 01_tiny: work/01_tiny/tiny.ipynb" in out
    assert learner_notebook(course).read_text() == (course / "chapters" / "01_tiny" / "tiny.ipynb").read_text()
    assert not learner.export("1", course=Course(course))
    assert "Not exported: first make these pass: test_double" in capsys.readouterr().out
    assert (course / "nnlib" / "tiny.py").read_text() == reference
    assert not (course / "work" / "nnlib").exists()


def test_an_export_goes_to_work_is_imported_first_and_is_never_lost(course, capsys):
    reference = (course / "nnlib" / "tiny.py").read_text()
    assert imported_from(course) == str(course / "nnlib" / "tiny.py")
    edit(course, solve)
    assert learner.export("tiny", course=Course(course))
    mine = course / "work" / "nnlib" / "tiny.py"
    assert mine.read_text().startswith("# Generated from work/01_tiny/tiny.ipynb: your own code, exported")
    assert "return x + x" in mine.read_text()
    assert (course / "nnlib" / "tiny.py").read_text() == reference  # the course's file is untouched
    assert imported_from(course) == str(mine)
    assert "Restart the kernel" in capsys.readouterr().out
    first = mine.read_text()
    assert learner.export("tiny", course=Course(course))  # again: the first export is kept
    assert [path.read_text() for path in (course / "work" / "backups").iterdir()] == [first]
    assert build.build(course=Course(course)) and mine.exists()  # the course's build never touches work/
    assert learner.restore("all", course=Course(course))
    assert "your code is kept in work/backups/tiny." in capsys.readouterr().out
    assert not mine.exists() and len(list((course / "work" / "backups").iterdir())) == 2
    assert imported_from(course) == str(course / "nnlib" / "tiny.py")


def test_work_from_before_work_existed_is_copied_into_work(course, capsys):
    """A learner who worked in chapters/ and exported into nnlib/ finds both in work/."""
    release = course / "chapters" / "01_tiny" / "tiny.ipynb"
    notebook = json.loads(release.read_text())
    solve(notebook["cells"])
    release.write_text(json.dumps(notebook))
    old_export = "# Generated from chapters/01_tiny/tiny.ipynb: your own code, exported 2026-01-01.\nx = 1\n"
    (course / "nnlib" / "tiny.py").write_text(old_export)
    learner.start_work(Course(course))
    assert json.loads(learner_notebook(course).read_text()) == notebook
    assert (course / "work" / "nnlib" / "tiny.py").read_text() == old_export
    out = capsys.readouterr().out
    assert "a copy of your work in chapters/01_tiny/tiny.ipynb" in out and "git checkout nnlib/tiny.py" in out
    learner_notebook(course).write_text("{}")  # from now on, work/ is never written over
    learner.start_work(Course(course))
    assert learner_notebook(course).read_text() == "{}"


def test_a_module_without_a_reference_is_never_restored_away(course, capsys):
    """In a class edition, an open chapter's module has no reference: restore keeps the export."""
    edit(course, solve)
    assert learner.export("1", course=Course(course))
    (course / "nnlib" / "tiny.py").unlink()
    assert learner.restore("tiny", course=Course(course)) and learner.restore("all", course=Course(course))
    assert "kept as it is" in capsys.readouterr().out
    assert (course / "work" / "nnlib" / "tiny.py").exists()
    assert learner.owner("tiny", course=Course(course)) == "yours"


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
            if is_graded(cell):
                cell["source"] = "pass"

    edit(course, gut_tests)
    assert not learner.check("1", course=Course(course)), "an emptied test cell must not make a blank exercise pass"
    edit(course, lambda cells: cells[:] and [cells.pop(i) for i in reversed(range(len(cells)))
                                             if is_graded(cells[i])])
    results = learner.run_checks("01_tiny", course=Course(course))
    assert [(r.grade_id, r.passed) for r in results] == [("test_double", False)]


def test_hidden_tests_stay_hidden_from_the_learners_check(course):
    learner.start_work(Course(course))
    release = json.loads((course / "chapters" / "01_tiny" / "tiny.ipynb").read_text())
    learner_nb = json.loads(learner_notebook(course).read_text())
    checked = learner.with_course_tests(learner_nb, release)
    assert "-8.0" not in json.dumps(checked) and "HIDDEN" not in json.dumps(checked)


def test_build_moves_a_learners_work_aside_before_replacing_it(course, capsys):
    notebook = course / "chapters" / "01_tiny" / "tiny.ipynb"  # worked in, as before work/ existed
    worked = json.loads(notebook.read_text())
    solve(worked["cells"])
    notebook.write_text(json.dumps(worked))
    worked = notebook.read_text()
    solution = course / "solutions" / "01_tiny" / "tiny.ipynb"
    solution.write_text(solution.read_text().replace("Twice x.", "Two times x."))
    assert build.build(course=Course(course))
    [backup] = notebook.parent.glob("tiny.backup-*.ipynb")
    assert backup.read_text() == worked
    assert "Two times x." in notebook.read_text()


def test_unknown_chapter_or_module_is_named(course):
    with pytest.raises(learner.LearnerError, match="No chapter '7'"):
        learner.check("7", course=Course(course))
    assert not learner.restore("nonexistent", course=Course(course))


# The learner's loop tells the truth: a timeout, an exercise that does not run, an exception in
# the learner's code, an export that would break the library: each said where it happens.

TWO_EXERCISES = """\
%% code
#| default_exp tiny
from nnlib.testing import check

%% code
def double(x):  # a sketch, as chapter 2's section 1 sketches Value: the exercise replaces it
    return 2 * x

%% solution id=double
#| export
def double(x: float) -> float:
    \"\"\"Twice x.\"\"\"
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION

%% tests id=test_double points=2
def probe_double(x):
    return {"y": double(x)}

check(probe_double, {"x": 1.5}, expect={"y": 3.0})

%% solution id=half
#| export
def half(x: float) -> float:
    \"\"\"Half of x.\"\"\"
    ### BEGIN SOLUTION
    return x / 2
    ### END SOLUTION

%% tests id=test_half points=1
def probe_half(x):
    return {"y": half(x)}

check(probe_half, {"x": 3.0}, expect={"y": 1.5})
"""
LIBRARY_TEST = """\
from nnlib.tiny import double, half


def test_double_of_a_big_number():
    assert double(1e6) == 2e6


def test_half_of_a_big_number():
    assert half(1e6) == 5e5
"""


@pytest.fixture
def two(tmp_path):
    """A course whose chapter has two exercises after a sketch of the first, and a library test."""
    root = make_course(tmp_path, TWO_EXERCISES)
    (root / "tests").mkdir()
    (root / "tests" / "test_tiny.py").write_text(LIBRARY_TEST)
    return root


def answer(exercise: str, code: str):
    """A change for `edit`: the exercise cell `exercise` holds `code`."""
    def change(cells):
        for cell in cells:
            if grade_id_of(cell) == exercise:
                cell["source"] = code
    return change


def messages(results) -> dict:
    return {result.grade_id: (result.passed, result.message) for result in results}


@pytest.mark.parametrize("code, stopped_at", [
    ("#| export\nwhile True:\n    pass\n", "double"),  # the exercise's cell runs forever
    ("#| export\ndef double(x):\n    while True:\n        pass\n", "test_double"),  # its test does
])
def test_a_timeout_is_reported_at_its_exercise_and_the_rest_is_listed(two, capsys, code, stopped_at):
    edit(two, answer("double", code))
    started = time.monotonic()
    assert not learner.check("1", timeout=3, course=Course(two))
    assert time.monotonic() - started < 60
    out = capsys.readouterr().out
    found = messages(learner.run_checks("01_tiny", timeout=3, course=Course(two)))
    where = "timed out at double: " if stopped_at == "double" else "timed out: "
    assert found["test_double"] == (False, where + "ran longer than 3 s (an endless loop? "
                                                   "`--timeout SECONDS` allows more)")
    assert found["test_half"] == (False, f"not run: the notebook stopped at {stopped_at} (timed out)")
    assert "test_half" in out and "Traceback" not in out and "CellTimeoutError" not in out


def test_status_goes_on_after_a_timeout(two, capsys):
    edit(two, answer("double", "#| export\nwhile True:\n    pass\n"))
    assert learner.status(timeout=3, course=Course(two))
    out = capsys.readouterr().out
    assert "01_tiny: 0/2 tests pass" in out and "to do: test_half" in out


@pytest.mark.parametrize("code, error, line", [
    ("#| export\ndef double(x: float) -> float:\n    return x +\n", "SyntaxError", "line 3 of its cell: return x +"),
    ("#| export\ndef double(x: float) -> float:\nreturn x + x\n", "IndentationError",
     "line 3 of its cell: return x + x"),
    ("#| export\nSCALE = undefined_scale\ndef double(x):\n    return SCALE * x\n",
     "NameError: name 'undefined_scale' is not defined", "line 2 of its cell: SCALE = undefined_scale"),
])
def test_an_exercise_that_does_not_run_is_reported_there_not_by_the_sketch(two, code, error, line):
    """The sketch of double would pass its test: the exercise's own error is what check says."""
    edit(two, answer("double", code))
    passed, message = messages(learner.run_checks("01_tiny", timeout=30, course=Course(two)))["test_double"]
    assert not passed
    assert message.startswith(f"your exercise double did not run to its end: {error}")
    assert message.endswith(line)


def test_an_exception_in_the_learners_code_shows_its_line(two):
    edit(two, answer("double", "#| export\ndef double(x):\n    y = 2 * x\n    return y.missing\n"))
    passed, message = messages(learner.run_checks("01_tiny", timeout=30, course=Course(two)))["test_double"]
    assert not passed
    assert "the probe raised AttributeError: 'float' object has no attribute 'missing'" in message
    assert "raised in double, line 4 of its cell: return y.missing" in message


def test_export_runs_the_library_tests_first_and_refuses_a_module_that_fails_them(two, capsys):
    edit(two, answer("half", "#| export\ndef half(x):\n    return x / 2\n"))
    edit(two, answer("double", "#| export\ndef double(x):\n    return 2 * x if abs(x) < 100 else 0.0\n"))
    assert learner.check("1", course=Course(two))  # the visible tests pass
    assert not learner.export("1", course=Course(two))
    out = capsys.readouterr().out
    assert "Not exported: the library's tests fail on your code" in out
    assert "tests/test_tiny.py::test_double_of_a_big_number" in out and "Your library is unchanged" in out
    assert not (two / "work" / "nnlib").exists()
    edit(two, answer("double", "#| export\ndef double(x):\n    return 2 * x\n"))
    assert learner.export("1", course=Course(two))
    assert "the library's tests pass on your code (tests/test_tiny.py)" in capsys.readouterr().out
    assert "return 2 * x\n" in (two / "work" / "nnlib" / "tiny.py").read_text()
    edit(two, answer("half", "#| export\ndef half(x):\n    return x / 2 if x < 10 else 0.0\n"))
    assert not learner.export("1", course=Course(two))  # the previous export stays
    assert "test_half_of_a_big_number" in capsys.readouterr().out
    assert "abs(x) < 10" not in (two / "work" / "nnlib" / "tiny.py").read_text()
    assert not (two / "work" / "backups").exists()


def test_an_export_no_library_test_covers_says_so(course, capsys):
    edit(course, solve)
    assert learner.export("1", course=Course(course))
    assert "no library test in tests/ covers nnlib.tiny: exported without one" in capsys.readouterr().out


def test_messages_show_values_and_shapes_as_they_are():
    from autograder.execution.judge import judge_test
    from autograder.execution.probes import read_test_cell
    from nnlib.testing import compare

    [mismatch] = compare([1.0, 2.0], [1.0, 3.0], where="at a = 2, b = -3, c = 10, f = -2")
    assert mismatch.detail.startswith("at a = 2, b = -3, c = 10, f = -2; at index [1]: got 2.0, expected 3.0 (")
    [mismatch] = compare({"g": [1.0, 2.0]}, {"g": [1.0, 3.0]})
    assert mismatch.where == "result['g'][1]" and mismatch.detail.startswith("result['g'][1]: got 2.0, expected 3.0")
    [mismatch] = compare(np.zeros((2, 3)), np.ones((2, 3)), where="W")
    assert "worst at index (0, 0): got 0.0, expected 1.0" in mismatch.detail
    [mismatch] = compare(np.zeros(np.int64(2)), np.ones((2, 3)), where="W")
    assert mismatch.detail == "W: expected shape (2, 3), got shape (2,)"
    assert compare((3, 4), (3, 4)) == [] and compare([3.0, 4.0], (3, 4)) == []
    test = read_test_cell("test_shape", 1, 'def probe_shape(n):\n    return {"grad_W.shape": (n, 3)}\n\n'
                                           'check(probe_shape, {"n": 4}, expect={"grad_W.shape": (3, 4)})\n')
    verdict = judge_test(test, [("returned", {"grad_W.shape": (4, 3)})], None)
    assert verdict.failures == ["case 1: probe_shape(n=4)\n  result['grad_W.shape']: expected (3, 4), got (4, 3)"]
    hidden = judge_test(test, [("returned", {"grad_W.shape": (np.int64(4), 3)})], None)
    assert "(4, 3)" in hidden.failures[0]
