"""Shared fixtures: the chapters, and one nbgrader course that grades them all."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from autograder.build import IGNORED, SOLUTIONS, nbgrader_api, source_notebooks

CHAPTERS = [path.parent.name for path in source_notebooks()]


def read_notebook(path: Path) -> dict:
    return json.loads(path.read_text())


def cell_source(cell: dict) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory) -> Path:
    """A course where every chapter was submitted twice and autograded by nbgrader:
    by student `solution` (the instructor's notebook) and by `blank` (the untouched learner notebook).
    """
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(SOLUTIONS, course / "source", ignore=IGNORED)
    api = nbgrader_api(course, timeout=120)
    for notebook in source_notebooks():
        chapter = notebook.parent.name
        assert api.generate_assignment(chapter, force=True)["success"]
        for student, submitted in (("solution", notebook),
                                   ("blank", course / "release" / chapter / notebook.name)):
            target = course / "submitted" / student / chapter / notebook.name
            target.parent.mkdir(parents=True)
            shutil.copy(submitted, target)
            result = api.autograde(chapter, student, force=True)
            assert result["success"], result.get("log", "") + result.get("error", "")
    return course
