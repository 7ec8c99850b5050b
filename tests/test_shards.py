"""Shards (which slice of a class a grading process takes) and the gradebook's URL, without a
database server: tests/test_postgres_grading.py grades against a real one."""
import os
import subprocess
import sys

import pytest

from autograder.execution.intake import GradeError, student_id
from autograder.grading.gradebook_store import RecordStore, masked, place, reason, resolve_url
from autograder.grading.shards import Shard, shard_of
from autograder.layout import HERE
from autograder.results import SubmissionResult

ROOT = HERE.root

NAMES = [f"student{i:04d}" for i in range(3000)] + ["John Smith", "josé", "-rf", ".hidden",
                                                    os.fsdecode(b"caf\xe9")]  # not UTF-8


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_the_shards_split_a_class_into_disjoint_slices_that_cover_it(count):
    shards = [Shard(index, count) for index in range(1, count + 1)]
    for name in NAMES:
        assert sum(shard.holds(name) for shard in shards) == 1, name
        assert 1 <= shard_of(name, count) <= count


def test_the_shards_are_about_equal():
    sizes = [sum(shard_of(name, 3) == index for name in NAMES) for index in (1, 2, 3)]
    assert all(abs(size - len(NAMES) / 3) < 0.1 * len(NAMES) / 3 for size in sizes), sizes


def test_a_student_s_shard_is_stable_across_processes_and_is_that_of_the_folder_s_own_name():
    code = ("from autograder.grading.shards import shard_of; import os; "
            "print([shard_of(n, 5) for n in ['ann', 'John Smith', os.fsdecode(b'caf\\xe9')]])")
    other = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": "123"}, check=True)
    assert other.stdout.strip() == str([shard_of(n, 5) for n in ["ann", "John Smith", os.fsdecode(b"caf\xe9")]])
    # a folder graded under a made id is sharded by its own name, not by that id
    mapped = [name for name in NAMES[-5:] if student_id(name) != name]
    assert mapped and any(shard_of(name, 7) != shard_of(student_id(name), 7) for name in mapped)


@pytest.mark.parametrize("text, message", [("0/3", "between 1 and M"), ("4/3", "between 1 and M"),
                                           ("x", "expected K/M"), ("1/0", "between 1 and M"),
                                           ("-1/3", "expected K/M"), ("", "expected K/M")])
def test_a_bad_shard_is_refused_with_the_rule(text, message):
    with pytest.raises(ValueError, match=message) as error:
        Shard.parse(text)
    assert repr(text) in str(error.value) or text in str(error.value)


def test_a_bad_shard_on_the_command_line_fails_before_grading(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "course.py"), "grade", "1", str(tmp_path),
                             "--shard", "4/3"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--shard: shard 4/3: K must be between 1 and M" in result.stderr


def test_the_url_s_password_comes_from_the_environment_or_a_file_and_is_never_shown(tmp_path):
    url = resolve_url("postgresql://grader@db.example.org:5433/nnfs", environ={"NNFS_DB_PASSWORD": "pw-1"})
    assert url == "postgresql+psycopg://grader:pw-1@db.example.org:5433/nnfs"
    assert masked(url) == "postgresql+psycopg://grader:***@db.example.org:5433/nnfs"
    assert place(url) == "database nnfs on host db.example.org port 5433 as user grader"
    (tmp_path / "url").write_text("postgresql://grader:pw-2@/nnfs?host=/run/pg&port=5999\n")
    from_file = resolve_url(None, tmp_path / "url", environ={"NNFS_DB_PASSWORD": "other"})
    assert from_file.startswith("postgresql+psycopg://grader:pw-2@/nnfs")  # the URL's own password wins
    assert place(from_file) == "database nnfs on host /run/pg port 5999 as user grader"
    assert resolve_url(None, environ={"NNFS_DB_URL": "sqlite:///x.db"}) == "sqlite:///x.db"
    assert resolve_url(None, default="sqlite:///y.db", environ={}) == "sqlite:///y.db"
    assert resolve_url(None, environ={}) is None
    with pytest.raises(GradeError, match="no URL could be read"):
        resolve_url(None, tmp_path / "missing")
    with pytest.raises(GradeError, match="not a database URL") as error:
        resolve_url("::pw-3::", environ={})
    assert "pw-3" not in str(error.value)


def test_a_database_error_is_shown_without_the_password():
    error = RuntimeError('connection to "h" failed: password "pw-4" rejected\nsecond line')
    assert reason(error, "postgresql+psycopg://u:pw-4@h/d") == 'connection to "h" failed: password "***" rejected'


def test_an_unreachable_gradebook_fails_at_once_naming_where_it_is(tmp_path):
    store = RecordStore(f"sqlite:///{tmp_path / 'no' / 'such' / 'folder' / 'gradebook.db'}")
    with pytest.raises(GradeError, match="cannot connect to the gradebook, SQLite gradebook .*gradebook.db"):
        store.check()


def test_records_replace_each_other_and_reports_read_whole_records(tmp_path):
    store = RecordStore(f"sqlite:///{tmp_path / 'gradebook.db'}")
    with store.setting_up():
        pass
    store.put_exercises("01_x", [("test_a", 2.0), ("test_b", 3.0)])
    assert store.exercises("01_x") == [("test_a", 2.0), ("test_b", 3.0)]
    row = {"exercise": "test_a", "points": 1.0, "max_points": 2.0, "status": "graded", "note": ""}
    first = {"student": "ann", "name": "ann", "timestamp": "2026-01-02T03:04:05", "submitted": "ann/x.ipynb",
             "status": "graded", "note": "", "exercises": [row], "seconds": 1.5, "feedback": True}
    newer = {**first, "timestamp": "2026-01-03T00:00:00", "note": "newer"}
    store.put("01_x", SubmissionResult.from_json(first), "<p>one</p>")
    store.put("01_x", SubmissionResult.from_json(newer), "<p>two</p>")
    assert {student: result.as_json() for student, result in store.results("01_x").items()} == {"ann": newer}
    assert store.feedback_pages("01_x") == {"ann": "<p>two</p>"}
    assert str(store.kept_times("01_x")["ann"]) == "2026-01-03 00:00:00"
    assert store.results("02_y") == {}
    with pytest.raises(GradeError, match="no grading of 02_y"):
        store.exercises("02_y")
    store.close()
