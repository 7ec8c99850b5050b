"""Write and review course notebooks as plain text: `.nb.txt` <-> nbgrader source `.ipynb`.

The `.ipynb` in `solutions/` is the source of truth; this is a convenience for editing it
in a text editor and reading it in a diff. The text form is a sequence of cells, each
opened by a header line:

    %% md                                  a markdown cell
    %% code                                a plain code cell
    %% solution id=GRADE_ID                an exercise: code with ### BEGIN/END SOLUTION
    %% tests id=GRADE_ID points=N          an autograder test cell (locked, graded)

Any header may end with `tags=TAG[,TAG...]`, the cell's Jupyter tags (for example
`%% code tags=skip-when-grading`: an illustration the grader does not run).

    python -m autograder.authoring.nbtext pack NOTEBOOK.nb.txt NOTEBOOK.ipynb
    python -m autograder.authoring.nbtext unpack NOTEBOOK.ipynb NOTEBOOK.nb.txt

`pack` followed by `unpack` gives back the text unchanged.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from autograder.cells import cell_source, is_graded, is_solution, nbgrader_of, tags

HEADER = re.compile(r"^%% (md|code|solution|tests)((?: \w+=\S+)*)\s*$")
NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def _nbgrader(kind: str, attrs: dict[str, str]) -> dict | None:
    if kind == "solution":
        return {"grade": False, "grade_id": attrs["id"], "locked": False,
                "schema_version": 3, "solution": True, "task": False}
    if kind == "tests":
        return {"grade": True, "grade_id": attrs["id"], "locked": True,
                "points": int(attrs["points"]), "schema_version": 3, "solution": False,
                "task": False}
    return None


def pack(text: str, stem: str) -> dict:
    """The notebook (as a JSON-ready dict) that `text` describes."""
    cells, current = [], None
    for line in text.splitlines():
        match = HEADER.match(line)
        if match:
            attrs = dict(pair.split("=", 1) for pair in match.group(2).split())
            current = {"kind": match.group(1), "attrs": attrs, "lines": []}
            cells.append(current)
        elif current is None:
            if line.strip():
                raise ValueError(f"text before the first '%% ' cell header: {line!r}")
        else:
            current["lines"].append(line)
    notebook_cells = []
    for index, cell in enumerate(cells, start=1):
        source = "\n".join(cell["lines"]).strip("\n")
        kind = cell["kind"]
        out: dict = {"cell_type": "markdown" if kind == "md" else "code",
                     "id": f"{stem}-{index:02d}", "metadata": {}}
        nbgrader = _nbgrader(kind, cell["attrs"])
        if nbgrader:
            out["metadata"]["nbgrader"] = nbgrader
        if "tags" in cell["attrs"]:
            out["metadata"]["tags"] = cell["attrs"]["tags"].split(",")
        out["source"] = source
        if kind != "md":
            out["execution_count"] = None
            out["outputs"] = []
        notebook_cells.append(out)
    return {"cells": notebook_cells, "metadata": NOTEBOOK_METADATA, "nbformat": 4,
            "nbformat_minor": 5}


def unpack(notebook: dict) -> str:
    """The text form of a notebook made by `pack` (outputs are dropped)."""
    parts = []
    for cell in notebook["cells"]:
        source = cell_source(cell)
        meta = nbgrader_of(cell)
        if cell["cell_type"] == "markdown":
            header = "%% md"
        elif is_solution(cell):
            header = f"%% solution id={meta['grade_id']}"
        elif is_graded(cell):
            header = f"%% tests id={meta['grade_id']} points={meta['points']:g}"
        else:
            header = "%% code"
        if tags(cell):
            header += f" tags={','.join(tags(cell))}"
        parts.append(f"{header}\n{source}\n")
    return "\n".join(parts)


def write_notebook(notebook: dict, path: Path) -> None:
    """Write a notebook the way Jupyter and nbgrader do (indent 1, trailing newline)."""
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n")


def main(argv: list[str]) -> None:
    if len(argv) != 3 or argv[0] not in ("pack", "unpack"):
        sys.exit(__doc__)
    command, source, target = argv[0], Path(argv[1]), Path(argv[2])
    if command == "pack":
        stem = source.name.split(".")[0]
        write_notebook(pack(source.read_text(), stem), target)
    else:
        target.write_text(unpack(json.loads(source.read_text())))


if __name__ == "__main__":
    main(sys.argv[1:])
