"""The class edition: the repository the learners of a graded class clone.

    python3 course.py release DIR --open N --closed K

writes (or updates) the git repository DIR with one commit per release. It holds

- the notebooks of chapters 1..N (the release in chapters/: no answers, no hidden tests);
- nnlib: the modules written by hand and the course's reference modules of chapters 1..K, the
  chapters whose deadline has passed, so a learner can go on past a closed chapter they did not
  finish; chapters K+1..N come into a learner's library by their own export;
- course.py with the setup and the learner's commands, the tooling those need (LEARNER_TOOLING:
  no grading, no solutions), the library's tests of the released chapters (a test that needs a
  module the learner's library does not have yet is skipped, and says why), and the README's
  learner part (the instructor's parts are between `<!-- instructor -->` and
  `<!-- /instructor -->`).

Nothing else: no solutions/, no hidden test, no gradebook. Before anything is written, every
file of the edition is searched for the solution code of every exercise of an open chapter and
for every hidden test (`leaks`); one line found refuses the release. A release never takes back
what an earlier one gave (chapters or closed chapters), and it writes only its own files: the
learners' work lives in work/ (layout.py), a path no release uses, so `git pull` never collides
with it.
"""
from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

from autograder import layout
from autograder.layout import HERE, Course
from autograder.cells import (BEGIN_HIDDEN, BEGIN_SOLUTION, HIDDEN_TESTS, cell_source, grade_id_of, is_graded,
                              is_solution, solution_lines, without_hidden_tests)

# The tooling of check, export, restore and status (what learner.py imports, directly or not).
LEARNER_TOOLING = ("__init__", "cells", "layout", "learner", "results", "authoring/__init__",
                   "authoring/export", "execution/__init__", "execution/cgroups",
                   "execution/guarded_execute", "execution/intake", "execution/judge",
                   "execution/library", "execution/probes", "execution/sandbox", "execution/trial")
TOP_FILES = ("course.py", "constraints.txt", ".gitignore")
INSTRUCTOR_PART = re.compile(r"^<!-- instructor -->\n.*?^<!-- /instructor -->\n", re.S | re.M)
CHAPTER_ROW = re.compile(r"^\| (\d+)\. .*\n", re.M)
# Solution lines too short or too common to say anything: a line of an answer counts when it
# has at least this many characters (spaces collapsed) and is not one of these lines, which the
# course's given code uses too (loops over a graph, a model's layers or parameters; the steps of
# the training loop that chapter 3 gives and chapter 5 asks for again).
MIN_ANSWER_LINE = 12
NOT_ANSWERS = frozenset({
    "return grad_output", "loss.backward()", "model.zero_grad()", "optimizer.step()",
    "optimizer.zero_grad()", "model.backward(loss_fn.backward())", "y_hat = model(X)",
    "X = layer(X)", "return float(loss)", "for node in topo:", "while stack:",
    "for child in node._prev:", "(x,) = out._prev", "a, b = out._prev", "x, k = out._prev",
    "for layer in self.layers:", "for p in model.parameters():", "losses.append(loss.data)",
    "for i in np.ndindex(x.shape):",
    "x = np.array(x, dtype=np.float64) # a float64 copy: the caller's x is never modified",
})


class ReleaseError(Exception):
    """The edition cannot be written; the message says why."""


def normalised(line: str) -> str:
    return " ".join(line.split())


def answer_lines(notebook: dict) -> set[str]:
    """The lines of code between the solution markers of a solution notebook, normalised."""
    return {normalised(line) for cell in notebook["cells"] if is_solution(cell)
            for line in solution_lines(cell_source(cell)).values() if line.strip()}


def hidden_blocks(notebook: dict) -> list[str]:
    """Every hidden-test block of a notebook, its lines normalised and joined by newlines."""
    return ["\n".join(normalised(line) for line in block.splitlines() if line.strip())
            for cell in notebook["cells"] for block in HIDDEN_TESTS.findall(cell_source(cell))]


def solution_notebooks(course: Course = HERE) -> dict[str, dict]:
    """{chapter: its solution notebook} for every chapter of solutions/."""
    return {chapter: json.loads(min((course.solutions / chapter).glob("*.ipynb")).read_text())
            for chapter in sorted(path.name for path in course.solutions.iterdir() if path.is_dir())}


def readable(path: str, content: bytes) -> str:
    """A file's text as a reader sees it: a notebook's cells, not JSON's escaped strings."""
    text = content.decode(errors="replace")
    if path.endswith(".ipynb"):
        text = "\n".join(cell_source(cell) for cell in json.loads(text)["cells"])
    return text


def leaks(files: dict[str, bytes], open_chapters: list[str], course: Course = HERE) -> list[str]:
    """Where `files` ({path: content}) hold what no edition may: a line of the solution code of an
    exercise of an open chapter (anywhere: a later chapter's given code, a visible test, a
    library module or test), a hidden test (a marker, a whole block, or a test cell that differs
    from the course's without its hidden block), or an instructor's file. One line per find."""
    solutions = solution_notebooks(course)
    answers = {line: chapter for chapter in open_chapters for line in answer_lines(solutions[chapter])
               if len(line) >= MIN_ANSWER_LINE and line not in NOT_ANSWERS}
    blocks = [(chapter, block) for chapter, notebook in solutions.items() for block in hidden_blocks(notebook)]
    found = []
    for path, content in sorted(files.items()):
        if path.startswith(("solutions/", "grading/")) or path.endswith(".db"):
            found.append(f"{path}: an instructor's file")
        text = readable(path, content)
        for marker in (BEGIN_SOLUTION, BEGIN_HIDDEN):
            if marker in text and not path.startswith("autograder/"):  # (the tooling reads them)
                found.append(f"{path}: {marker!r}")
        lines = [normalised(line) for line in text.splitlines()]
        for number, line in enumerate(lines, start=1):
            if line in answers:
                found.append(f"{path}:{number}: the solution of an exercise of {answers[line]}: {line}")
        joined = "\n".join(line for line in lines if line)
        found += [f"{path}: a hidden test block of {chapter}" for chapter, block in blocks if block in joined]
        if path.startswith("chapters/") and path.endswith(".ipynb"):
            found += changed_tests(path, json.loads(content), solutions[path.split("/")[1]])
    return found


def changed_tests(path: str, release: dict, solution: dict) -> list[str]:
    """The test cells of a released notebook that are not the course's without its hidden block."""
    def tests(notebook: dict) -> dict[str, str]:
        return {grade_id_of(cell): without_hidden_tests(cell_source(cell)).strip()
                for cell in notebook["cells"] if is_graded(cell)}

    released, course = tests(release), tests(solution)
    return [f"{path}: test cell {grade_id} is not the course's without its hidden tests"
            for grade_id in sorted(released) if released[grade_id] != course.get(grade_id)]


def learner_readme(text: str, chapters: list[str], closed: list[str]) -> str:
    """The README without its instructor parts, listing the released chapters only."""
    released = {int(chapter[:2]) for chapter in chapters}
    text = INSTRUCTOR_PART.sub("", text)
    text = CHAPTER_ROW.sub(lambda row: row.group(0) if int(row.group(1)) in released else "", text)
    given = (f"the course's solutions of chapters {closed[0][:2]}-{closed[-1][:2]} are in `nnlib`"
             if closed else "no chapter's solutions are given out yet")
    note = (f"\n> **Class edition.** Chapters {chapters[0][:2]}-{chapters[-1][:2]} are released; {given}. "
            "New chapters come with `git pull`; your work in `work/` is never touched by it.\n")
    title, _, rest = text.partition("\n")
    return f"{title}\n{note}{rest}"


def edition_files(chapters: list[str], closed: list[str], course: Course = HERE) -> dict[str, bytes]:
    """{path: content} of the class edition releasing `chapters`, of which `closed` are closed."""
    from autograder.authoring.build import generate_chapters, reference_modules

    root = course.root
    files = {name: (root / name).read_bytes() for name in TOP_FILES}
    pyproject = (root / "pyproject.toml").read_text()
    testpaths = 'testpaths = ["tests", "solutions"]'
    if testpaths not in pyproject:
        raise ReleaseError(f"pyproject.toml has no line {testpaths!r} to release")
    files["pyproject.toml"] = pyproject.replace(testpaths, 'testpaths = ["tests"]').encode()
    files["README.md"] = learner_readme((root / "README.md").read_text(), chapters, closed).encode()
    # The release as solutions/ generates it, not chapters/ as it is in this checkout: the same
    # when the build is committed, and never a notebook someone tried out course.
    files.update({path: content for path, content in generate_chapters(course=course).items()
                  if path.split("/")[1] in chapters})
    modules = course.modules()
    for relative in course.hand_written():
        files[f"nnlib/{relative.as_posix()}"] = (course.package / relative).read_bytes()
    for module, (notebook, text) in reference_modules(course).items():
        if notebook.parent.name in closed:
            files[course.reference(module).relative_to(root).as_posix()] = text.encode()
    for name in LEARNER_TOOLING:
        files[f"autograder/{name}.py"] = (root / "autograder" / f"{name}.py").read_bytes()
    released = {module for module, chapter in modules.items() if chapter in chapters}
    hand_written = {module_name(relative) for relative in course.hand_written()}
    files["tests/conftest.py"] = (root / "tests" / "conftest.py").read_bytes()
    for test in sorted((root / "tests").glob("test_*.py")):
        needs = layout.nnlib_imports(test, set(modules) | hand_written)
        if needs and "autograder" not in needs and needs <= released | hand_written:
            files[f"tests/{test.name}"] = test.read_bytes()
    files[layout.EDITION_FILE] = (json.dumps({"open": chapters, "closed": closed}, indent=1) + "\n").encode()
    return files


def module_name(relative: Path) -> str:
    """'optim.sgd' for optim/sgd.py, 'optim' for optim/__init__.py."""
    parts = relative.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def git(folder: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True)
    if result.returncode:
        raise ReleaseError(f"git {' '.join(args)} failed in {folder}: {result.stderr.strip()}")
    return result.stdout


def previous_release(target: Path) -> dict:
    """What the edition in `target` released so far ({} for a new one), after checking that
    `target` is an edition whose files nobody changed since."""
    if not target.exists() or not any(target.iterdir()):
        target.mkdir(parents=True, exist_ok=True)
        git(target, "init", "--quiet")
        return {}
    edition = target / layout.EDITION_FILE
    if not (target / ".git").is_dir() or not edition.exists():
        raise ReleaseError(f"{target} is neither empty nor a class edition of the course")
    changed = [line for line in git(target, "status", "--porcelain", "--untracked-files=no").splitlines()]
    if changed:
        raise ReleaseError(f"{target} has changes nobody committed ({changed[0].strip()}, ...): "
                           "commit or discard them first")
    return json.loads(edition.read_text())


def release(target: Path, open_up_to: int, closed_up_to: int, course: Course = HERE) -> str:
    """Write the class edition with chapters 1..`open_up_to` released and 1..`closed_up_to`
    closed into the git repository `target`, and commit it; return what was done."""
    target = target.resolve()
    if course.root == target or course.root in target.parents:
        raise ReleaseError(f"{target} is inside the course's repository: choose a folder outside it")
    every = course.chapter_names()
    if not 0 <= closed_up_to <= open_up_to <= len(every) or open_up_to < 1:
        raise ReleaseError(f"need 0 <= --closed <= --open, 1 <= --open <= {len(every)} "
                           f"(got --open {open_up_to} --closed {closed_up_to})")
    chapters, closed = every[:open_up_to], every[:closed_up_to]
    files = edition_files(chapters, closed, course)
    found = leaks(files, [chapter for chapter in chapters if chapter not in closed], course)
    if found:
        raise ReleaseError("the edition would give away what it must not:\n  " + "\n  ".join(found))
    before = previous_release(target)
    taken_back = [chapter for key, now in (("open", chapters), ("closed", closed))
                  for chapter in before.get(key, []) if chapter not in now]
    if taken_back:
        raise ReleaseError(f"a release never takes back what was released: {', '.join(taken_back)}")
    tracked = set(git(target, "ls-files").splitlines())
    for stale in sorted(tracked - set(files)):
        git(target, "rm", "--quiet", "--", stale)
    for path, content in files.items():
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        (target / path).write_bytes(content)
    (target / "course.py").chmod(0o755)
    git(target, "add", "--", *files)
    if not git(target, "status", "--porcelain", "--untracked-files=no").strip():
        return f"{target}: nothing changed since the last release"
    source = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=course.root,
                            capture_output=True, text=True).stdout.strip() or "no commit"
    message = (f"Release: chapters {chapters[0][:2]}-{chapters[-1][:2]}"
               + (f", solutions of {closed[0][:2]}-{closed[-1][:2]}" if closed else ", no solutions")
               + f" ({time.strftime('%Y-%m-%d')}, course {source})")
    identity = [] if subprocess.run(["git", "config", "user.email"], cwd=target, capture_output=True).stdout \
        else ["-c", "user.name=course release", "-c", "user.email=release@course.invalid"]
    git(target, *identity, "commit", "--quiet", "-m", message)
    return f"{target}: {message}"


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="course.py release", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="the class edition's git repository (created if missing)")
    parser.add_argument("--open", type=int, required=True, metavar="N", help="release chapters 1..N")
    parser.add_argument("--closed", type=int, required=True, metavar="K",
                        help="give out the course's solutions of chapters 1..K (their deadline has passed)")
    args = parser.parse_args(argv)
    try:
        print(release(args.folder, args.open, args.closed))
    except ReleaseError as error:
        print(f"release refused: {error}")
        return 1
    return 0
