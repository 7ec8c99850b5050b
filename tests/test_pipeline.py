"""The generated files (chapters/, nnlib/) are what solutions/ generates."""
import os

from autograder.build import build


def test_chapters_and_nnlib_are_in_sync_with_solutions():
    # On a learner's copy, files holding their own work are reported and skipped; CI is strict.
    assert build(check=True, strict=bool(os.environ.get("CI"))), \
        "chapters/ or nnlib/ is out of date: run `python3 course.py build`"
