"""The nnlib a chapter's code may import while it is checked or graded: no answer to it, or to a
later chapter.

The course's nnlib holds the reference modules of every chapter: the answers. While chapter N is
checked (`course.py check N`) or graded, its kernel imports a copy of nnlib that holds

- the modules written by hand (`testing`, `plaindata`, `data`, `referee`, the package files), which give
  nothing away;
- the modules of chapters 1 .. N-1: for grading, the course's reference versions; for `check`,
  the library the learner's code will run with (their own export where they made one, else the
  course's reference where it is given out, else nothing: in a class edition, an open chapter
  they have not exported);

and nothing of chapters N and later. Importing one of those gives an ImportError.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from autograder.authoring.export import module_path, write_atomically
from autograder.layout import HERE, Course


def earlier_modules(chapter: str, course: Course = HERE) -> list[str]:
    """The modules of the released chapters before `chapter`."""
    return [module for module, owner in course.modules().items() if owner < chapter]


def write_library(target: Path, chapter: str, learners: bool = False, course: Course = HERE) -> Path:
    """Write the nnlib that `chapter`'s code may import into `target`/nnlib (replacing it);
    return that folder. `learners`: the earlier chapters as the learner's library has them (for
    `check`), else the course's reference versions, generated from solutions/ (for grading)."""
    package = target / "nnlib"
    shutil.rmtree(package, ignore_errors=True)
    for relative in course.hand_written():
        (package / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(course.package / relative, package / relative)
    if learners:
        texts = {}
        for module in earlier_modules(chapter, course):
            found = [path for path in (course.mine(module), course.reference(module)) if path.exists()]
            if found:
                texts[module] = found[0].read_text()
    else:
        from autograder.authoring.build import reference_modules

        texts = {module: text for module, (notebook, text) in reference_modules(course).items()
                 if notebook.parent.name < chapter}
    for module, text in texts.items():
        write_atomically(module_path(package, module), text)
    return package
