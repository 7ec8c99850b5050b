"""The text form of a notebook packs to nbgrader source format and unpacks unchanged."""
from autograder.authoring.nbtext import pack, unpack

TEXT = """\
%% md
# Title

%% solution id=ex
def f():
    ### BEGIN SOLUTION
    return 1
    ### END SOLUTION

%% tests id=test_ex points=2
assert f()

%% code tags=skip-when-grading,other
print(f())
"""


def test_round_trip_is_exact():
    assert unpack(pack(TEXT, "nb")) == TEXT


def test_cells_get_nbgrader_metadata():
    md, solution, tests, _ = pack(TEXT, "nb")["cells"]
    assert "nbgrader" not in md["metadata"]
    assert solution["metadata"]["nbgrader"]["solution"] and not solution["metadata"]["nbgrader"]["grade"]
    grade = tests["metadata"]["nbgrader"]
    assert grade["grade"] and grade["locked"] and grade["points"] == 2 and grade["grade_id"] == "test_ex"


def test_tags_become_jupyter_tags():
    *_, plain = pack(TEXT, "nb")["cells"]
    assert plain["metadata"] == {"tags": ["skip-when-grading", "other"]}
