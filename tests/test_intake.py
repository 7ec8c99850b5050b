"""`course.py grade` on what students hand in: every folder graded under its own name, every bad
input one submission's status (never the run's), and nothing a learner writes into a notebook's
structure changes what is graded. One grading run of a zip of the tiny chapter's submissions
(`graded`), and a second, small one from a folder: a later resubmission of a student whose
timestamp.txt said 2999."""
import csv
import itertools
import json
import os
import time
import zipfile
from datetime import datetime, timezone

import pytest

from autograder.cells import grade_id_of
from autograder.grading import grade as grading
from autograder.execution import intake
from test_grade import DOUBLE, LIMITS, MARKER, SQUARE, WRONG_SQUARE, notebook, results, submit, tiny_course
from test_grade import tiny  # noqa: F401 (the tiny chapter: a fixture)

FULL = {"test_double": (2, "graded", ""), "test_square": (3, "graded", "")}
ZERO = {"test_double": (0, "graded"), "test_square": (0, "graded")}
ODD_NAMES = ["John Smith", "josé", "-rf", ".hidden"]
WARNING_DOUBLE = ("import sys\nimport warnings\n\n\ndef double(x):\n"
                  "    warnings.warn('x + x is deprecated')\n"
                  "    print('a note on stderr', file=sys.stderr)\n    return x + x\n")
AFTER_THE_LAST_TEST = 100_000
BEGIN = "### BEGIN HIDDEN TESTS"
CELL_NUMBERS = itertools.count(1)


def cell(source, cell_type="code", **metadata):
    """A new cell, as JupyterLab makes it (a fresh id)."""
    made = {"cell_type": cell_type, "id": f"mine-{next(CELL_NUMBERS)}", "metadata": metadata,
            "source": source}
    return {**made, "outputs": [], "execution_count": None} if cell_type == "code" else made


def index_of(nb, grade_id):
    return next(index for index, entry in enumerate(nb["cells"])
                if grade_id_of(entry) == grade_id)


def shrink_declared_size(path, member):
    """Make the central directory of the zip at `path` declare `member` one byte smaller than it
    is (zipfile then fails on it with BadZipFile)."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    at = data.index(b"PK\x01\x02")  # the first entry of the central directory
    while data[at + 46:at + 46 + len(name)] != name:
        at = data.index(b"PK\x01\x02", at + 4)
    size = int.from_bytes(data[at + 24:at + 28], "little")
    data[at + 24:at + 28] = (size - 1).to_bytes(4, "little")
    path.write_bytes(bytes(data))


def report_texts(out):
    """Every report a grading run writes, as {name: text}."""
    paths = [out / "grades.csv", out / "totals.csv", out / "grading.log",
             *(out / "feedback").glob("*.html"), *(out / "results").glob("*.json")]
    return {path.name: path.read_text() for path in paths}


def csv_rows(path):
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def write_class(release, subs):
    """A folder of student folders, one per case."""
    students = {
        "good": notebook(release, DOUBLE, SQUARE),
        "partial": notebook(release, DOUBLE, WRONG_SQUARE),
        "list_grade_id": notebook(release, DOUBLE, SQUARE),
        "dir_timestamp": notebook(release, DOUBLE, SQUARE),
        "future": notebook(release),
        "legacy": notebook(release, DOUBLE, SQUARE),
        "warning": notebook(release, WARNING_DOUBLE, SQUARE),
        "extra_graded": notebook(release, DOUBLE, SQUARE),
        "duplicate": notebook(release, DOUBLE, WRONG_SQUARE),
        "ungraded_flag": notebook(release),
        "markdown_marker": notebook(release, DOUBLE, SQUARE),
        "after_last_test": notebook(release, DOUBLE, SQUARE),
        **{name: notebook(release, DOUBLE, SQUARE) for name in ODD_NAMES},
    }
    nb = students["list_grade_id"]
    nb["cells"][index_of(nb, "test_double")]["metadata"]["nbgrader"]["grade_id"] = ["test_double"]
    students["extra_graded"]["cells"].insert(1, cell("print('bonus')", nbgrader={
        "grade": True, "grade_id": "bonus", "locked": True, "points": 10, "schema_version": 3,
        "solution": False, "task": False}))
    nb = students["duplicate"]
    copy = json.loads(json.dumps(nb["cells"][index_of(nb, "test_double")]))
    nb["cells"].insert(index_of(nb, "test_double") + 1, {**copy, "id": "pasted-copy"})
    nb = students["ungraded_flag"]
    nb["cells"][index_of(nb, "test_double")]["metadata"]["nbgrader"]["grade"] = False
    students["markdown_marker"]["cells"].insert(1, cell(  # (in a code block, the marker is shown as is)
        f"My guess at the tests:\n\n```\n{BEGIN}\ncheck(probe_double, ...)\n### END HIDDEN TESTS\n```\n",
        "markdown"))
    students["after_last_test"]["cells"] += [cell("import os\nos._exit(1)")] * AFTER_THE_LAST_TEST
    for student, nb in students.items():
        submit(subs, student, nb)
    deep = json.dumps(notebook(release, DOUBLE, SQUARE)).replace(
        '"metadata": {}', '"metadata": ' + '{"a": ' * 200_000 + "1" + "}" * 200_000, 1)
    submit(subs, "deep_metadata", deep)
    (subs / "dir_timestamp" / "timestamp.txt").mkdir()
    (subs / "dir_notebook" / "tiny.ipynb").mkdir(parents=True)
    (subs / "future" / "timestamp.txt").write_text("2999-01-01 00:00:00 UTC")
    (subs / "__MACOSX" / "good").mkdir(parents=True)
    (subs / "__MACOSX" / "good" / "._tiny.ipynb").write_bytes(b"\x00\x05\x16\x07")
    (subs / ".git").mkdir()
    (subs / ".git" / "HEAD").write_text("ref: refs/heads/main\n")


def write_zip(release, subs, archive_path):
    """The zip of the folder `subs` in a top folder class/, with a student whose notebook's
    declared size is below its real size."""
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(subs.rglob("*")):  # (folders too: tiny.ipynb/ and timestamp.txt/)
            archive.write(path, f"class/{path.relative_to(subs).as_posix()}")
        archive.writestr("class/truncated/tiny.ipynb", json.dumps(notebook(release, DOUBLE, SQUARE)))
        archive.writestr("class/truncated/notes.txt", "my notes")
    shrink_declared_size(archive_path, "class/truncated/tiny.ipynb")


@pytest.fixture(scope="module")
def graded(tiny, tmp_path_factory):
    """Grade a zip of every case (and then a later folder); return a dict of what the tests read."""
    solutions, release = tiny
    root = tmp_path_factory.mktemp("intake")
    subs, out, archive_path = root / "class", root / "out", root / "class.zip"
    write_class(release, subs)
    write_zip(release, subs, archive_path)
    # A result kept by the grader before dates were bounded: timestamp.txt said 2999.
    (out / "results").mkdir(parents=True)
    legacy = {"student": "legacy", "timestamp": "2999-01-01T00:00:00", "submitted": "", "status": "graded",
              "note": "", "seconds": 0.0, "feedback": False, "exercises": [
                  {"exercise": name, "points": 0.0, "max_points": points, "status": "graded", "note": ""}
                  for name, points in [("test_double", 2.0), ("test_square", 3.0)]]}
    (out / "results" / "legacy.json").write_text(json.dumps(legacy))
    os.utime(out / "results" / "legacy.json", (time.time() - 3600,) * 2)
    later = root / "later"
    submit(later, "future", notebook(release, DOUBLE, SQUARE))  # an honest resubmission
    (later / "dir_both" / "tiny.ipynb").mkdir(parents=True)  # in a folder, not a zip
    (later / "dir_both" / "timestamp.txt").mkdir()
    started = time.monotonic()
    grading.grade("1", archive_path, out, workers=2, limits=LIMITS, course=tiny_course(solutions))
    seconds = time.monotonic() - started
    first = {"future": json.loads((out / "results" / "future.json").read_text()),
             "finished": time.time(), "reports": report_texts(out)}
    time.sleep(1)  # (the later file is later by the clock's resolution)
    os.utime(later / "future" / "tiny.ipynb")
    grading.grade("1", later, out, workers=2, limits=LIMITS, course=tiny_course(solutions))
    return {"out": out, "log": (out / "grading.log").read_text(), "seconds": seconds, "first": first}


def test_the_run_goes_on_and_the_others_are_graded_normally(graded):
    out, log = graded["out"], graded["log"]
    assert results(out, "good") == FULL
    assert {name: row[:2] for name, row in results(out, "partial").items()} == {
        "test_double": (2, "graded"), "test_square": (0, "graded")}
    assert "good: 5/5 points (graded)" in log and "partial: 2/5 points (graded; hidden case 2" in log
    totals = {row["student"]: row for row in csv_rows(out / "totals.csv")}
    assert totals["good"]["points"] == "5" and totals["good"]["student_id"] == "good"
    assert graded["seconds"] < 120
    for path in (out / "results").glob("*.json"):
        assert json.loads(path.read_text())["seconds"] <= LIMITS.wall, path.name


def test_metadata_nested_too_deep_is_not_a_notebook(graded):
    out, log = graded["out"], graded["log"]
    rows = results(out, "deep_metadata")
    assert {row[:2] for row in rows.values()} == {(0, "not a notebook")}
    assert "deep_metadata: not a notebook: metadata nested too deep; 0/5 points" in log


def test_a_grade_id_that_is_not_a_string_is_put_back(graded):
    """`grade_id: ["test_double"]` (a TypeError in the grader's process before): the cell is
    found by its cell id and graded as the course's test."""
    out = graded["out"]
    assert results(out, "list_grade_id") == FULL
    note = json.loads((out / "results" / "list_grade_id.json").read_text())["note"]
    assert note == "the course's grading metadata put back on test_double (grade_id)"


def test_folders_named_like_the_notebook_or_the_timestamp(graded):
    """A folder named tiny.ipynb is no notebook, timestamp.txt/ no timestamp: in a zip and in a
    folder of submissions."""
    out = graded["out"]
    assert results(out, "dir_timestamp") == FULL
    note = json.loads((out / "results" / "dir_timestamp.json").read_text())["note"]
    assert note == "timestamp.txt is not a file: the file's time is used"
    for student in ("dir_notebook", "dir_both"):
        rows = results(out, student)
        assert {row[:2] for row in rows.values()} == {(0, "notebook missing")}, student
        assert all(row[2].startswith("no tiny.ipynb (a folder or link of that name is no notebook)")
                   for row in rows.values()), rows


def test_a_bad_zip_member_is_skipped_and_the_rest_of_the_zip_graded(graded):
    out, log = graded["out"], graded["log"]
    assert "skipped class/truncated/tiny.ipynb of class.zip: BadZipFile" in log
    rows = results(out, "truncated")  # its notes.txt came through, its notebook did not
    assert {row[:2] for row in rows.values()} == {(0, "notebook missing")}
    assert results(out, "good") == FULL


def test_a_path_out_of_the_zip_still_refuses_the_whole_zip(tmp_path):
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as archive:
        archive.writestr("class/ann/tiny.ipynb", "{}")
        archive.writestr("class/../../escaped.txt", "out")
    with pytest.raises(grading.GradeError, match="unsafe path"):
        intake.unpack(tmp_path / "evil.zip", tmp_path / "scratch")
    assert [path.name for path in tmp_path.rglob("*") if path.is_file()] == ["evil.zip"]


def test_every_folder_is_graded_and_reported_under_its_own_name(graded):
    out, log = graded["out"], graded["log"]
    grades = csv_rows(out / "grades.csv")
    totals = {row["student"]: row for row in csv_rows(out / "totals.csv")}
    for name in ODD_NAMES:
        student = intake.student_id(name)
        assert student != name and intake.STUDENT_ID.fullmatch(student)
        assert results(out, student) == FULL
        assert (totals[name]["points"], totals[name]["student_id"]) == ("5", student)
        assert {(row["exercise"], row["points"]) for row in grades if row["student"] == name} == {
            ("test_double", "2"), ("test_square", "3")}
        assert (out / "feedback" / f"{student}.html").exists()
        assert f"graded folder {name} as student {student}" in log
    assert "skipped __MACOSX: ignored (.git, .ipynb_checkpoints, __MACOSX)" in log
    assert "skipped .git: ignored" in log
    assert {"__MACOSX", ".git"}.isdisjoint(totals)
    assert len(totals) == len(list((out / "results").glob("*.json")))


def test_a_timestamp_from_the_future_is_the_grading_time_and_locks_nothing(graded):
    first, out, log = graded["first"], graded["out"], graded["log"]
    stamp = datetime.fromisoformat(first["future"]["timestamp"])
    assert stamp <= datetime.fromtimestamp(first["finished"], timezone.utc).replace(tzinfo=None)
    assert "timestamp.txt says 2999-01-01 00:00:00 UTC, after the grading time" in first["future"]["note"]
    assert [row["points"] for row in first["future"]["exercises"]] == [0, 0]
    # The later run: an honest resubmission replaces the first grade.
    assert results(out, "future") == FULL
    assert "future: kept the graded submission" not in log


def test_a_result_kept_with_a_date_from_the_future_yields_to_a_later_submission(graded):
    """A result of the grader before dates were bounded, whose timestamp.txt said 2999."""
    out, log = graded["out"], graded["log"]
    assert results(out, "legacy") == FULL
    assert "legacy: kept the graded submission" not in log


def test_a_warning_on_stderr_costs_no_points(graded):
    out = graded["out"]
    assert results(out, "warning") == FULL
    assert json.loads((out / "results" / "warning.json").read_text())["note"] == ""


def test_cells_marked_for_grading_that_are_not_the_courses_never_make_a_notebook_ungradable(graded):
    out = graded["out"]
    assert results(out, "extra_graded") == FULL
    note = json.loads((out / "results" / "extra_graded.json").read_text())["note"]
    assert note == "not graded, as not the course's: 1 cell(s) marked for grading ('bonus')"
    assert csv_rows(out / "totals.csv")[0]["max_points"] == "5"
    duplicate = results(out, "duplicate")
    assert {name: row[:2] for name, row in duplicate.items()} == {
        "test_double": (2, "graded"), "test_square": (0, "graded")}
    note = json.loads((out / "results" / "duplicate.json").read_text())["note"]
    assert note == "not graded, as not the course's: 1 cell(s) marked for grading (a copy of test_double)"
    flagged = results(out, "ungraded_flag")
    assert {name: row[:2] for name, row in flagged.items()} == ZERO  # a 0, not "not a notebook"
    note = json.loads((out / "results" / "ungraded_flag.json").read_text())["note"]
    assert note == "the course's grading metadata put back on test_double (grade)"


def test_markdown_is_never_read_as_hidden_tests(graded):
    out = graded["out"]
    assert results(out, "markdown_marker") == FULL
    note = json.loads((out / "results" / "markdown_marker.json").read_text())["note"]
    assert note == "hidden-test markers defused in 1 cell(s) that are not tests"
    feedback = (out / "feedback" / "markdown_marker.html").read_text()
    assert BEGIN not in feedback and "My guess at the tests" in feedback
    assert "[BEGIN hidden-tests marker, removed by the grader]" in feedback


def test_cells_after_the_last_test_are_dropped_before_grading(graded):
    out = graded["out"]
    assert results(out, "after_last_test") == FULL
    result = json.loads((out / "results" / "after_last_test.json").read_text())
    assert result["note"] == (f"dropped the {AFTER_THE_LAST_TEST + 1} cell(s) after the last test: "
                              "they never run when grading")
    assert result["seconds"] < 10
    assert (out / "feedback" / "after_last_test.html").stat().st_size < 200_000
    autograded = out / "nbgrader" / "autograded" / "after_last_test" / "01_tiny" / "tiny.ipynb"
    assert autograded.stat().st_size < 50_000


def test_nothing_leaks(graded):
    """The tiny chapter's hidden tests appear in no report of either run, nor any hidden-test
    marker in any feedback."""
    for reports in (graded["first"]["reports"], report_texts(graded["out"])):
        for name, text in reports.items():
            assert MARKER not in text, name
            if name.endswith(".html"):
                assert BEGIN not in text, name
