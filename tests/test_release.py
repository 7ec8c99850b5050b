"""The class edition (`course.py release`): it holds no answer to an open chapter and no hidden
test, a learner's commands work inside it, and pulling the next release loses none of their work."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import venv
from pathlib import Path

import pytest

from autograder.cells import is_solution, nbgrader_of
from autograder.authoring import release
from autograder.layout import HERE

CHAPTERS = HERE.chapter_names()


def run(folder: Path, *args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(args, cwd=folder, capture_output=True, text=True, timeout=timeout,
                            env={**env, "CI": "true"})
    if check and result.returncode:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def course(folder: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`python3 course.py ARGS` in a checkout, as a learner runs it."""
    return run(folder, sys.executable, "course.py", *args, check=check)


def tracked_files(folder: Path) -> dict[str, bytes]:
    return {path: (folder / path).read_bytes()
            for path in run(folder, "git", "ls-files").stdout.splitlines()}


def share_environment(checkout: Path) -> None:
    """Give a checkout a .venv that uses this environment's installed packages (nothing is
    downloaded; a .pth file puts the checkout, then our site-packages, on its path) and that
    course.py's setup finds up to date; with the two Jupyter commands `lab` runs."""
    env = checkout / ".venv"
    venv.EnvBuilder(with_pip=False).create(env)
    site = next((env / "lib").glob("python3*/site-packages"))
    ours = next(path for path in sys.path if path.endswith("site-packages") and path.startswith(sys.prefix))
    (site / "_course.pth").write_text(f"{checkout}\n{ours}\n")
    for name, module in (("jupyter", "jupyter_core.command"), ("jupyter-lab", "jupyterlab.labapp")):
        script = env / "bin" / name
        script.write_text(f"#!{env / 'bin' / 'python'}\nimport sys\nfrom {module} import main\nsys.exit(main())\n")
        script.chmod(0o755)
    spec = importlib.util.spec_from_file_location("edition_course", checkout / "course.py")
    setup = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup)
    (env / ".course-setup").write_text(setup.setup_fingerprint())


def solve(notebook: Path, chapter: str) -> None:
    """Put the course's answers into the exercises of a learner's notebook, as a learner would."""
    solution = json.loads(min((HERE.solutions / chapter).glob("*.ipynb")).read_text())
    answers = {cell["metadata"]["nbgrader"]["grade_id"]: cell["source"] for cell in solution["cells"]
               if is_solution(cell)}
    work = json.loads(notebook.read_text())
    for cell in work["cells"]:
        meta = nbgrader_of(cell)
        if meta.get("solution"):
            cell["source"] = answers[meta["grade_id"]]
    notebook.write_text(json.dumps(work))


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    """The class repository after a release of chapters 1-3 with chapter 1 closed, and a learner's
    clone of it with a venv."""
    root = tmp_path_factory.mktemp("release")
    remote, clone = root / "class", root / "learner"
    said = release.release(remote, 3, 1)
    assert "chapters 01-03, solutions of 01-01" in said
    run(root, "git", "clone", "--quiet", str(remote), str(clone))
    share_environment(clone)
    return remote, clone


def test_an_edition_holds_the_released_chapters_and_the_closed_chapters_solutions_only(editions):
    remote, _ = editions
    files = tracked_files(remote)
    assert release.leaks(files, CHAPTERS[1:3]) == []
    assert {path.split("/")[1] for path in files if path.startswith("chapters/")} == set(CHAPTERS[:3])
    modules = HERE.modules()
    generated = {path for path in files if path.startswith("nnlib/") and path.endswith(".py")
                 and files[path].startswith(b"# Generated from ")}
    assert generated == {f"nnlib/{module.replace('.', '/')}.py" for module, chapter in modules.items()
                         if chapter == CHAPTERS[0]}
    assert not any(path.startswith(("solutions/", "bench/", ".ci/")) for path in files)
    assert {path for path in files if path.startswith("autograder/")} == {
        f"autograder/{name}.py" for name in release.LEARNER_TOOLING}
    assert "tests/test_engine.py" in files and "tests/test_classification.py" not in files
    readme = files["README.md"].decode()
    assert "Class edition" in readme and "## Teaching with it" not in readme and "### Your files" in readme
    assert "| 3. " in readme and "| 4. " not in readme
    assert json.loads(files["course-edition.json"]) == {"open": CHAPTERS[:3], "closed": CHAPTERS[:1]}
    assert len(run(remote, "git", "log", "--oneline").stdout.splitlines()) == 1


def test_the_learners_commands_work_in_an_edition_and_a_pull_keeps_their_work(editions, tmp_path):
    remote, clone = editions
    status = course(clone, "status").stdout
    assert "your notebook of 03_backprop: work/03_backprop/backprop.ipynb" in status
    assert "nnlib.derivatives (reference)" in status
    assert "nnlib.engine (missing), nnlib.neurons (missing), nnlib.graph (missing) (missing: not in your " \
        "library yet; `python3 course.py export 2` puts your code there)" in status
    assert course(clone, "build", check=False).returncode != 0  # the instructor's commands are not here
    tests = course(clone, "test", "-rs", "tests/test_derivatives.py", "tests/test_engine.py").stdout
    assert re.search(r"\d+ passed, 1 skipped", tests), tests
    assert "needs nnlib.derivatives" not in tests and "`python3 course.py export 2` puts your code there" in tests

    # The learner solves chapter 2 and exports it; the library's tests then run on their engine.
    solve(clone / "work" / "02_autograd" / "autograd.ipynb", CHAPTERS[1])
    exported = course(clone, "export", "2").stdout
    assert "nnlib.engine now holds your code (work/nnlib/engine.py)" in exported
    assert "skipped" not in course(clone, "test", "tests/test_engine.py").stdout
    notes = clone / "work" / "03_backprop" / "backprop.ipynb"
    notes.write_text(notes.read_text().replace("raise NotImplementedError()", "pass  # my attempt", 1))
    work = {path: path.read_bytes() for path in (clone / "work").rglob("*") if path.is_file()}
    assert course(clone, "restore", "engine").returncode == 0  # no reference yet: kept
    assert (clone / "work" / "nnlib" / "engine.py").exists()

    # The next release: chapters 1-4, solutions of 1-3. The learner pulls: no conflict, nothing lost.
    said = release.release(remote, 4, 3)
    assert "chapters 01-04, solutions of 01-03" in said
    assert release.leaks(tracked_files(remote), CHAPTERS[3:4]) == []
    pulled = run(clone, "git", "pull", "--quiet", "--ff-only")
    assert pulled.returncode == 0
    assert {path: path.read_bytes() for path in (clone / "work").rglob("*") if path.is_file()} == work
    assert (clone / "nnlib" / "engine.py").exists() and (clone / "chapters" / CHAPTERS[3]).is_dir()
    share_environment(clone)  # pyproject or course.py may have changed: setup would run again
    status = course(clone, "status").stdout
    assert "nnlib.engine (yours)" in status and "nnlib.layers (reference)" in status
    assert f"your notebook of {CHAPTERS[3]}" in status
    checked = course(clone, "check", "4", check=False)
    assert checked.returncode == 1 and "not done yet" in checked.stdout
    assert "Error" not in checked.stdout.replace("NotImplementedError", ""), checked.stdout


def test_lab_opens_the_learners_notebooks(editions):
    _, clone = editions
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    lab = subprocess.Popen([sys.executable, "course.py", "lab"], cwd=clone, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, env={**env, "CI": "true"})
    try:
        address = None
        deadline = time.monotonic() + 120
        while address is None and time.monotonic() < deadline:
            line = lab.stdout.readline()
            match = re.search(r"open the course at\s+(http://127\.0\.0\.1:(\d+))/lab\?token=(\w+)", line)
            if match:
                address = match
        assert address, "course.py lab printed no address"
        url = f"{address[1]}/api/contents?token={address[3]}"
        for _ in range(100):
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    listing = json.load(response)
                break
            except OSError:
                time.sleep(0.5)
        assert {item["name"] for item in listing["content"]} >= set(CHAPTERS[:3])
    finally:
        lab.terminate()
        lab.wait(timeout=30)


def test_a_release_refuses_leaks_changes_and_taking_back(tmp_path, monkeypatch):
    answer = next(iter(line for line in release.answer_lines(release.solution_notebooks()[CHAPTERS[1]])
                       if len(line) >= release.MIN_ANSWER_LINE and line not in release.NOT_ANSWERS))
    found = release.leaks({"nnlib/helpers.py": f"def f(a, b, out):\n    {answer}\n".encode()}, [CHAPTERS[1]])
    assert found == [f"nnlib/helpers.py:2: the solution of an exercise of {CHAPTERS[1]}: {answer}"]
    assert release.leaks({"nnlib/helpers.py": answer.encode()}, []) == []  # once closed, it may
    target = tmp_path / "class"
    release.release(target, 2, 0)
    (target / "README.md").write_text("changed by hand")
    with pytest.raises(release.ReleaseError, match="changes nobody committed"):
        release.release(target, 3, 0)
    run(target, "git", "checkout", "README.md")
    with pytest.raises(release.ReleaseError, match="never takes back"):
        release.release(target, 1, 0)
    assert "nothing changed" in release.release(target, 2, 0)
    with pytest.raises(release.ReleaseError, match="inside the course's repository"):
        release.release(HERE.root / "class", 1, 0)


def test_an_edition_of_every_chapter_holds_no_answer_of_an_open_one(tmp_path):
    """The last release of a term: every chapter out, the last one still open. Nothing of the open chapter's
    answers (the convolution kernels of chapter 6 included) is anywhere in it; the closed chapters' are."""
    last = len(CHAPTERS)
    target = tmp_path / "class"
    release.release(target, last, last - 1)
    files = tracked_files(target)
    assert release.leaks(files, CHAPTERS[-1:]) == []
    assert {path.split("/")[1] for path in files if path.startswith("chapters/")} == set(CHAPTERS)
    modules = HERE.modules()
    generated = {path for path in files if path.startswith("nnlib/") and files[path].startswith(b"# Generated from ")}
    assert generated == {f"nnlib/{module.replace('.', '/')}.py" for module, chapter in modules.items()
                         if chapter != CHAPTERS[-1]}
    assert any(chapter == CHAPTERS[-1] for chapter in modules.values()), "the last chapter exports a module"
    assert all(f"| {number}. " in files["README.md"].decode() for number in range(1, last + 1))
