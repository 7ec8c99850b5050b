"""The exporter turns `#| export` cells into modules, and refuses what it cannot export."""
import pytest

from autograder.authoring.export import ExportError, collect, render, write_atomically
from autograder.authoring.nbtext import pack, write_notebook

NOTEBOOK = """\
%% code
#| default_exp things
#| export
import math

%% md
Some prose.

%% code
print("not exported")

%% solution id=square
#| export
def square(x: float) -> float:
    ### BEGIN SOLUTION
    return x * x
    ### END SOLUTION

%% code
#| export extra
TWO = 2
"""


def write(tmp_path, text):
    path = tmp_path / "nb.ipynb"
    write_notebook(pack(text, "nb"), path)
    return path


def test_collects_export_cells_per_module_without_markers(tmp_path):
    modules = collect(write(tmp_path, NOTEBOOK))
    assert sorted(modules) == ["extra", "things"]
    assert modules["things"] == ["import math", "def square(x: float) -> float:\n    return x * x"]
    assert modules["extra"] == ["TWO = 2"]


def test_rendered_module_runs_and_carries_its_header(tmp_path):
    text = render("things", collect(write(tmp_path, NOTEBOOK))["things"], ["Generated from nb."])
    assert text.startswith("# Generated from nb.\n")
    namespace = {}
    exec(text, namespace)
    assert namespace["square"](3.0) == 9.0


def test_export_before_default_exp_is_an_error(tmp_path):
    with pytest.raises(ExportError, match="default_exp"):
        collect(write(tmp_path, "%% code\n#| export\nx = 1\n"))


def test_hidden_tests_are_never_exported(tmp_path):
    text = "%% code\n#| default_exp m\n#| export\n### BEGIN HIDDEN TESTS\nx = 1\n### END HIDDEN TESTS\n"
    with pytest.raises(ExportError, match="hidden tests"):
        collect(write(tmp_path, text))


def test_invalid_python_is_an_error_naming_the_module(tmp_path):
    with pytest.raises(ExportError, match="nnlib.things"):
        render("things", ["def broken(:"], ["header"])


def test_atomic_write_replaces_the_whole_file(tmp_path):
    path = tmp_path / "pkg" / "mod.py"
    write_atomically(path, "old\n")
    write_atomically(path, "new\n")
    assert path.read_text() == "new\n"
    assert [p.name for p in path.parent.iterdir()] == ["mod.py"]
    assert path.stat().st_mode & 0o044, "a generated module must be readable by others"
