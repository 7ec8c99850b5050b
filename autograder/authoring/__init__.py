"""Authoring: the course's notebooks in solutions/ become the learner's chapters/, nnlib's
reference modules and the class edition.

    build.py    solutions/ -> chapters/ (nbgrader's generate_assignment) and nnlib/ (export.py)
    export.py   the `#| export` cells of a notebook as nnlib modules
    nbtext.py   notebooks as plain text, and back (to write and review them)
    release.py  the class edition: chapters on a schedule, no solutions, no hidden tests

Nothing here runs a learner's code: authoring imports neither the execution layer nor grading
nor the learner's commands (tests/test_imports.py).
"""
