"""Rules every instructor notebook in solutions/ follows (checked on the source, before nbgrader)."""
import ast
import re

import pytest

from autograder.authoring.build import source_notebooks
from autograder.cells import cell_source, nbgrader_of
from conftest import read_notebook

NOTEBOOKS = source_notebooks()
IDS = [path.parent.name for path in NOTEBOOKS]


def graded_cells(notebook, kind):
    return [(cell["metadata"]["nbgrader"], cell_source(cell)) for cell in notebook["cells"]
            if nbgrader_of(cell).get(kind)]


def test_there_are_chapters():
    assert NOTEBOOKS, "solutions/ holds no chapter notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_chapter_layout(path):
    assert re.fullmatch(r"\d\d_[a-z0-9_]+", path.parent.name), \
        f"chapter folders are named NN_name, not {path.parent.name}"
    assert len(list(path.parent.glob("*.ipynb"))) == 1, f"{path.parent} must hold one notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_outputs_are_stored(path):
    stored = [i for i, cell in enumerate(read_notebook(path)["cells"], start=1)
              if cell.get("outputs") or cell.get("execution_count")]
    assert not stored, f"{path.name}: cells {stored} store outputs (clear them before committing)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_exercise_has_solution_markers(path):
    notebook = read_notebook(path)
    solutions = graded_cells(notebook, "solution")
    assert solutions, f"{path.name} has no exercises"
    for meta, source in solutions:
        assert "### BEGIN SOLUTION" in source and "### END SOLUTION" in source, \
            f"{path.name}: exercise {meta['grade_id']} has no ### BEGIN/END SOLUTION region"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_graded_cell_has_points_and_hidden_tests(path):
    notebook = read_notebook(path)
    tests = graded_cells(notebook, "grade")
    assert tests, f"{path.name} has no graded test cells"
    ids = [meta["grade_id"] for meta, _ in graded_cells(notebook, "grade") +
           graded_cells(notebook, "solution")]
    assert len(ids) == len(set(ids)), f"{path.name}: grade_ids are not unique: {sorted(ids)}"
    for meta, source in tests:
        assert meta.get("points", 0) > 0, f"{path.name}: {meta['grade_id']} is worth no points"
        assert "### BEGIN HIDDEN TESTS" in source and "### END HIDDEN TESTS" in source, \
            f"{path.name}: {meta['grade_id']} has no hidden tests"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_asserts_do_not_trust_equality(path):
    """`assert x == y` is fooled by an object whose __eq__ always returns True: use assert_close."""
    for meta, source in graded_cells(read_notebook(path), "grade"):
        code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("%"))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Assert):
                for compare in ast.walk(node.test):
                    assert not (isinstance(compare, ast.Compare) and any(
                        isinstance(op, (ast.Eq, ast.NotEq)) for op in compare.ops)), \
                        f"{path.name}: {meta['grade_id']} line {node.lineno} asserts with == or !=; " \
                        "use nnlib.testing.assert_close"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_only_illustrations_are_skipped_when_grading(path):
    """A cell tagged skip-when-grading is a plain code cell, never an exercise, a test or library
    code (`#| export`), which later cells need."""
    wrong = [number for number, cell in enumerate(read_notebook(path)["cells"], start=1)
             if "skip-when-grading" in cell["metadata"].get("tags", []) and (
                 cell["cell_type"] != "code" or nbgrader_of(cell)
                 or cell_source(cell).lstrip().startswith(("#| export", "#| default_exp")))]
    assert not wrong, f"{path.name}: cells {wrong} are tagged skip-when-grading but are not illustrations"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_cell_imports_the_answers(path):
    """No cell imports a module of its own chapter or a later one: those hold the answers, and
    are not importable while the chapter is checked or graded (a `#| library` line is a comment
    here, code in the exported module)."""
    from autograder.layout import HERE

    chapter = path.parent.name
    later = {module for module, owner in HERE.modules().items() if owner >= chapter}
    for number, cell in enumerate(read_notebook(path)["cells"], start=1):
        if cell["cell_type"] != "code":
            continue
        code = "\n".join(line for line in cell_source(cell).splitlines() if not line.lstrip().startswith("%"))
        for node in ast.walk(ast.parse(code)):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                module = name.removeprefix("nnlib.")
                assert not (name.startswith("nnlib.") and module in later), \
                    f"{path.name}, cell {number}: imports nnlib.{module}, which holds answers of chapter " \
                    f"{chapter} or later"


def numeric(expect) -> bool:
    """Whether an expectation judges some real number (None: the reference's result, which the
    lint cannot see, counts)."""
    import numbers

    import numpy as np

    from nnlib.testing import Predicate

    if expect is None or isinstance(expect, Predicate):
        return True
    if isinstance(expect, dict):
        return any(numeric(value) for value in expect.values())
    if isinstance(expect, (list, tuple)):
        return any(numeric(value) for value in expect)
    if isinstance(expect, np.ndarray):
        return expect.dtype.kind in "iuf"
    return isinstance(expect, numbers.Real) and not isinstance(expect, (bool, np.bool_))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_test_cells_are_probes_and_cases_the_judge_can_read(path):
    """Every test cell reads in the grader's process (its top-level code names nothing of the
    notebook), has visible cases with expectations and hidden cases, and asserts nothing
    itself: only its probe_* functions will run in the learner's kernel."""
    from autograder.execution.probes import read_tests

    tests = read_tests(read_notebook(path))
    for grade_id, test in tests.items():
        assert any(not case.hidden for case in test.cases), f"{grade_id} has no visible case"
        assert any(case.hidden and numeric(case.expect) for case in test.cases), \
            f"{grade_id}: no hidden case is judged on numbers (booleans a learner's code reports " \
            "about itself are not enough)"
        assert "def probe" in test.definitions, grade_id
    for meta, source in graded_cells(read_notebook(path), "grade"):
        tree = ast.parse(source)
        assert not any(isinstance(node, ast.Assert) for node in tree.body), \
            f"{path.name}: {meta['grade_id']} asserts at its top level, which runs in the grader's process"
