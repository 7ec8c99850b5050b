"""Shared helpers: the chapters, and reading notebooks."""
from __future__ import annotations

import json
from pathlib import Path

from autograder.build import source_notebooks

CHAPTERS = [path.parent.name for path in source_notebooks()]


def read_notebook(path: Path) -> dict:
    return json.loads(path.read_text())


def cell_source(cell: dict) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source
