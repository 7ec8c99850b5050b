"""Turn a notebook's `#| export` cells into nnlib modules (nbdev's directives, in a few lines).

Directives, on the first lines of a code cell:

    #| default_exp derivatives    this notebook exports to nnlib/derivatives.py by default
    #| export                     this cell goes into the default module
    #| export graph               this cell goes into nnlib/graph.py

and, on a line of its own anywhere in an exported cell:

    #| library from nnlib.engine import Value

a line of the module that is only a comment in the notebook: there, the cells above define
`Value` (the learner's own), and the chapter's own modules are not importable while it is
checked or graded (they hold its answers).

nbgrader's solution markers are dropped; the code between them is kept.
"""
from __future__ import annotations

import ast
import json
import os
import re
import tempfile
from pathlib import Path

from autograder.cells import HIDDEN_MARKER, SOLUTION_MARKER, cell_source

DIRECTIVE = re.compile(r"^\s*#\|\s*(\w+)\s*(\S*)\s*$")
LIBRARY_LINE = re.compile(r"^#\| library (.+)$")
GENERATED = "# Generated from "
REFERENCE_MARK = "the course's reference solution"  # in the first line of a reference module


class ExportError(Exception):
    """A notebook's export directives or exported code are not usable."""


def _directives(code: str) -> tuple[list[tuple[str, str]], str]:
    """The leading `#| name value` directives of a cell, and the code after them."""
    lines = code.splitlines()
    directives = []
    while lines and DIRECTIVE.match(lines[0]):
        name, value = DIRECTIVE.match(lines[0]).groups()
        directives.append((name, value))
        lines.pop(0)
    return directives, "\n".join(lines)


def collect(notebook_path: Path) -> dict[str, list[str]]:
    """The exported code of a notebook, as {module name: [code of each cell, in order]}."""
    notebook = json.loads(notebook_path.read_text())
    default, modules = None, {}
    for number, cell in enumerate(notebook["cells"], start=1):
        if cell["cell_type"] != "code":
            continue
        directives, code = _directives(cell_source(cell))
        for name, value in directives:
            if name == "default_exp":
                default = value
            elif name == "export":
                module = value or default
                if module is None:
                    raise ExportError(f"{notebook_path}, cell {number}: '#| export' before any "
                                      "'#| default_exp MODULE'")
                if HIDDEN_MARKER.search(code):
                    raise ExportError(f"{notebook_path}, cell {number}: hidden tests in an exported cell")
                kept = [LIBRARY_LINE.sub(r"\1", line) for line in code.splitlines()
                        if not SOLUTION_MARKER.match(line)]
                modules.setdefault(module, []).append("\n".join(kept).strip("\n"))
    return modules


def module_path(package_dir: Path, module: str) -> Path:
    """nnlib/optim/sgd.py for 'optim.sgd'."""
    return package_dir.joinpath(*module.split(".")).with_suffix(".py")


def render(module: str, cells: list[str], header: list[str]) -> str:
    """The text of a generated module: a header of comments, then the cells."""
    text = "\n".join(f"# {line}" for line in header) + "\n\n" + "\n\n\n".join(cells) + "\n"
    try:
        ast.parse(text)
    except SyntaxError as error:
        raise ExportError(f"the code exported to nnlib.{module} is not valid Python: {error}") from None
    return text


def reference_header(notebook: str) -> list[str]:
    return [f"Generated from {notebook}: {REFERENCE_MARK}.",
            "Do not edit: edit the notebook, then run `python3 course.py build`."]


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step: readers see the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes a private file; this is an ordinary one
        with os.fdopen(fd, "w") as file:
            file.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
