"""A learner's export of chapter 3 keeps the Module base's protection against a wrong gradient (issue 16, item 1):
one instance called twice in one forward pass, or a backward without a new forward, raises a RuntimeError.

The protection lives in the code chapter 3 gives (the Module cell), so it must reach nnlib/module.py the way a
learner's export writes it. This file imports the tooling (autograder), so it is not one of the library tests that
`course.py export` runs; tests/test_module.py is, and its protection tests are what run here on the export.
"""
import json
import os
import subprocess
import sys

from autograder.authoring.export import collect, module_path, render, write_atomically
from autograder.cells import cell_source
from autograder.layout import HERE

SOLUTION = HERE.root / "solutions" / "03_backprop" / "backprop.ipynb"
LEARNERS = HERE.root / "chapters" / "03_backprop" / "backprop.ipynb"
PROTECTION_TESTS = ("two_places or backward_twice or evaluation_forwards or gradcheck_still or forward_that_raises "
                    "or nested_models or weight_sharing or never_gets_a_wrong_gradient")


def module_cell(notebook) -> str:
    """The source of the notebook's cell that defines the Module base."""
    cells = [cell_source(cell) for cell in json.loads(notebook.read_text())["cells"]
             if cell["cell_type"] == "code" and "\nclass Module:" in cell_source(cell)]
    assert len(cells) == 1, f"{notebook}: {len(cells)} cells define Module"
    return cells[0]


def test_the_learners_notebook_gives_the_same_module_base():
    """What a learner starts from (chapters/) holds the Module base of the solution, protection included."""
    given = module_cell(LEARNERS)
    assert given == module_cell(SOLUTION), "the learner's Module cell differs from the solution's"
    assert "called twice in one forward pass" in given and "already used by a backward" in given


def test_a_learners_export_of_chapter_3_keeps_the_protection(tmp_path):
    """Export chapter 3 as `course.py export 3` does (collect and render the #| export cells of a notebook whose
    exercises are solved), then run tests/test_module.py's protection tests with nnlib finding the export first."""
    for module, cells in collect(SOLUTION).items():
        write_atomically(module_path(tmp_path, module), render(module, cells, ["A learner's export, for a test."]))
    env = {**os.environ, "NNLIB_FIRST": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    where = subprocess.run([sys.executable, "-c", "import nnlib.module, nnlib.layers; "
                            "print(nnlib.module.__file__); print(nnlib.layers.__file__)"],
                           cwd=HERE.root, env=env, capture_output=True, text=True, timeout=60)
    assert where.returncode == 0, where.stderr
    assert where.stdout.split() == [str(tmp_path / "module.py"), str(tmp_path / "layers.py")], \
        f"nnlib did not import the export: {where.stdout}"
    ran = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                          "tests/test_module.py", "-k", PROTECTION_TESTS],
                         cwd=HERE.root, env=env, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-2000:]
    assert " passed" in ran.stdout and "deselected" in ran.stdout, ran.stdout[-500:]
