"""The nnlib a chapter's code may import while it is checked or graded: no answer to it, or to a
later chapter.

nnlib holds the reference modules of every chapter: the answers. While chapter N is checked
(`course.py check N`) or graded, its kernel imports a copy of nnlib that holds

- the modules written by hand (`testing`, `plaindata`, `data`, the package files), which give
  nothing away;
- the modules of chapters 1 .. N-1: for grading, the course's reference versions; for `check`,
  the learner's nnlib as it is (their own exports, or the reference where they have not
  exported), so that a chapter is checked against the library it will run with;

and nothing of chapters N and later. Importing one of those gives an ImportError.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from autograder import build
from autograder.export import module_path, write_atomically


def chapter_of_modules() -> dict[str, str]:
    """{module: the chapter folder that exports it}, e.g. {"engine": "02_autograd", ...}."""
    return {module: notebook.parent.name for module, (notebook, _) in build.reference_modules().items()}


def hand_written() -> list[Path]:
    """nnlib's files that no chapter exports, relative to the package."""
    generated = {module_path(build.PACKAGE, module) for module in build.reference_modules()}
    return sorted(path.relative_to(build.PACKAGE) for path in build.PACKAGE.rglob("*.py")
                  if path not in generated and ".backup" not in path.parts)


def write_library(target: Path, chapter: str, learners: bool = False) -> Path:
    """Write the nnlib that `chapter`'s code may import into `target`/nnlib (replacing it);
    return that folder. `learners`: earlier chapters as in the learner's nnlib, else the
    reference versions."""
    package = target / "nnlib"
    shutil.rmtree(package, ignore_errors=True)
    for relative in hand_written():
        (package / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(build.PACKAGE / relative, package / relative)
    for module, (notebook, text) in build.reference_modules().items():
        if notebook.parent.name >= chapter:
            continue
        mine = module_path(build.PACKAGE, module)
        if learners and mine.exists():
            text = mine.read_text()
        write_atomically(module_path(package, module), text)
    return package
