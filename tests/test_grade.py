"""`course.py grade`: hostile and broken submissions of a tiny chapter, each checked for the
outcome it must have, plus chapter 2 for real. Most submissions are graded in one run
(`graded`, module-scoped); each test reads one student's result."""
import json
import os
import shutil
import socket
import time
import zipfile

import pytest

from dataclasses import replace

from autograder.cells import grade_id_of, is_graded, is_solution, nbgrader_of
from autograder.grading import grade as grading
from autograder.layout import HERE
from autograder.authoring.build import blank_release, nbgrader_api
from autograder.authoring.nbtext import pack, write_notebook
from autograder.execution.sandbox import KernelLauncher, Limits

MARKER = "SECRET_MARKER_7f3a"  # appears only in hidden tests
CHAPTER = f"""\
%% code
import numpy as np
from nnlib.testing import check

%% solution id=double
def double(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION

%% tests id=test_double points=2
def probe_double(x):
    return {{"y": double(x)}}

check(probe_double, {{"x": 1.5}}, expect={{"y": 3.0}})
### BEGIN HIDDEN TESTS
check(probe_double, {{"x": -4.0}}, expect={{"y": -8.0}})  # {MARKER}
### END HIDDEN TESTS

%% code tags=skip-when-grading
import os
os._exit(1)  # an illustration: were it run, the kernel would die

%% solution id=square
def square(x):
    ### BEGIN SOLUTION
    return x * x
    ### END SOLUTION

%% tests id=test_square points=3
def probe_square(x):
    return {{"y": square(x)}}

check(probe_square, {{"x": np.arange(3.0)}}, expect={{"y": np.array([0.0, 1.0, 4.0])}})
### BEGIN HIDDEN TESTS
# {MARKER}
check(probe_square, {{"x": np.array([-2.0, 0.5])}}, expect={{"y": np.array([4.0, 0.25])}})
check(probe_square, {{"x": np.array([3.0, -1.5, 0.0])}})
### END HIDDEN TESTS

%% code
import os
os._exit(1)  # after the last test: were it run, the kernel would die
"""
DOUBLE = "def double(x):\n    return x + x\n"
SQUARE = "def square(x):\n    return x ** 2\n"
WRONG_DOUBLE = "def double(x):\n    return 3.0\n"  # passes no test
WRONG_SQUARE = "def square(x):\n    return np.array([0.0, 1.0, 4.0])\n"  # passes the visible test only
FULL = {"test_double": (2, "graded", ""), "test_square": (3, "graded", "")}  # all points
LIMITS = Limits(timeout=4, wall=14, memory_mb=2048, outcomes_mb=1)
# Ways to forge a grade when the verdict is made in the learner's process (issue 11), each as
# (a cell run after the imports, code run inside the learner's functions, i.e. during the probes).
# Each is graded on the blank notebook and on a wrong one.
FORGE = "import nnlib.testing\nfrom nnlib.plaindata import dumps\n"
TRACER = ("import sys\n\ndef tracer(frame, event, arg):\n    if event == 'call' and frame.f_code.co_name "
          "in ('judge', 'compare', 'run_probe'):\n        frame.f_lineno = frame.f_code.co_firstlineno + 1\n"
          "    return tracer")
ATTACKS = {
    "input_transformer": ("", "get_ipython().input_transformer_manager.line_transforms.append(\n"
                              "    lambda lines: ['pass\\n' if l.lstrip().startswith(('assert', 'check', 'def'))"
                              " else l for l in lines])"),
    "displayhook": ("import sys", "sys.displayhook('looks fine')"),
    "settrace": (TRACER, "sys.settrace(tracer)"),
    "code_swap": ("import nnlib.testing", "for name in ('assert_close', 'compare', 'judge', 'check'):\n"
                  "    getattr(nnlib.testing, name).__code__ = (lambda *args, **kwargs: []).__code__"),
    "ast_and_custom_exc": ("import ast\n\nclass Gut(ast.NodeTransformer):\n"
                           "    def visit_Module(self, node):\n"
                           "        return ast.Module(body=[ast.Pass()], type_ignores=[])",
                           "shell = get_ipython()\nshell.set_custom_exc((Exception,), lambda *a, **k: None)\n"
                           "shell.ast_transformers.append(Gut())\n"
                           "shell.events.register('pre_run_cell', lambda *args: None)"),
    "thread": (FORGE + "import threading, time\n\ndef forge():\n    while True:\n"
                       "        nnlib.testing.run_probe = lambda probe, inputs: dumps(('returned', {'y': 3.0}))\n"
                       "        time.sleep(0.0003)\n\nthreading.Thread(target=forge, daemon=True).start()", ""),
    "forged_outcome": (FORGE, "nnlib.testing.run_probe = lambda probe, inputs: dumps(('returned', {'y': 3.0}))"),
    "malformed_outcome": (FORGE + "nnlib.testing.run_probe = lambda probe, inputs: 'not plain data'", ""),
    "huge_outcome": (FORGE + "nnlib.testing.run_probe = lambda probe, inputs: dumps(('returned', 'x' * 2_000_000))",
                     ""),
    "flood": ("", "print('y' * 2_000_000)"),
    "exit_in_probe": ("import os", "os._exit(3)"),
    "leak_history": ("import base64, zlib\nget_ipython().events.register('post_run_cell', lambda *args: print("
                     "base64.b64encode(zlib.compress('\\n'.join(In).encode())).decode()))", ""),
    "leak_linecache": ("import inspect, linecache",
                       "raise ValueError(repr([linecache.getlines(f.filename) for f in inspect.stack()]))"),
}
TAMPERED = {"malformed_outcome", "huge_outcome"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(solutions folder, released learner notebook) of a chapter 01_tiny."""
    root = tmp_path_factory.mktemp("tiny")
    (root / "solutions" / "01_tiny").mkdir(parents=True)
    write_notebook(pack(CHAPTER, "tiny"), root / "solutions" / "01_tiny" / "tiny.ipynb")
    shutil.copytree(root / "solutions", root / "course" / "source")
    assert nbgrader_api(root / "course").generate_assignment("01_tiny", force=True)["success"]
    release = json.loads((root / "course" / "release" / "01_tiny" / "tiny.ipynb").read_text())
    return root / "solutions", release


def notebook(release, double=None, square=None, after_imports=(), tests="keep", in_call=""):
    """The released notebook with the given solution cells, extra code cells after the imports
    cell, the test cells kept, gutted (source 'pass') or deleted, and `in_call` code run at each
    call of `double` and `square` (a cell after each exercise wraps it)."""
    nb = json.loads(json.dumps(release))
    for cell in nb["cells"]:
        meta = nbgrader_of(cell)
        if meta.get("solution"):
            cell["source"] = {"double": double, "square": square}[meta["grade_id"]] or cell["source"]
            if in_call:
                body = "\n".join("    " + line for line in in_call.splitlines())
                name = meta["grade_id"]
                cell["source"] += (f"\n\n_inner_{name} = {name}\n\n\ndef {name}(x):\n{body}\n"
                                   f"    return _inner_{name}(x)\n")
        if meta.get("grade") and tests == "gut":
            cell["source"] = "pass"
    if tests == "delete":
        nb["cells"] = [c for c in nb["cells"] if not is_graded(c)]
    extra = [{"cell_type": "code", "execution_count": None, "id": f"extra-{i}", "metadata": {},
              "outputs": [], "source": code} for i, code in enumerate(after_imports)]
    nb["cells"][1:1] = extra
    return nb


def tiny_course(solutions):
    """This course, with the tiny chapter's solutions in place of its own."""
    return replace(HERE, solutions=solutions)


def submit(folder, student, nb, name="tiny.ipynb", mtime=None):
    path = folder / student / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nb if isinstance(nb, str) else json.dumps(nb))
    if mtime:
        os.utime(path, (mtime, mtime))
    return path


def results(out, student):
    """{exercise: (points, status, note)} of a student."""
    result = json.loads((out / "results" / f"{student}.json").read_text())
    return {row["exercise"]: (row["points"], row["status"], row["note"]) for row in result["exercises"]}


def scores(out, student):
    """{exercise: (points, status)} of a student."""
    return {name: row[:2] for name, row in results(out, student).items()}


def snoop_code(paths: dict, gradebook, out, port) -> str:
    """A cell that tries to read `paths`, write the gradebook and `out`, connect out, and prints
    what happened."""
    return f"""
import json, os, socket
report = {{}}
for name, path in {paths!r}.items():
    try:
        with open(path, "rb") as file:
            file.read(1)
        report[name] = "read"
    except OSError as error:
        report[name] = type(error).__name__
for name, path in [("write gradebook", {str(gradebook)!r}), ("write out", {str(out / 'pwned.txt')!r})]:
    try:
        open(path, "ab").close()
        report[name] = "wrote"
    except OSError as error:
        report[name] = type(error).__name__
for host, port in [("1.1.1.1", 53), ("127.0.0.1", {port})]:
    try:
        socket.create_connection((host, port), timeout=2).close()
        report["connect " + host] = "connected"
    except OSError as error:
        report["connect " + host] = type(error).__name__
report["notebooks in cwd"] = [name for name in os.listdir(".") if name.endswith(".ipynb")]
report["uid"] = os.getuid()
print("SNOOP" + json.dumps(report))
"""


@pytest.fixture(scope="module")
def graded(tiny, tmp_path_factory):
    """Grade one run of every kind of submission; return (out folder, log text, listener)."""
    solutions, release = tiny
    root = tmp_path_factory.mktemp("grade")
    subs, out = root / "submissions", root / "out"
    listener = socket.create_server(("127.0.0.1", 0))
    secret_paths = {
        "solution": str(solutions / "01_tiny" / "tiny.ipynb"),
        "course source": str(out / "nbgrader" / "source" / "01_tiny" / "tiny.ipynb"),
        "gradebook": str(out / "gradebook.db"),
        "other submission": str(subs / "good" / "tiny.ipynb"),
        "other graded": str(out / "nbgrader" / "submitted" / "good" / "01_tiny" / "tiny.ipynb"),
        "own graded notebook": str(out / "nbgrader" / "autograded" / "snoop" / "01_tiny"
                                   / "tiny.ipynb"),
    }
    loop = "def double(x):\n    return 2 * x\n\nwhile True:\n    pass\n"
    students = {
        "good": notebook(release, DOUBLE, SQUARE),
        "blank": notebook(release),
        "partial": notebook(release, DOUBLE, WRONG_SQUARE),
        "loop": notebook(release, loop, SQUARE),
        "loop_later": notebook(release, DOUBLE, SQUARE + "\nimport signal\n\nsignal.signal("
                               "signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"),
        "slow": notebook(release, DOUBLE, SQUARE, after_imports=["import time\ntime.sleep(3.5)"] * 4),
        "crash": notebook(release, DOUBLE, SQUARE + "\nimport os\nos._exit(1)\n"),
        "memory": notebook(release, DOUBLE, "big = np.empty(3 * 2**30, dtype=np.uint8)\n" + SQUARE),
        "huge_output": notebook(release, "print('x' * 50_000_000)\n" + DOUBLE, SQUARE),
        "edited_tests": notebook(release, DOUBLE, None, tests="gut"),
        "deleted_tests": notebook(release, DOUBLE, SQUARE, tests="delete"),
        "liar": notebook(release, "class Liar:\n    def __eq__(self, other):\n        return True\n\n\n"
                                  "def double(x):\n    return Liar()\n", WRONG_SQUARE),
        "shadow": notebook(release, WRONG_DOUBLE, WRONG_SQUARE, after_imports=[
            "assert_close = lambda *args, **kwargs: None"]),
        "patch_numpy": notebook(release, WRONG_DOUBLE, WRONG_SQUARE, after_imports=[
            "np.allclose = lambda *args, **kwargs: True\n"
            "np.abs = lambda x: np.zeros(np.shape(x))"]),
        "patch_code": notebook(release, WRONG_DOUBLE, WRONG_SQUARE, after_imports=[
            "import nnlib.testing\n"
            "nnlib.testing.assert_close.__code__ = (lambda *args, **kwargs: None).__code__"]),
        "patch_ipython": notebook(release, WRONG_DOUBLE, WRONG_SQUARE, after_imports=[
            "import ast\n\n\nclass Gut(ast.NodeTransformer):\n"
            "    def visit_Module(self, node):\n"
            "        return ast.Module(body=[ast.Pass()], type_ignores=[])\n\n\n"
            "get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)\n"
            "get_ipython().ast_transformers.append(Gut())"]),
        "history": notebook(release, DOUBLE, WRONG_SQUARE),
        "tagged": notebook(release, DOUBLE, WRONG_SQUARE),
        "snoop": notebook(release, DOUBLE, SQUARE, after_imports=[
            snoop_code(secret_paths, out / "gradebook.db", out, listener.getsockname()[1])]),
    }
    after_test_double = next(i for i, cell in enumerate(students["history"]["cells"])
                             if grade_id_of(cell) == "test_double") + 1
    students["history"]["cells"].insert(after_test_double, {
        "cell_type": "code", "execution_count": None, "id": "history", "metadata": {}, "outputs": [],
        "source": "print(In)"})
    for cell in students["tagged"]["cells"]:  # tags on exercise and test cells are ignored
        if nbgrader_of(cell):
            cell["metadata"]["tags"] = ["skip-when-grading"]
    for attack, (setup, in_call) in ATTACKS.items():
        students[f"blank_{attack}"] = notebook(release, after_imports=[setup], in_call=in_call)
        students[f"wrong_{attack}"] = notebook(release, WRONG_DOUBLE, WRONG_SQUARE, after_imports=[setup],
                                               in_call=in_call)
    for student, nb in students.items():
        submit(subs, student, nb)
    submit(subs, "misnamed", notebook(release, DOUBLE, SQUARE), name="tiny-Copy1.ipynb")
    submit(subs, "invalid_json", "{this is not json")
    submit(subs, "missing", "just notes", name="notes.txt")
    submit(subs, "two_notebooks", notebook(release), name="a.ipynb")
    submit(subs, "two_notebooks", notebook(release), name="b.ipynb")
    (subs / "stray.txt").write_text("not a student folder")
    grading.grade("1", subs, out, workers=2, limits=LIMITS, course=tiny_course(solutions))
    yield out, (out / "grading.log").read_text(), listener
    listener.close()


def test_correct_blank_and_partly_wrong_submissions_score_what_they_earn(graded):
    out, log, _ = graded
    assert results(out, "good") == FULL
    assert scores(out, "blank") == {"test_double": (0, "graded"), "test_square": (0, "graded")}
    assert "NotImplementedError" in results(out, "blank")["test_double"][2]
    assert scores(out, "partial") == {"test_double": (2, "graded"), "test_square": (0, "graded")}
    assert results(out, "partial")["test_square"][2] == "hidden case 2: wrong shape (result['y'])"
    totals = (out / "totals.csv").read_text()
    assert "good,5,5,graded,2/2," in totals and "blank,0,5,graded,2/2," in totals
    assert "good: 5/5 points (graded)" in log and "stray.txt: not a student folder" in log


def test_the_cells_no_test_needs_are_not_run_and_the_feedback_says_so(graded):
    """The tiny chapter's illustration (tagged skip-when-grading) and its last cell would kill the
    kernel: `good` scores full marks only if neither runs. The illustration's feedback says why
    it is empty; the cells after the last test are dropped before grading (intake.py). Tagging
    an exercise or a test cell skips nothing."""
    out, _, _ = graded
    assert results(out, "good") == FULL
    assert scores(out, "tagged") == {"test_double": (2, "graded"), "test_square": (0, "graded")}
    feedback = (out / "feedback" / "good.html").read_text()
    assert feedback.count("not run by the grader: no test depends on this cell") == 1
    assert "after the last test: were it run" not in feedback


def test_an_infinite_loop_stops_the_submission_and_later_exercises_are_not_graded(graded):
    out, log, _ = graded
    # The loop follows a correct `double` in the same cell: its test must not earn points.
    points, status, note = results(out, "loop")["test_double"]
    assert (points, status) == (0, "timed out") and "ran longer than 4 s" in note
    assert results(out, "loop")["test_square"][:2] == (0, "timed out")
    # A loop that ignores SIGINT, after test_double: test_double keeps its points.
    assert results(out, "loop_later")["test_double"] == (2, "graded", "")
    assert results(out, "loop_later")["test_square"][:2] == (0, "timed out")
    assert "loop: timed out:" in log


def test_the_wall_limit_stops_a_submission_of_many_slow_cells(graded):
    out, _, _ = graded
    points, status, note = results(out, "slow")["test_double"]
    assert (points, status) == (0, "timed out") and "limit of 14 s" in note


def test_a_crash_leaves_the_exercises_graded_before_it(graded):
    out, _, _ = graded
    assert results(out, "crash")["test_double"] == (2, "graded", "")
    points, status, note = results(out, "crash")["test_square"]
    assert (points, status) == (0, "crashed") and "kernel died" in note
    grades = (out / "grades.csv").read_text()
    assert "crash,test_square,0,3,crashed," in grades  # crashing is no way out of a 0


def test_memory_is_limited(graded):
    out, _, _ = graded
    assert scores(out, "memory") == {"test_double": (2, "graded"), "test_square": (0, "graded")}
    autograded = (out / "nbgrader" / "autograded" / "memory" / "01_tiny" / "tiny.ipynb").read_text()
    assert "MemoryError" in autograded  # 3 GB of address space, refused by the 2048 MB limit


def test_huge_output_is_cut(graded):
    out, _, _ = graded
    assert results(out, "huge_output") == FULL
    autograded = out / "nbgrader" / "autograded" / "huge_output" / "01_tiny" / "tiny.ipynb"
    assert autograded.stat().st_size < 2_000_000 and "dropped the rest" in autograded.read_text()
    assert (out / "feedback" / "huge_output.html").stat().st_size < 3_000_000


def test_edited_or_deleted_test_cells_are_restored_and_graded_as_if_untouched(graded):
    out, _, _ = graded
    edited = results(out, "edited_tests")
    assert edited["test_double"][:2] == (2, "test cell restored")
    assert edited["test_square"][:2] == (0, "test cell restored"), "an emptied test must not pass a stub"
    assert "edited by the learner" in edited["test_square"][2]
    deleted = results(out, "deleted_tests")
    assert {name: row[:2] for name, row in deleted.items()} == {
        "test_double": (2, "test cell restored"), "test_square": (3, "test cell restored")}
    assert "deleted by the learner" in deleted["test_double"][2]


def test_unreadable_misnamed_and_missing_notebooks(graded):
    out, log, _ = graded
    assert results(out, "misnamed") == FULL
    assert "misnamed: 5/5 points (graded; graded tiny-Copy1.ipynb as tiny.ipynb)" in log
    for student, status, note in [("invalid_json", "not a notebook", "invalid JSON"),
                                  ("missing", "notebook missing", "no tiny.ipynb"),
                                  ("two_notebooks", "notebook missing", "found a.ipynb, b.ipynb")]:
        rows = results(out, student).values()
        assert {(points, row_status) for points, row_status, _ in rows} == {(0, status)}
        assert all(note in row_note for _, _, row_note in rows)
        assert f"{student},0,5,{status},2/2," in (out / "totals.csv").read_text()
        assert status in (out / "feedback" / f"{student}.html").read_text()


@pytest.mark.parametrize("student", ["liar", "shadow", "patch_numpy", "patch_code", "patch_ipython"])
def test_tests_cannot_be_fooled_or_disarmed(graded, student):
    out, _, _ = graded
    rows = results(out, student)
    assert [row[:2] for row in rows.values()] == [(0, "graded")] * 2, rows


@pytest.mark.parametrize("attack", sorted(ATTACKS))
@pytest.mark.parametrize("base", ["blank", "wrong"])
def test_no_attack_on_the_verdict_earns_a_point(graded, attack, base):
    """The verdict is made outside the learner's process: tampering with the kernel (IPython's
    input, display or error handling, tracing, the test library's code, the probe channel)
    gains nothing, and a tampered channel is named in the status."""
    out, log, _ = graded
    rows = results(out, f"{base}_{attack}")
    assert all(points == 0 for points, _, _ in rows.values()), rows
    statuses = {status for _, status, _ in rows.values()}
    if attack in TAMPERED:
        assert statuses == {"probe channel tampered"}, rows
    elif attack == "exit_in_probe":
        assert statuses == {"crashed"}, rows
    else:
        assert statuses == {"graded"}, rows
    reports = [out / "grades.csv", out / "totals.csv", out / "grading.log",
               out / "feedback" / f"{base}_{attack}.html", out / "results" / f"{base}_{attack}.json"]
    for report in reports:
        assert MARKER not in report.read_text(), report


def test_submitted_code_is_jailed(graded):
    out, _, listener = graded
    assert results(out, "snoop") == FULL
    autograded = (out / "nbgrader" / "autograded" / "snoop" / "01_tiny" / "tiny.ipynb").read_text()
    report = json.loads(autograded.split("SNOOP", 1)[1].split("\\n", 1)[0].replace('\\"', '"'))
    breached = {name: outcome for name, outcome in report.items()
                if outcome in ("read", "wrote", "connected")}
    assert not breached, f"submitted code could: {breached}"
    assert report["notebooks in cwd"] == [] and report["uid"] == 65534
    assert not (out / "pwned.txt").exists()
    listener.settimeout(0)
    with pytest.raises(BlockingIOError):
        listener.accept()


def test_hidden_tests_never_reach_the_feedback(graded, tiny):
    out, _, _ = graded
    _, release = tiny
    assert MARKER not in json.dumps(release)
    for page in (out / "feedback").glob("*.html"):
        html = page.read_text()
        assert MARKER not in html and "HIDDEN TESTS" not in html, page.name
    partial = (out / "feedback" / "partial.html").read_text()
    assert "hidden case 2: wrong shape" in partial and "4.0, 0.25" not in partial
    history = (out / "feedback" / "history.html").read_text()
    assert "-4.0" not in history  # In holds no hidden case
    for report in [out / "grades.csv", out / "totals.csv", out / "grading.log",
                   *(out / "results").glob("*.json")]:
        assert MARKER not in report.read_text(), report


def test_summary(graded):
    out, _, _ = graded
    summary = (out / "summary.csv").read_text().splitlines()
    assert summary[0] == "exercise,max_points,graded,passed,pass_rate"
    assert (out / "summary.png").read_bytes()[:4] == b"\x89PNG"


def test_rerun_is_idempotent_and_a_newer_submission_replaces_the_older(tiny, tmp_path):
    solutions, release = tiny
    course = tiny_course(solutions)
    old, new, out = tmp_path / "old", tmp_path / "new", tmp_path / "out"
    submit(old, "ann", notebook(release), mtime=time.time() - 3600)
    submit(old, "ben", notebook(release, DOUBLE, SQUARE))
    submit(new, "ann", notebook(release, DOUBLE, SQUARE))
    with zipfile.ZipFile(tmp_path / "new.zip", "w") as archive:  # a zip of a folder of students
        archive.write(new / "ann" / "tiny.ipynb", "submissions/ann/tiny.ipynb")
    grading.grade("1", old, out, workers=2, limits=LIMITS, course=course)
    first = (out / "grades.csv").read_text()
    grading.grade("1", old, out, workers=2, limits=LIMITS, course=course)
    assert (out / "grades.csv").read_text() == first
    assert results(out, "ann")["test_double"][0] == 0
    grading.grade("1", tmp_path / "new.zip", out, workers=2, limits=LIMITS, course=course)
    assert results(out, "ann")["test_double"][0] == 2, "the newer submission replaces the older"
    assert results(out, "ben")["test_double"][0] == 2, "students not resubmitted keep their grades"
    grading.grade("1", old, out, workers=2, limits=LIMITS, course=course)
    assert results(out, "ann")["test_double"][0] == 2, "an older submission does not replace a newer"
    assert "ann: kept the graded submission of" in (out / "grading.log").read_text()


def test_without_pages_the_grades_are_the_same_and_each_page_is_the_plain_one(graded, tiny, tmp_path):
    """grade(pages=False), as the audit grades: the same results; each feedback page is the short table
    written where nbgrader made none, instead of nbgrader's page of the notebook."""
    solutions, release = tiny
    subs, out = tmp_path / "subs", tmp_path / "out"
    submit(subs, "good", notebook(release, DOUBLE, SQUARE))
    submit(subs, "partial", notebook(release, DOUBLE, WRONG_SQUARE))
    grading.grade("1", subs, out, workers=2, limits=LIMITS, course=tiny_course(solutions), pages=False)
    assert results(out, "good") == FULL
    assert scores(out, "partial") == {"test_double": (2, "graded"), "test_square": (0, "graded")}
    with_pages, _, _ = graded
    assert "<style" in (with_pages / "feedback" / "good.html").read_text()  # nbgrader's page, styled
    page = (out / "feedback" / "good.html").read_text()
    assert "<style" not in page and "<td>test_double</td><td>2</td>" in page


def test_without_isolation_the_command_says_so_and_still_limits(tiny, tmp_path, monkeypatch, capsys):
    solutions, release = tiny
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "bwrap" else real_which(name))
    assert not KernelLauncher.detect(LIMITS).isolated
    submit(tmp_path / "subs", "memory",
           notebook(release, DOUBLE, "big = np.empty(3 * 2**30, dtype=np.uint8)\n" + SQUARE))
    gradebook = tmp_path / "elsewhere" / "gradebook.sqlite"  # --db-url
    gradebook.parent.mkdir()
    grading.grade("1", tmp_path / "subs", tmp_path / "out", db_url=f"sqlite:///{gradebook}",
                  workers=1, limits=LIMITS, course=tiny_course(solutions))
    assert "WARNING: NO ISOLATION" in capsys.readouterr().err
    assert gradebook.exists() and not (tmp_path / "out" / "gradebook.db").exists()
    assert results(tmp_path / "out", "memory")["test_square"][:2] == (0, "graded")
    assert "MemoryError" in (tmp_path / "out" / "nbgrader" / "autograded" / "memory" / "01_tiny"
                             / "tiny.ipynb").read_text()


def test_chapter_2_in_the_jail(tmp_path):
    """The real chapter: the jail has all it needs (matplotlib, graphviz), the chapter's own
    modules are out of reach (importing the course's engine instead of writing it scores
    nothing), and no hidden test shows in the feedback."""
    solution = json.loads((HERE.solutions / "02_autograd" / "autograd.ipynb").read_text())
    release = json.loads(blank_release("02_autograd"))  # not chapters/: a learner may have worked there
    answers = {cell["metadata"]["nbgrader"]["grade_id"]: cell["source"] for cell in solution["cells"]
               if is_solution(cell)}
    for student, solved in [("solved", set(answers)), ("engine_only", {"value_engine"})]:
        nb = json.loads(json.dumps(release))
        for cell in nb["cells"]:
            grade_id = grade_id_of(cell)
            if grade_id in solved and cell["metadata"]["nbgrader"].get("solution"):
                cell["source"] = answers[grade_id]
        submit(tmp_path / "subs", student, nb, name="autograd.ipynb")
    cheat = json.loads(json.dumps(release))  # the answers imported from the course's nnlib
    imports = {"value_engine": "from nnlib.engine import Value\n",
               "neuron": "from nnlib.neurons import Neuron, Layer, MLP, Module\n", "train": answers["train"]}
    for cell in cheat["cells"]:
        meta = nbgrader_of(cell)
        if meta.get("solution"):
            cell["source"] = imports[meta["grade_id"]]
    submit(tmp_path / "subs", "import_cheat", cheat, name="autograd.ipynb")
    grading.grade("2", tmp_path / "subs", tmp_path / "out", workers=2)
    out = tmp_path / "out"
    maximum = {cell["metadata"]["nbgrader"]["grade_id"]: cell["metadata"]["nbgrader"]["points"]
               for cell in release["cells"] if is_graded(cell)}
    assert results(out, "solved") == {name: (points, "graded", "") for name, points in maximum.items()}
    engine_only = {name: row[0] for name, row in results(out, "engine_only").items()}
    assert engine_only == {"test_add": 2, "test_mul": 2, "test_pow": 2, "test_tanh": 2, "test_exp": 2,
                           "test_backward": 4, "test_neuron": 0, "test_train": 0}
    assert {name: row[0] for name, row in results(out, "import_cheat").items()} == dict.fromkeys(maximum, 0)
    autograded = json.loads((out / "nbgrader" / "autograded" / "solved" / "02_autograd" /
                             "autograd.ipynb").read_text())
    errors = [output for cell in autograded["cells"] for output in cell.get("outputs", [])
              if output["output_type"] == "error"]
    assert not errors, errors
    for page in (out / "feedback").glob("*.html"):
        html = page.read_text()
        assert "HIDDEN TESTS" not in html and "default_rng(808)" not in html
