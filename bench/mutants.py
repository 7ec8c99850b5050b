"""How many single-point mutants of the exercises' solutions lose points: a figure, not a test.

For every exercise (solution cell) of the chapters given, each single change of one node inside
its solution regions makes a mutant: an arithmetic operator swapped (+ -, * /, ** *, @ *), an
augmented assignment made plain (+= into =) or swapped, a comparison loosened or tightened
(< <=, > >=, == !=), a number changed (n into n + 1, 0.5 into 1.0), a unary minus dropped, a
`.T` dropped, an `axis` keyword changed. Each mutant notebook runs through the grading path
(`autograder.trial`: probes in a kernel, the judge here, hidden cases included) and the script
prints, per chapter, how many mutants lose points, how many lose them in their own exercise's
tests, and the survivors (a survivor may be an equivalent program: read them).

    .venv/bin/python bench/mutants.py [CHAPTER ...]      (default: every chapter)
"""
from __future__ import annotations

import ast
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.build import source_notebooks  # noqa: E402
from autograder.export import cell_source  # noqa: E402
from autograder.library import write_library  # noqa: E402
from autograder.probes import read_tests  # noqa: E402
from autograder.sandbox import KernelLauncher, Limits  # noqa: E402
from autograder.trial import reference_outcomes, run_notebook  # noqa: E402

SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult,
         ast.MatMult: ast.Mult, ast.FloorDiv: ast.Div, ast.Lt: ast.LtE, ast.LtE: ast.Lt,
         ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}


def solution_lines(source: str) -> set[int]:
    """Line numbers (1-based) inside the cell's ### BEGIN/END SOLUTION regions."""
    inside, lines = False, set()
    for number, line in enumerate(source.splitlines(), start=1):
        if line.strip() == "### BEGIN SOLUTION":
            inside = True
        elif line.strip() == "### END SOLUTION":
            inside = False
        elif inside:
            lines.add(number)
    return lines


def mutations(node: ast.AST) -> list[tuple[str, callable]]:
    """(description, change) for each single-point mutation of this node; change mutates it."""
    found = []
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in SWAPS:
        new = SWAPS[type(node.op)]
        found.append((f"{type(node.op).__name__} -> {new.__name__}", lambda n, new=new: setattr(n, "op", new())))
    if isinstance(node, ast.Compare) and type(node.ops[0]) in SWAPS:
        new = SWAPS[type(node.ops[0])]
        found.append((f"{type(node.ops[0]).__name__} -> {new.__name__}",
                      lambda n, new=new: n.ops.__setitem__(0, new())))
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        value = node.value
        new = value + 1 if type(value) is int else (1.0 if value == 0 else value * 2)
        found.append((f"{value!r} -> {new!r}", lambda n, new=new: setattr(n, "value", new)))
    if isinstance(node, ast.keyword) and node.arg == "axis" and isinstance(node.value, ast.Constant):
        new = 1 if node.value.value == 0 else 0
        found.append((f"axis={node.value.value!r} -> {new}", lambda n, new=new: setattr(n.value, "value", new)))
    return found


def mutants(source: str) -> list[tuple[str, str]]:
    """(description, mutated cell source) for every single-point mutation of the solution regions."""
    lines = solution_lines(source)
    tree = ast.parse(source)
    found = []
    for index, node in enumerate(ast.walk(tree)):
        if getattr(node, "lineno", None) not in lines:
            continue
        for description, change in mutations(node):
            copied = copy.deepcopy(tree)
            target = list(ast.walk(copied))[index]
            change(target)
            found.append((f"line {node.lineno}: {description}", ast.unparse(copied)))
        parent_rewrites = []
        if isinstance(node, ast.AugAssign):
            parent_rewrites.append(("+= -> =", lambda n: ast.copy_location(
                ast.Assign(targets=[n.target], value=n.value, type_comment=None), n)))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            parent_rewrites.append(("-x -> x", lambda n: n.operand))
        if isinstance(node, ast.Attribute) and node.attr == "T":
            parent_rewrites.append(("x.T -> x", lambda n: n.value))
        for description, rewrite in parent_rewrites:
            copied = copy.deepcopy(tree)
            target = list(ast.walk(copied))[index]
            replaced = _replace(copied, target, rewrite(target))
            if replaced:
                found.append((f"line {node.lineno}: {description}", ast.unparse(copied)))
    return found


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST) -> bool:
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, field, new)
                return True
            if isinstance(value, list) and any(item is old for item in value):
                value[[id(item) for item in value].index(id(old))] = new
                return True
    return False


def exercise_tests(notebook: dict) -> dict[str, list[str]]:
    """{exercise grade id: grade ids of the test cells that follow it, up to the next exercise}."""
    owner, tests = None, {}
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            owner = meta["grade_id"]
            tests[owner] = []
        elif meta.get("grade") and owner:
            tests[owner].append(meta["grade_id"])
    return tests


def main(chapters: list[str]) -> None:
    for path in source_notebooks():
        chapter = path.parent.name
        if chapters and not any(name in chapter for name in chapters):
            continue
        notebook = json.loads(path.read_text())
        tests, owned = read_tests(notebook), exercise_tests(notebook)
        started = time.monotonic()
        with tempfile.TemporaryDirectory() as tmp:
            launcher = KernelLauncher(Limits(timeout=60, wall=600), None,
                                      nnlib=str(write_library(Path(tmp), chapter)))
            reference = reference_outcomes(notebook, path.parent, tests, launcher)
            total = lost = own = 0
            survivors = []
            for index, cell in enumerate(notebook["cells"]):
                exercise = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                if not cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                    continue
                for description, source in mutants(cell_source(cell)):
                    mutant = copy.deepcopy(notebook)
                    mutant["cells"][index]["source"] = source
                    run = run_notebook(mutant, path.parent, tests, launcher, reference)
                    failed = {grade_id for grade_id, verdict in run.verdicts.items() if not verdict.passed}
                    total += 1
                    lost += bool(failed)
                    own += bool(failed & set(owned[exercise]))
                    if not failed & set(owned[exercise]):
                        survivors.append(f"{exercise} {description}" + (f" (lost in {sorted(failed)})"
                                                                        if failed else ""))
        print(f"{chapter}: {total} mutants, {lost} lose points, {own} in their own exercise's tests "
              f"({time.monotonic() - started:.0f} s)", flush=True)
        for survivor in survivors:
            print(f"    survives its own tests: {survivor}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
