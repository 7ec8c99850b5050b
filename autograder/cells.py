"""The course's notebook conventions, in one place: every module and the tests read cells
through these names.

nbgrader's, as the course uses them:

- a solution cell (`nbgrader.solution`) holds its answer between `### BEGIN SOLUTION` and
  `### END SOLUTION` lines (`SOLUTION_MARKER`, `solution_lines`, `without_solution_markers`);
- a graded test cell (`nbgrader.grade`, with a `grade_id` and `points`) may end with a hidden
  block between `### BEGIN HIDDEN TESTS` and `### END HIDDEN TESTS` (`HIDDEN_TESTS`,
  `HIDDEN_MARKER`, `without_hidden_tests`).

The course's own: a cell tagged `skip-when-grading` (`SKIP_TAG`) is an illustration that
neither the grader nor `check` runs, and neither runs what follows the last test
(`not_run_when_grading`).

A submitted notebook's metadata can be anything: `nbgrader_of`, `grade_id_of`, `is_graded`,
`is_solution` and `tags` never raise on it, and read a value of the wrong type as absent.
"""
from __future__ import annotations

import re

SKIP_TAG = "skip-when-grading"
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
SOLUTION_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")  # a whole line
HIDDEN_MARKER = re.compile(r"### (BEGIN|END) HIDDEN TESTS")  # anywhere in a text
# A test cell's hidden block, markers included (group 1: the lines between them).
HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*\n(.*?)^[ \t]*### END HIDDEN TESTS[ \t]*$\n?",
                          re.S | re.M)


def cell_source(cell: dict) -> str:
    """A cell's source as one string (notebooks store it as a string or a list of lines)."""
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def nbgrader_of(cell: dict) -> dict:
    """A cell's nbgrader metadata, or {} if it has none (or none that is a dict)."""
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def grade_id_of(cell: dict) -> str | None:
    """A cell's nbgrader grade id, if it is a string."""
    value = nbgrader_of(cell).get("grade_id")
    return value if isinstance(value, str) else None


def is_graded(cell: dict) -> bool:
    """Whether nbgrader grades the cell: a test cell (`nbgrader.grade`)."""
    return bool(nbgrader_of(cell).get("grade"))


def is_solution(cell: dict) -> bool:
    """Whether the cell is an exercise: a solution cell (`nbgrader.solution`)."""
    return bool(nbgrader_of(cell).get("solution"))


def tags(cell: dict) -> list:
    """A cell's tags, or [] if it has none (or none that is a list)."""
    meta = cell.get("metadata")
    value = meta.get("tags") if isinstance(meta, dict) else None
    return value if isinstance(value, list) else []


def solution_lines(source: str) -> dict[int, str]:
    """{line number (1-based): line} of the code inside a cell's solution markers."""
    inside, lines = False, {}
    for number, line in enumerate(source.splitlines(), start=1):
        if SOLUTION_MARKER.match(line):
            inside = "BEGIN" in line
        elif inside:
            lines[number] = line
    return lines


def without_solution_markers(source: str) -> str:
    """A solution cell as a learner who wrote the solution has it: without the marker lines."""
    return "".join(line for line in source.splitlines(keepends=True) if not SOLUTION_MARKER.match(line))


def without_hidden_tests(source: str) -> str:
    """A test cell as the learner's notebook has it: without its hidden block."""
    return HIDDEN_TESTS.sub("", source)


def not_run_when_grading(cells: list) -> set[int]:
    """Indices of the cells that neither the grader nor `check` runs, because no test depends on
    them: the illustrations tagged `skip-when-grading` (plots, timings, drawings; a cell of an
    exercise or a test always runs), and every cell after the last graded one."""
    last = max((index for index, cell in enumerate(cells) if is_graded(cell)), default=-1)
    return {index for index, cell in enumerate(cells)
            if index > last or (SKIP_TAG in tags(cell) and not nbgrader_of(cell))}
