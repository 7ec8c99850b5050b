"""Regenerate chapters/ and nnlib/ from solutions/, or check that they are up to date.

- chapters/NN_name/name.ipynb: the learner notebooks, made by nbgrader's `generate_assignment`
  (solutions become stubs, hidden tests vanish, outputs are cleared, cells are locked).
- nnlib/MODULE.py: the reference modules, made from the `#| export` cells (see export.py).

A learner's own work is never overwritten: a chapter notebook they have worked in is moved to a
dated backup first, and a module they exported is left alone (see `python3 course.py restore`).
"""
from __future__ import annotations

import functools
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from autograder import layout
from autograder.authoring.export import REFERENCE_MARK, collect, module_path, reference_header, render, \
    write_atomically
from autograder.layout import HERE, Course

IGNORED = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc")
ALEMBIC_COMMAND = None  # nbgrader's own get_alembic_version, once nbgrader_api has replaced it (hooks.py)
CREATE_ENGINE = None    # SQLAlchemy's create_engine, once nbgrader_api has replaced nbgrader's (hooks.py)
_engines: dict[tuple, object] = {}


class BuildError(Exception):
    """solutions/ cannot be turned into chapters/ and nnlib/."""


def source_notebooks(course: Course = HERE) -> list[Path]:
    """solutions/NN_name/name.ipynb for every chapter, in chapter order."""
    return sorted(path for path in course.solutions.glob("*/*.ipynb"))


def alembic_head() -> str:
    """The newest revision of nbgrader's gradebook schema, read from its migration scripts.

    nbgrader writes it into every new gradebook, and gets it by running the `alembic` command,
    which takes 3 s. `nbgrader_api` puts this in its place; if the scripts do not name exactly
    one newest revision, it asks alembic as nbgrader does."""
    import nbgrader.api

    revisions, parents = set(), set()
    for script in (Path(nbgrader.api.__file__).parent / "alembic" / "versions").glob("*.py"):
        text = script.read_text()
        revisions.update(re.findall(r"^revision = ['\"](\w+)['\"]", text, re.M))
        parents.update(re.findall(r"^down_revision = ['\"](\w+)['\"]", text, re.M))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else ALEMBIC_COMMAND()


def shared_engine(url, **options):
    """The SQLAlchemy engine for a gradebook URL (and options), made once per process.

    nbgrader makes a new engine each time it opens a gradebook, several times per submission, and
    SQLAlchemy keeps the SQL it compiles in the engine: with a fresh engine, every query is
    compiled again (a tenth of a grading worker's time). `nbgrader_api` puts this in place of
    nbgrader's create_engine. Closing a gradebook still closes its connections (engine.dispose
    empties the pool; the engine stays usable)."""
    key = (str(url), tuple(sorted(options.items())))
    if key not in _engines:
        _engines[key] = CREATE_ENGINE(url, **options)
    return _engines[key]


def nbgrader_api(course_dir: Path, timeout: int = 30):
    """An nbgrader API object for a course directory with its own gradebook, quiet unless it fails.

    `timeout` is the limit, in seconds, for each cell when nbgrader executes a notebook.
    """
    global ALEMBIC_COMMAND, CREATE_ENGINE
    import nbgrader.api
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    if nbgrader.api.get_alembic_version is not alembic_head:
        ALEMBIC_COMMAND, nbgrader.api.get_alembic_version = nbgrader.api.get_alembic_version, alembic_head
    if nbgrader.api.create_engine is not shared_engine:
        CREATE_ENGINE, nbgrader.api.create_engine = nbgrader.api.create_engine, shared_engine

    # nbgrader runs its environment's `alembic` command: make sure it is found outside an activated venv.
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")

    config = Config()
    config.CourseDirectory.root = str(course_dir)
    config.CourseDirectory.db_url = f"sqlite:///{course_dir / 'gradebook.db'}"
    config.Execute.timeout = timeout
    config.Application.log_level = logging.WARNING
    return NbGraderAPI(config=config)


def generate_chapters(only: str | None = None, course: Course = HERE) -> dict[str, bytes]:
    """The learner notebooks nbgrader generates (of chapter `only`, or of all), as {path relative
    to the course's root: content}."""
    generated = {}
    chapters = course.chapters.relative_to(course.root).as_posix()
    with tempfile.TemporaryDirectory() as tmp:
        nbgrader_course = Path(tmp)
        shutil.copytree(course.solutions, nbgrader_course / "source", ignore=IGNORED)
        api = nbgrader_api(nbgrader_course)
        for notebook in source_notebooks(course):
            chapter = notebook.parent.name
            if only not in (None, chapter):
                continue
            result = api.generate_assignment(chapter, force=True)
            if not result["success"]:
                raise BuildError(f"nbgrader could not generate {chapter}:\n{result.get('log', '')}"
                                 f"\n{result.get('error', '')}")
            for path in sorted((nbgrader_course / "release" / chapter).rglob("*")):
                if path.is_file():
                    relative = path.relative_to(nbgrader_course / "release")
                    generated[f"{chapters}/{relative.as_posix()}"] = path.read_bytes()
    return generated


@functools.lru_cache(maxsize=None)
def blank_release(chapter: str, course: Course = HERE) -> str:
    """The learner notebook of `chapter` as solutions/ generates it, as JSON text: what a fresh
    chapters/ holds, whatever someone wrote in this checkout's chapters/."""
    [text] = generate_chapters(chapter, course).values()
    return text.decode()


def reference_modules(course: Course = HERE) -> dict[str, tuple[Path, str]]:
    """{module: (the solution notebook that exports it, its reference text)} for every module."""
    modules: dict[str, tuple[Path, str]] = {}
    for notebook in source_notebooks(course):
        source = notebook.relative_to(course.solutions.parent).as_posix()  # solutions/NN_name/name.ipynb
        for module, cells in collect(notebook).items():
            if module in modules:
                first = modules[module][0].relative_to(course.solutions.parent).as_posix()
                raise BuildError(f"nnlib.{module} is exported by both {first} and {source}")
            modules[module] = (notebook, render(module, cells, reference_header(source)))
    return modules


def generate_modules(course: Course = HERE) -> dict[str, bytes]:
    """The reference nnlib modules, as {path relative to the course's root: content}."""
    return {module_path(course.package, module).relative_to(course.root).as_posix(): text.encode()
            for module, (_, text) in reference_modules(course).items()}


def holds_learner_work(path: Path) -> bool:
    """Whether a file in chapters/ or nnlib/ holds a learner's work rather than generated content
    (from before learners worked in work/: see layout.py)."""
    if path.suffix == ".py":
        return layout.is_generated(path) and not layout.is_reference(path)
    if path.suffix != ".ipynb":
        return False
    try:
        return layout.holds_learner_work(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError, AttributeError):
        return True


def stale_files(generated: dict[str, bytes], course: Course = HERE) -> list[Path]:
    """Generated files whose source is gone: chapter folders and reference modules."""
    chapters = {(course.root / key).relative_to(course.chapters).parts[0] for key in generated
                if (course.root / key).is_relative_to(course.chapters)}
    stale = [path for path in sorted(course.chapters.iterdir())
             if path.is_dir() and path.name not in chapters] if course.chapters.exists() else []
    for path in sorted(course.package.rglob("*.py")):
        relative = path.relative_to(course.root)
        if relative.as_posix() not in generated and not path.relative_to(course.package).parts[0].startswith(".") \
                and REFERENCE_MARK in path.read_text().partition("\n")[0]:
            stale.append(path)
    return stale


def build(check: bool = False, strict: bool = False, course: Course = HERE) -> bool:
    """Write (or, with check=True, compare) everything generated from solutions/. True if all is well.

    In check mode a difference fails, except in files that hold a learner's own work, which are
    reported and skipped unless `strict` (what CI uses: a clean clone holds no learner work).
    """
    generated = {**generate_modules(course), **generate_chapters(course=course)}
    problems, skipped = [], []
    for relative, content in generated.items():
        path = course.root / relative
        if path.exists() and path.read_bytes() == content:
            continue
        learner_work = path.exists() and holds_learner_work(path)
        if check:
            if learner_work and not strict:
                skipped.append(relative)
            else:
                problems.append(f"{relative} is {'out of date' if path.exists() else 'missing'}")
            continue
        if learner_work and path.suffix == ".py":
            print(f"kept {relative}: it holds your own export (`python3 course.py restore` "
                  "puts the reference back)")
            continue
        if learner_work:
            backup = path.with_name(f"{path.stem}.backup-{time.strftime('%Y%m%d-%H%M%S')}.ipynb")
            path.replace(backup)
            print(f"your work in {relative} is kept in {backup.relative_to(course.root)}")
        write_atomically(path, content.decode())
        print(f"wrote {relative}")
    stale = stale_files(generated, course)
    problems += [f"{path.relative_to(course.root)} has no source in solutions/" for path in stale]
    for relative in skipped:
        print(f"skipped {relative}: it holds your own work")
    if check and problems:
        print("Generated files differ from what solutions/ generates:\n  " + "\n  ".join(problems))
        print("Run `python3 course.py build` and commit the result.")
        return False
    if not check:
        for path in stale:
            print(f"warning: {path.relative_to(course.root)} has no source in solutions/; remove it if unused")
    return True
