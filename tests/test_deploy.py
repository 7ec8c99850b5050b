"""deploy/: the Kubernetes Indexed Job and the Slurm array that run the shards of a grading
(README: At scale) parse, and each of their tasks runs `course.py grade` on its own shard, the
shards together covering the class once. Their commands are run with `python3` replaced by a
stub that prints its arguments, which course.py's own parser then reads."""
import os
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from autograder.grading.shards import Shard
from autograder.layout import HERE

ROOT = HERE.root

DEPLOY = ROOT / "deploy"


def stub_python(folder: Path) -> dict:
    """An environment whose `python3` prints its arguments, one per line."""
    folder.mkdir(exist_ok=True)
    stub = folder / "python3"
    stub.write_text('#!/bin/sh\nfor arg in "$@"; do printf "%s\\n" "$arg"; done\n')
    stub.chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}", "HOME": str(folder)}


def grade_arguments(lines: list[str]) -> dict:
    """The options of `course.py grade` in a command's arguments, read by its own parser."""
    from autograder.grading import grade

    assert lines[:2] == ["course.py", "grade"], lines
    parsed = {}
    original = grade.grade

    def capture(chapter, submissions, out, db_url, workers, limits, shard):
        parsed.update(chapter=chapter, submissions=submissions, out=out, shard=shard)

    grade.grade = capture
    try:
        assert grade.main(lines[2:]) == 0
    finally:
        grade.grade = original
    return parsed


def test_the_kubernetes_indexed_job_runs_one_shard_per_index(tmp_path):
    [job] = list(yaml.safe_load_all((DEPLOY / "kubernetes-indexed-job.yaml").read_text()))
    assert job["kind"] == "Job" and job["apiVersion"] == "batch/v1"
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] == spec["parallelism"]
    [container] = spec["template"]["spec"]["containers"]
    assert {item["name"] for item in container["env"]} >= {"NNFS_DB_URL", "NNFS_DB_PASSWORD"}
    assert all("secretKeyRef" in item["valueFrom"] for item in container["env"])
    shards, outs = [], set()
    for index in range(spec["completions"]):
        environment = {**stub_python(tmp_path), "JOB_COMPLETION_INDEX": str(index),
                       "NNFS_DB_URL": "postgresql://grader@db/nnfs"}
        lines = subprocess.run([*container["command"], *container["args"]], env=environment, check=True,
                               capture_output=True, text=True).stdout.splitlines()
        parsed = grade_arguments(lines)
        shards.append(parsed["shard"])
        outs.add(parsed["out"])
    assert shards == [Shard(k, spec["completions"]) for k in range(1, spec["completions"] + 1)]
    assert len(outs) == spec["completions"]  # each pod its own output folder


def test_the_slurm_array_runs_one_shard_per_task(tmp_path):
    script = DEPLOY / "slurm-array.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    [array] = [line.split("=", 1)[1] for line in text.splitlines() if line.startswith("#SBATCH --array=")]
    first, last = map(int, array.split("-"))
    assert first == 1
    (tmp_path / ".nnfs-db-url").write_text("postgresql://grader@db/nnfs\n")
    shards = []
    for task in range(first, last + 1):
        environment = {**stub_python(tmp_path), "SLURM_ARRAY_TASK_ID": str(task),
                       "SLURM_ARRAY_TASK_COUNT": str(last), "SLURM_ARRAY_JOB_ID": "77",
                       "SLURM_SUBMIT_DIR": str(ROOT), "CHAPTER": "1", "SUBMISSIONS": "/shared/subs"}
        lines = subprocess.run(["bash", str(script)], env=environment, check=True, capture_output=True,
                               text=True).stdout.splitlines()
        assert lines[lines.index("--db-url-file") + 1] == f"{tmp_path}/.nnfs-db-url"
        parsed = grade_arguments(lines)
        assert (parsed["chapter"], str(parsed["submissions"])) == ("1", "/shared/subs")
        shards.append(parsed["shard"])
    assert shards == [Shard(k, last) for k in range(1, last + 1)]


@pytest.mark.parametrize("missing", ["CHAPTER", "SUBMISSIONS"])
def test_the_slurm_array_says_what_is_missing(tmp_path, missing):
    environment = {**stub_python(tmp_path), "SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "3",
                   "CHAPTER": "1", "SUBMISSIONS": "/shared/subs"}
    del environment[missing]
    result = subprocess.run(["bash", str(DEPLOY / "slurm-array.sh")], env=environment, capture_output=True,
                            text=True)
    assert result.returncode != 0 and missing in result.stderr, shlex.join(result.args)
