"""The generated files (chapters/, nnlib/) are what solutions/ generates."""
import json
import os
import subprocess
import sys

from autograder.cells import grade_id_of
from autograder.authoring.build import blank_release, build
from autograder.layout import HERE


def test_chapters_and_nnlib_are_in_sync_with_solutions():
    # On a learner's copy, files holding their own work are reported and skipped; CI is strict.
    assert build(check=True, strict=bool(os.environ.get("CI"))), \
        "chapters/ or nnlib/ is out of date: run `python3 course.py build`"


def test_new_gradebooks_get_the_schema_revision_alembic_names(tmp_path):
    """nbgrader_api replaces nbgrader's 3 s call of the `alembic` command with alembic_head."""
    import nbgrader.api

    from autograder.authoring import build as building

    building.nbgrader_api(tmp_path)
    assert nbgrader.api.get_alembic_version is building.alembic_head
    assert building.alembic_head() == building.ALEMBIC_COMMAND()


def test_gradebooks_of_one_url_share_an_engine_and_closing_one_keeps_the_data(tmp_path):
    """nbgrader_api makes nbgrader open a gradebook URL's engine once per process (SQL compiled once);
    a gradebook closed and opened again, on the shared engine, reads what the first one wrote."""
    import nbgrader.api

    from autograder.authoring import build as building

    building.nbgrader_api(tmp_path)
    url, other = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    with nbgrader.api.Gradebook(url) as gradebook:
        gradebook.add_student("ada")
        first = gradebook.engine
    with nbgrader.api.Gradebook(url) as gradebook:
        assert gradebook.engine is first
        assert [student.id for student in gradebook.students] == ["ada"]
    with nbgrader.api.Gradebook(other) as gradebook:
        assert gradebook.engine is not first
        assert gradebook.students == []


def test_the_release_checks_pass_on_a_learners_clone(tmp_path):
    """On a clone where a learner filled an exercise in chapters/ (where learners worked before
    work/ existed) and in work/, the checks that need the blank release still pass: they make it
    from solutions/, never from chapters/ as the learner left it. (The clone holds the committed
    course.)"""
    from test_release import run, share_environment, solve

    clone = tmp_path / "clone"
    run(tmp_path, "git", "clone", "--quiet", str(HERE.root), str(clone))
    share_environment(clone)
    for folder in (clone / "chapters" / "02_autograd", clone / "work" / "02_autograd"):
        folder.mkdir(parents=True, exist_ok=True)
        notebook = folder / "autograd.ipynb"
        notebook.write_text(blank_release("02_autograd"))
        solve(notebook, "02_autograd")
        worked = json.loads(notebook.read_text())  # and the neuron exercise still has a bug
        for cell in worked["cells"]:
            if grade_id_of(cell) == "neuron":
                cell["source"] += "\nNeuron.__call__ = lambda self, x: 1 / 0\n"
        notebook.write_text(json.dumps(worked))
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "CI")}
    result = subprocess.run(
        [sys.executable, "course.py", "test", "-s",
         "tests/test_pipeline.py::test_chapters_and_nnlib_are_in_sync_with_solutions",
         "tests/test_grading.py::test_every_case_of_the_blank_notebook_stops_at_a_stub[02_autograd]"],
        cwd=clone, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "2 passed" in result.stdout
