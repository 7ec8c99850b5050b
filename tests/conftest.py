"""Shared by the tests: the chapters, reading notebooks; and the rule that a library test whose
nnlib modules the library does not have yet (a class edition's open chapter that the learner has
not exported) is skipped, with the chapter to export as the reason."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from autograder.layout import HERE, nnlib_imports

CHAPTERS = HERE.chapter_names()
# The files that take half a minute or more on 2 cores (pytest --durations), longest first; "*.ipynb"
# stands for the solution notebooks under nbval. They are handed to the workers before the others
# (course.py test keeps this order: --dist loadfile --no-loadscope-reorder), so that no worker ends
# the run alone with one of them while the other has nothing left to do.
LONG_FIRST = ("test_catalogue.py", "test_grade.py", "test_postgres_grading.py", "*.ipynb",
              "test_cnn_accuracy.py", "test_grading.py", "test_release.py", "test_grader_bounds.py",
              "test_learner.py", "test_jail.py", "test_seeds.py")


def read_notebook(path: Path) -> dict:
    return json.loads(path.read_text())


class NotInYourLibraryYet(pytest.File):
    """A test file that needs nnlib modules the library does not have: skipped, saying why."""
    reasons: dict[Path, str] = {}

    def collect(self):
        pytest.skip(self.reasons[self.path])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long files first, in LONG_FIRST's order; each file's tests keep their order."""
    def rank(item: pytest.Item) -> int:
        name = "*.ipynb" if item.path.suffix == ".ipynb" else item.path.name
        return LONG_FIRST.index(name) if name in LONG_FIRST else len(LONG_FIRST)

    items.sort(key=rank)


def pytest_pycollect_makemodule(module_path: Path, parent):
    modules = HERE.modules()
    missing = sorted(module for module in nnlib_imports(module_path, set(modules)) - {"autograder"}
                     if importlib.util.find_spec(f"nnlib.{module}") is None)
    if not missing:
        return None
    chapters = sorted({modules[module] for module in missing})
    NotInYourLibraryYet.reasons[module_path] = (
        f"needs {', '.join('nnlib.' + module for module in missing)}, which your library does not "
        f"have yet: `python3 course.py export {chapters[0][:2].lstrip('0')}` puts your code there")
    return NotInYourLibraryYet.from_parent(parent, path=module_path)
