"""Audit a chapter's tests: do they catch plausible bugs, and pass correct alternatives?

    python3 course.py audit 3            (or: all; --catalogue-only skips the generated mutants;
                                          --workers N, --keep DIR keeps the grading output)

For each entry it makes a submission: the released learner notebook (as solutions/ generates it) with
every exercise filled with the solution's code (as a learner has it: no ### BEGIN/END SOLUTION
lines), then ONE exercise's code changed. All the chapter's submissions are graded in one run of
the real grading path (autograder.grading.grade.grade: intake, jailed kernels, the judge outside the
kernel, the nbgrader gradebook, hidden cases included) into a temporary folder, and the audit
reads results/*.json. The entries:

  * the catalogue's bugs (autograder/audit/catalogue/): each must lose points in the tests of its own
    exercise (the test cells between its solution cell and the next one); it may lose points in
    later exercises that build on it too. One that keeps full marks there is a hole: listed in the
    catalogue's KNOWN_HOLES (reported, not an error), or an error.
  * the catalogue's correct alternatives: each must keep full marks everywhere.
  * generated single-point mutants of each exercise's solution code (not in --catalogue-only),
    each one change of one node inside the solution regions:
        - an arithmetic operator swapped: + <-> -, * <-> /, ** -> *, @ -> *, // -> /
          (in a binary operation or an augmented assignment)
        - an augmented assignment made plain: x += y -> x = y (and -=, *=, ...)
        - a comparison loosened or tightened, or negated: < <-> <=, > <-> >=, == <-> !=
        - a number changed: an int n -> n + 1, a float 0.0 -> 1.0, any other float x -> 2x
        - a unary minus dropped: -x -> x
        - a transpose dropped: x.T -> x
        - an axis keyword changed: axis=0 -> 1, any other constant axis -> 0
    A generated mutant that keeps full marks in its own exercise "survives": it is either listed
    in the catalogue's EQUIVALENT table with the reason it is a correct program, or reported as a
    survivor to kill with a new test (not an error: the figure is in README.md, "Figures").

The exit status is 1 if a catalogue bug keeps full marks in its own exercise (and is no known
hole), a correct alternative loses points, or an entry cannot be made (its `old` text does not
occur exactly once in its exercise); tests/test_catalogue.py runs the catalogue (not the
generated mutants) through `run` and asserts the same rules per entry.
"""
from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder import layout
from autograder.audit import catalogue
from autograder.authoring.build import blank_release
from autograder.layout import HERE
from autograder.cells import (cell_source, is_graded, is_solution, nbgrader_of, solution_lines,
                              without_solution_markers)

BUG, ALTERNATIVE, GENERATED = "bug", "alternative", "generated"


class AuditError(Exception):
    """The audit cannot be made: an entry does not apply, or the grading run failed."""


@dataclass(frozen=True)
class Entry:
    """One submission of the audit: `exercise`'s cell replaced by `source`."""
    kind: str  # BUG, ALTERNATIVE or GENERATED
    name: str  # the catalogue's name, or "<grade id> line N: <mutation>" for a generated one
    exercise: str  # the grade id of the solution cell it changes
    source: str  # that cell's new source

    @property
    def student(self) -> str:
        """The submission's folder (a usable student id, see intake.STUDENT_ID)."""
        if self.kind == GENERATED:
            return f"{self.kind}.{hashlib.sha1(self.source.encode()).hexdigest()[:12]}"
        return f"{self.kind}.{self.name}"


@dataclass
class Outcome:
    entry: Entry
    lost: dict[str, float]  # {test grade id: points lost}
    status: str
    own: bool = False  # lost points in the tests of its own exercise
    reason: str = ""  # EQUIVALENT's or KNOWN_HOLES's reason, if listed
    expected: bool = True  # as the catalogue says it should be

    def describe(self) -> str:
        lost = ", ".join(f"{test} -{points:g}" for test, points in self.lost.items()) or "full marks"
        status = "" if self.status == "graded" else f" [{self.status}]"
        return f"{self.entry.name}: {lost}{status}" + (f" ({self.reason})" if self.reason else "")


@dataclass
class Report:
    chapter: str
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    def of(self, kind: str) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.entry.kind == kind]

    @property
    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.expected]


# The chapter's notebooks -----------------------------------------------------------------------------

def chapter_notebooks(chapter: str) -> tuple[dict, dict, str]:
    """(solution notebook, released notebook, notebook file name) of a chapter, e.g. 03_backprop."""
    solution = min((HERE.solutions / chapter).glob("*.ipynb"))
    # the release as solutions/ generates it: not chapters/, where someone may have worked
    return json.loads(solution.read_text()), json.loads(blank_release(chapter)), solution.name


def solution_cells(notebook: dict) -> dict[str, int]:
    """{grade id: index} of the notebook's solution cells (the exercises)."""
    return {nbgrader_of(cell)["grade_id"]: index for index, cell in enumerate(notebook["cells"])
            if is_solution(cell)}


def exercise_tests(notebook: dict) -> dict[str, list[str]]:
    """{exercise grade id: grade ids of the test cells that follow it, up to the next exercise}."""
    owner, tests = None, {}
    for cell in notebook["cells"]:
        if is_solution(cell):
            owner = nbgrader_of(cell)["grade_id"]
            tests[owner] = []
        elif is_graded(cell) and owner:
            tests[owner].append(nbgrader_of(cell)["grade_id"])
    return tests


# Generated single-point mutants --------------------------------------------------------------------

SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult,
         ast.MatMult: ast.Mult, ast.FloorDiv: ast.Div, ast.Lt: ast.LtE, ast.LtE: ast.Lt,
         ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}


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


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST) -> bool:
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return True
            if isinstance(value, list) and any(item is old for item in value):
                value[[id(item) for item in value].index(id(old))] = new
                return True
    return False


def mutants(source: str) -> list[tuple[str, str]]:
    """(description, mutated cell source) for every single-point mutation of the solution regions
    of a solution cell (the source is unparsed: comments and markers are gone)."""
    lines = set(solution_lines(source))
    tree = ast.parse(source)
    found = []
    for index, node in enumerate(ast.walk(tree)):
        if getattr(node, "lineno", None) not in lines:
            continue
        for description, change in mutations(node):
            copied = copy.deepcopy(tree)
            change(list(ast.walk(copied))[index])
            found.append((f"line {node.lineno}: {description}", ast.unparse(copied)))
        rewrites = []
        if isinstance(node, ast.AugAssign):
            rewrites.append((f"{type(node.op).__name__}= -> =", lambda n: ast.copy_location(
                ast.Assign(targets=[n.target], value=n.value, type_comment=None), n)))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            rewrites.append(("-x -> x", lambda n: n.operand))
        if isinstance(node, ast.Attribute) and node.attr == "T":
            rewrites.append(("x.T -> x", lambda n: n.value))
        for description, rewrite in rewrites:
            copied = copy.deepcopy(tree)
            target = list(ast.walk(copied))[index]
            if _replace(copied, target, rewrite(target)):
                found.append((f"line {node.lineno}: {description}", ast.unparse(copied)))
    return found


# The entries ------------------------------------------------------------------------------------------

def catalogue_entries(chapter: str) -> list[Entry]:
    """The chapter's catalogue as entries; AuditError if one does not apply exactly once, names
    a cell that is no exercise, or a name is used twice."""
    solution, _, _ = chapter_notebooks(chapter)
    cells = solution_cells(solution)
    book = catalogue.module(chapter)
    entries, problems = [], []
    for kind, mutants_ in ((BUG, book.BUGS), (ALTERNATIVE, book.ALTERNATIVES)):
        for mutant in mutants_:
            if mutant.grade_id not in cells:
                problems.append(f"{mutant.name}: {mutant.grade_id!r} is no exercise of {chapter}")
                continue
            code = without_solution_markers(cell_source(solution["cells"][cells[mutant.grade_id]]))
            count = code.count(mutant.old)
            if count != 1:
                problems.append(f"{mutant.name}: its old text occurs {count} times in {mutant.grade_id}, "
                                f"not once:\n{mutant.old}")
                continue
            entries.append(Entry(kind, mutant.name, mutant.grade_id, code.replace(mutant.old, mutant.new)))
    names = [entry.name for entry in entries]
    problems += [f"{name}: the name is used twice" for name in sorted({n for n in names if names.count(n) > 1})]
    for name in set(book.KNOWN_HOLES) - {mutant.name for mutant in book.BUGS}:
        problems.append(f"KNOWN_HOLES names {name!r}, which is no bug of the catalogue")
    if problems:
        raise AuditError(f"the catalogue of {chapter} does not apply:\n" + "\n".join(problems))
    return entries


def generated_entries(chapter: str) -> list[Entry]:
    """Every single-point mutant of every exercise's solution code (one per distinct program:
    `axis=0 -> 1` is also the number 0 changed)."""
    solution, _, _ = chapter_notebooks(chapter)
    found = {}
    for grade_id, index in solution_cells(solution).items():
        for description, source in mutants(cell_source(solution["cells"][index])):
            found.setdefault(source, Entry(GENERATED, f"{grade_id} {description}", grade_id, source))
    return list(found.values())


def write_submissions(chapter: str, entries: list[Entry], folder: Path) -> None:
    """folder/<student>/<notebook>.ipynb for each entry: the released notebook, every exercise
    filled with the solution's code, then the entry's exercise replaced by its source."""
    solution, released, name = chapter_notebooks(chapter)
    answers = {grade_id: without_solution_markers(cell_source(solution["cells"][index]))
               for grade_id, index in solution_cells(solution).items()}
    cells = solution_cells(released)
    if set(cells) != set(answers):
        raise AuditError(f"nbgrader's release of {chapter} has other exercises than solutions/{chapter}")
    base = copy.deepcopy(released)
    for grade_id, index in cells.items():
        base["cells"][index]["source"] = answers[grade_id]
    for entry in entries:
        notebook = copy.deepcopy(base)
        notebook["cells"][cells[entry.exercise]]["source"] = entry.source
        (folder / entry.student).mkdir(parents=True)
        (folder / entry.student / name).write_text(json.dumps(notebook, indent=1))


# Grading and judging -------------------------------------------------------------------------------

def run(chapter: str, entries: list[Entry], workers: int | None = None, keep: Path | None = None,
        quiet: bool = True) -> Report:
    """Grade every entry's submission through autograder.grading.grade.grade in one run, and judge each
    against the catalogue's rules (Outcome.expected). The grading is the real one but for nbgrader's feedback
    pages, which come after the verdict and which the audit does not read."""
    import contextlib
    import io

    from autograder.grading.grade import grade
    from autograder.execution.intake import GradeError

    chapter = layout.find_chapter(chapter, HERE.solutions)
    solution, _, _ = chapter_notebooks(chapter)
    owned = exercise_tests(solution)
    book = catalogue.module(chapter)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="audit-") as tmp:
        submissions, out = Path(tmp) / "submissions", Path(keep or Path(tmp) / "out")
        write_submissions(chapter, entries, submissions)
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed) if quiet else contextlib.nullcontext():
                grade(chapter, submissions, out, workers=workers, pages=False)
        except GradeError as error:
            raise AuditError(f"grading {chapter} failed: {error}") from None
        results = {result["name"]: result for result in
                   (json.loads(path.read_text()) for path in (out / "results").glob("*.json"))}
    report = Report(chapter, seconds=time.monotonic() - started)
    for entry in entries:
        result = results.get(entry.student)
        if result is None:
            raise AuditError(f"{entry.name} was not graded (submission {entry.student})")
        lost = {row["exercise"]: row["max_points"] - (row["points"] or 0) for row in result["exercises"]
                if (row["points"] or 0) < row["max_points"]}
        outcome = Outcome(entry, lost, result["status"], own=bool(set(lost) & set(owned[entry.exercise])))
        if entry.kind == BUG:
            outcome.reason = book.KNOWN_HOLES.get(entry.name, "")
            outcome.expected = outcome.own or bool(outcome.reason)
        elif entry.kind == ALTERNATIVE:
            outcome.expected = not lost
        else:
            outcome.reason = "" if outcome.own else book.EQUIVALENT.get(entry.name, "")
        report.outcomes.append(outcome)
    return report


def print_report(report: Report, tests: dict[str, list[str]]) -> None:
    print(f"== {report.chapter}: {len(report.outcomes)} submissions graded in {report.seconds:.0f} s")
    for exercise in tests:
        mine = [outcome for outcome in report.outcomes if outcome.entry.exercise == exercise]
        if not mine:
            continue
        bugs, oks, generated = ([o for o in mine if o.entry.kind == kind] for kind in (BUG, ALTERNATIVE, GENERATED))
        caught = [o for o in generated if o.own]
        equivalent = [o for o in generated if not o.own and o.reason]
        survivors = [o for o in generated if not o.own and not o.reason]
        print(f"  {exercise} (tests: {', '.join(tests[exercise])})")
        for outcome in bugs:
            mark = "ok  " if outcome.own else "HOLE" if outcome.reason else "FAIL"
            print(f"    bug {mark} {outcome.describe()}")
        for outcome in oks:
            print(f"    alt {'ok  ' if outcome.expected else 'FAIL'} {outcome.describe()}")
        if generated:
            print(f"    generated: {len(generated)}, {len(caught)} lose points in their own exercise, "
                  f"{len(equivalent)} equivalent, {len(survivors)} survive")
            for outcome in equivalent:
                print(f"      equivalent: {outcome.describe()}")
            for outcome in survivors:
                print(f"      SURVIVES:   {outcome.describe()}")
    bugs, oks, generated = (report.of(kind) for kind in (BUG, ALTERNATIVE, GENERATED))
    holes = [o for o in bugs if not o.own and o.reason]
    line = (f"   {report.chapter}: {len(bugs)} bugs ({sum(o.own for o in bugs)} caught in their own exercise, "
            f"{len(holes)} known holes), {len(oks)} alternatives ({sum(o.expected for o in oks)} full marks)")
    if generated:
        survivors = [o for o in generated if not o.own]
        line += (f"; {len(generated)} generated mutants, {len(generated) - len(survivors)} caught, "
                 f"{sum(bool(o.reason) for o in survivors)} equivalent, "
                 f"{sum(not o.reason for o in survivors)} survive")
    print(line)
    for outcome in report.failures:
        print(f"   FAIL {outcome.entry.kind} {outcome.describe()}", file=sys.stderr)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 course.py audit", description=__doc__.splitlines()[0])
    parser.add_argument("chapter", help="a chapter (3, 03, 03_backprop, backprop) or all")
    parser.add_argument("--catalogue-only", action="store_true", help="skip the generated mutants")
    parser.add_argument("--workers", type=int, help="submissions graded at once (default: 2 per core)")
    parser.add_argument("--keep", type=Path, help="keep the grading output in this folder (one chapter)")
    args = parser.parse_args(argv)
    try:
        chapters = (sorted(path.name for path in HERE.solutions.iterdir() if path.is_dir() and path.name[:2].isdigit())
                    if args.chapter == "all" else [layout.find_chapter(args.chapter, HERE.solutions)])
    except LookupError as error:
        parser.error(str(error))
    failed = False
    for chapter in chapters:
        try:
            entries = catalogue_entries(chapter) + ([] if args.catalogue_only else generated_entries(chapter))
            report = run(chapter, entries, args.workers, args.keep if len(chapters) == 1 else None)
        except AuditError as error:
            print(f"audit: {error}", file=sys.stderr)
            failed = True
            continue
        print_report(report, exercise_tests(chapter_notebooks(chapter)[0]))
        failed |= bool(report.failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
