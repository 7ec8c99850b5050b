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


def read_notebook(path: Path) -> dict:
    return json.loads(path.read_text())


class NotInYourLibraryYet(pytest.File):
    """A test file that needs nnlib modules the library does not have: skipped, saying why."""
    reasons: dict[Path, str] = {}

    def collect(self):
        pytest.skip(self.reasons[self.path])


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
