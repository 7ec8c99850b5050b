"""A generated class of chapter 1 (01_derivatives, the fastest chapter to grade): correct, partly
wrong, blank, broken and hostile submissions, one folder per student, for the tests of grading
at scale (tests/test_postgres_grading.py)."""
from __future__ import annotations

import json
from pathlib import Path

from autograder.cells import grade_id_of
from autograder.authoring.build import blank_release
from autograder.layout import HERE

CHAPTER = "01_derivatives"
NOTEBOOK = "derivatives.ipynb"
# (exercise's solution cell, a wrong body for it): each costs that exercise's points
WRONG = {
    "numerical_derivative": "def numerical_derivative(f, x, h=1e-5):\n    return float((f(x + h) - f(x)) / h)\n",
    "backprop_by_hand": "def backprop_by_hand(a, b, c, f):\n    return 0.0, 0.0, 0.0, 0.0\n",
    "sum_tanh_grads": "def sum_tanh_grads(*args, **kwargs):\n    raise ValueError('not done')\n",
}


def solution() -> dict:
    return json.loads((HERE.solutions / CHAPTER / NOTEBOOK).read_text())


def grade_id(cell: dict) -> str | None:
    return grade_id_of(cell)


def with_cell(notebook: dict, grade: str, source: str) -> dict:
    """`notebook` with the source of the cell `grade` replaced."""
    notebook = json.loads(json.dumps(notebook))
    [cell] = [cell for cell in notebook["cells"] if grade_id(cell) == grade]
    cell["source"] = source
    return notebook


def probe_cell(port: int, socket_paths: list[str]) -> str:
    """Code that tries to reach the gradebook's server over TCP on 127.0.0.1:`port` and over each
    of its Unix sockets; prints what it reached and keeps it in `REACHED`."""
    return f"""import json, socket
REACHED = []
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    REACHED.append("tcp {port}")
except OSError as error:
    print("tcp", type(error).__name__)
for path in {socket_paths!r}:
    client = socket.socket(socket.AF_UNIX)
    client.settimeout(2)
    try:
        client.connect(path)
        REACHED.append(path)
    except OSError as error:
        print(path, type(error).__name__)
    finally:
        client.close()
print("REACHED" + json.dumps(REACHED))
"""


def hostile(port: int, socket_paths: list[str]) -> dict:
    """The solution, plus a cell that tries to reach the database server; its numerical_derivative
    is wrong (2 points lost) if that cell reached it."""
    notebook = solution()
    first = next(i for i, cell in enumerate(notebook["cells"]) if grade_id(cell))
    notebook["cells"].insert(first, {"cell_type": "code", "execution_count": None, "id": "probe-db",
                                     "metadata": {}, "outputs": [], "source": probe_cell(port, socket_paths)})
    [cell] = [cell for cell in notebook["cells"] if grade_id(cell) == "numerical_derivative"]
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    cell["source"] = source + "\n\nif REACHED:\n    numerical_derivative = lambda *args, **kwargs: 0.0\n"
    return notebook


def write_class(folder: Path, port: int, socket_paths: list[str], size: int = 30) -> dict[str, str]:
    """Write `size` (>= 10) student folders into `folder`; return {folder name: kind}."""
    right, blank = solution(), json.loads(blank_release(CHAPTER))
    kinds = {"hostile": 2, "broken": 2, "blank": 2, "wrong": len(WRONG) * 2}
    kinds["correct"] = size - sum(kinds.values())
    made: dict[str, str] = {}
    wrong = list(WRONG.items())
    for kind, count in kinds.items():
        for i in range(count):
            name = f"{kind}_{i:02d}" if i != 1 else f"{kind.title()} Student {i} é"  # a mapped id too
            path = folder / name / NOTEBOOK
            path.parent.mkdir(parents=True)
            if kind == "correct":
                content = json.dumps(right)
            elif kind == "wrong":
                content = json.dumps(with_cell(right, *wrong[i % len(wrong)]))
            elif kind == "blank":
                content = json.dumps(blank)
            elif kind == "hostile":
                content = json.dumps(hostile(port, socket_paths))
            else:
                content = "{this is not a notebook" if i % 2 == 0 else ""
            path.write_text(content)
            made[name] = kind
    return made
