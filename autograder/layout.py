"""Where everything lives in a checkout of the course: the course's own repository and a class
edition (`course.py release`) alike.

    chapters/NN_name/name.ipynb  the release: each chapter's notebook as the course hands it out
                                 (no answers, no hidden tests). The course writes it; a learner
                                 never needs to.
    nnlib/                       the library: the modules written by hand, and the course's
                                 reference modules of the chapters whose answers are given out
                                 (every chapter in the course's repository; in a class edition,
                                 the chapters whose deadline has passed).
    work/NN_name/name.ipynb      the learner's notebooks: copied from the release the first time
                                 (`lab`, `check`, `export`, `status`), then only ever written by
                                 the learner.
    work/nnlib/MODULE.py         the learner's exports. `import nnlib.MODULE` finds them before the
                                 course's reference (nnlib/__init__.py puts work/nnlib first on
                                 the package's path).
    work/backups/                what `export` and `restore` replaced, with a time stamp.
    solutions/                   the instructor's notebooks: only in the course's repository.

No release ever writes in work/, and a learner's commands never write outside it, so a `git pull`
of the next release cannot collide with a learner's work.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from autograder.authoring.export import GENERATED, REFERENCE_MARK, collect, module_path
from autograder.cells import cell_source, is_solution

ROOT = Path(__file__).resolve().parent.parent
EDITION_FILE = "course-edition.json"  # what a class edition released (`course.py release`)


@dataclass(frozen=True)
class Course:
    """The paths of one checkout of the course, rooted at `root`: the value every command is
    given (`HERE` for this checkout). Each path defaults to its place under `root`; a test
    builds a course in a temporary folder (`Course(tmp_path)`), or another view of this one
    (`dataclasses.replace(HERE, solutions=...)`), instead of changing module globals."""
    root: Path
    solutions: Path | None = None
    chapters: Path | None = None
    package: Path | None = None
    work: Path | None = None
    tests: Path | None = None

    def __post_init__(self):
        for name, folder in (("solutions", "solutions"), ("chapters", "chapters"), ("package", "nnlib"),
                             ("work", "work"), ("tests", "tests")):
            if getattr(self, name) is None:
                object.__setattr__(self, name, self.root / folder)

    @property
    def work_package(self) -> Path:
        return self.work / "nnlib"

    @property
    def backups(self) -> Path:
        return self.work / "backups"

    def chapter_names(self) -> list[str]:
        """The released chapters' folders, in order: ['01_derivatives', '02_autograd', ...]."""
        if not self.chapters.is_dir():
            return []
        return sorted(path.name for path in self.chapters.iterdir()
                      if path.is_dir() and any(path.glob("*.ipynb")))

    def release_notebook(self, chapter: str) -> Path:
        return min((self.chapters / chapter).glob("*.ipynb"))

    def work_notebook(self, chapter: str) -> Path:
        return self.work / chapter / self.release_notebook(chapter).name

    def modules(self) -> dict[str, str]:
        """{module: the chapter that exports it} for every released chapter, read from the
        release's `#| export` cells (so it needs no solutions)."""
        return {module: chapter for chapter in self.chapter_names()
                for module in collect(self.release_notebook(chapter))}

    def reference(self, module: str) -> Path:
        """Where the course's reference module is, when it is given out."""
        return module_path(self.package, module)

    def mine(self, module: str) -> Path:
        """Where the learner's export of `module` goes."""
        return module_path(self.work_package, module)

    def hand_written(self) -> list[Path]:
        """nnlib's files that no chapter generates, relative to the package."""
        return sorted(path.relative_to(self.package) for path in self.package.rglob("*.py")
                      if "__pycache__" not in path.parts and not is_generated(path))


HERE = Course(ROOT)


def is_generated(path: Path) -> bool:
    """Whether a module was generated from a notebook (the course's reference or an export)."""
    with path.open() as file:
        return file.readline().startswith(GENERATED)


def is_reference(path: Path) -> bool:
    with path.open() as file:
        return REFERENCE_MARK in file.readline()


def holds_learner_work(notebook: dict) -> bool:
    """Whether a chapter notebook has been worked in: outputs, or an exercise without its stub."""
    for cell in notebook["cells"]:
        if cell.get("outputs") or cell.get("execution_count"):
            return True
        if is_solution(cell) and \
                "raise NotImplementedError()" not in cell_source(cell):
            return True
    return False


def find_chapter(name: str, folder: Path) -> str:
    """The chapter folder in `folder` a person means by '1', '01', '01_derivatives' or
    'derivatives'; LookupError naming the chapters if there is none."""
    chapters = sorted(path.name for path in folder.iterdir() if path.is_dir()) if folder.is_dir() else []
    for chapter in chapters:
        number, _, title = chapter.partition("_")
        if name in (chapter, title) or (name.isdigit() and number.isdigit() and int(name) == int(number)):
            return chapter
    raise LookupError(f"No chapter {name!r}; the chapters are: {', '.join(chapters) or 'none'}")


def nnlib_imports(path: Path, known: set[str]) -> set[str]:
    """The nnlib modules among `known` that a Python file imports, and 'autograder' if it
    imports the tooling. `from nnlib.optim import SGD` counts as nnlib.optim.sgd (a name
    imported from a package, in lower case, when that is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name.lower()}" for alias in node.names]
        for name in names:
            if name.split(".")[0] == "autograder":
                found.add("autograder")
            elif name.startswith("nnlib.") and name.removeprefix("nnlib.") in known:
                found.add(name.removeprefix("nnlib."))
    return found
