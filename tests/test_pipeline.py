"""The generated files (chapters/, nnlib/) are what solutions/ generates."""
import os

from autograder.build import build


def test_chapters_and_nnlib_are_in_sync_with_solutions():
    # On a learner's copy, files holding their own work are reported and skipped; CI is strict.
    assert build(check=True, strict=bool(os.environ.get("CI"))), \
        "chapters/ or nnlib/ is out of date: run `python3 course.py build`"


def test_new_gradebooks_get_the_schema_revision_alembic_names(tmp_path):
    """nbgrader_api replaces nbgrader's 3 s call of the `alembic` command with alembic_head."""
    import nbgrader.api

    from autograder import build as building

    building.nbgrader_api(tmp_path)
    assert nbgrader.api.get_alembic_version is building.alembic_head
    assert building.alembic_head() == building.ALEMBIC_COMMAND()
