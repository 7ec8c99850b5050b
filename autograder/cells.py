"""The course's cell conventions, beyond nbgrader's own: the hidden-test block, and which cells
the grader and `check` do not run."""
from __future__ import annotations

import re

SKIP_TAG = "skip-when-grading"
# A test cell's hidden block, markers included (group 1: the lines between them).
HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*\n(.*?)^[ \t]*### END HIDDEN TESTS[ \t]*$\n?",
                          re.S | re.M)


def not_run_when_grading(cells: list) -> set[int]:
    """Indices of the cells that neither the grader nor `check` runs, because no test depends on
    them: the illustrations tagged `skip-when-grading` (plots, timings, drawings; a cell of an
    exercise or a test always runs), and every cell after the last graded one."""
    def metadata(cell, key: str, kind: type):
        meta = cell.get("metadata")
        value = meta.get(key) if isinstance(meta, dict) else None
        return value if isinstance(value, kind) else kind()

    last = max((index for index, cell in enumerate(cells) if metadata(cell, "nbgrader", dict).get("grade")),
               default=-1)
    return {index for index, cell in enumerate(cells) if index > last or (
        SKIP_TAG in metadata(cell, "tags", list) and not metadata(cell, "nbgrader", dict))}
