"""The jail holds and its limits are per submission (issue 12): the grader reads nothing the
kernel can shape, and memory (tmpfs and shared memory included), processes and CPU are limited
per submission by cgroups, in a size-limited private space under a read-only root.

Most cases are graded in one run of test_grade.py's tiny chapter (`graded`), in a subprocess
with a bounded address space and a time limit, so that a grader that hangs or reads without end
fails these tests instead of stalling them. Each test names the mechanism that enforced it."""
import json
import os
import resource
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import nbformat
import pytest

import autograder.execution.guarded_execute as guarded_execute
from autograder.execution import cgroups
from autograder.execution.guarded_execute import GuardedExecute
from autograder.execution.sandbox import SHM_MB, KernelLauncher, Limits
from test_grade import DOUBLE, SQUARE, notebook, results, submit, tiny  # noqa: F401 (tiny: a fixture)

ROOT = Path(__file__).resolve().parents[1]
FULL = {"test_double": (2, "graded", ""), "test_square": (3, "graded", "")}
LIMITS = Limits(timeout=10, wall=30, memory_mb=1024, outcomes_mb=1)
RUN_LIMIT = 240  # seconds the grading run may take before it counts as hung
GRADER_MEMORY = 8 << 30  # address space of the grading processes: reading without end fails
GRADE = """\
import json, sys
from pathlib import Path
from autograder.grading import grade
from autograder.execution.sandbox import Limits
from autograder.layout import HERE, Course
course = Course(HERE.root, solutions=Path(sys.argv[1]))
grade.grade("1", Path(sys.argv[2]), Path(sys.argv[3]), workers=2, limits=Limits(**json.loads(sys.argv[4])),
            course=course)
"""
# A cell that puts `plant(path)` (a link to a host file, a FIFO...) where the grader read the
# kernel's log, and everywhere else the kernel can write near its working directory and the
# directories that pid 1's command line names, then kills the kernel.
PLANT = """\
import json, os, time
{setup}
places = {{os.path.join(folder, "kernel.log") for folder in
          [os.getcwd(), os.path.dirname(os.getcwd()), "/run", "/run/ipc", "/tmp", "/dev/shm"]}}
for argument in open("/proc/1/cmdline", "rb").read().decode(errors="replace").split("\\0"):
    if argument.startswith("/") and os.path.isdir(argument):
        places |= {{os.path.join(folder, "kernel.log") for folder in (argument, os.path.dirname(argument))}}
report = {{}}
for place in sorted(places):
    try:
        if os.path.lexists(place):
            os.remove(place)
        plant(place)
        report[place] = "planted"
    except OSError as error:
        report[place] = type(error).__name__
print("PLANTED" + json.dumps(report), flush=True)
time.sleep(0.5)
os._exit(1)
"""
HOGS = """\
import subprocess, sys, time
hog = "import time\\nblock = b'x' * (400 << 20)\\nprint('ready', flush=True)\\ntime.sleep(30)"
hogs = [subprocess.Popen([sys.executable, "-c", hog], stdout=subprocess.PIPE) for _ in range(3)]
ready = [hog.stdout.readline() for hog in hogs]  # each holds its 400 MB (however slow the machine)
time.sleep(1)
print("HOGS", ready, [hog.poll() for hog in hogs])
"""
FILL = """\
import errno, json, os

def shmem():
    return next(int(line.split()[1]) << 10 for line in open("/proc/meminfo") if line.startswith("Shmem:"))

def fill(folder):
    block, outcome = b"z" * (4 << 20), "none"
    try:
        for part in range(8):  # 800 MB in files of 100 MB
            with open(os.path.join(folder, f"fill-{part}"), "wb") as file:
                for _ in range(25):
                    file.write(block)
    except OSError as error:
        outcome = errno.errorcode.get(error.errno, str(error))
    written = sum(os.path.getsize(os.path.join(folder, name)) for name in os.listdir(folder)
                  if name.startswith("fill-"))
    return written, outcome

before = shmem()
report = {name: fill(folder) for name, folder in [("shm", "/dev/shm"), ("root", "/"), ("cwd", ".")]}
report["shmem_growth"] = shmem() - before
print("FILL" + json.dumps(report))
"""
SLEEPS = """\
import errno, json, subprocess
sleepers, refused = [], ""
for _ in range(300):
    try:
        sleepers.append(subprocess.Popen(["sleep", "60"]))
    except OSError as error:
        refused = errno.errorcode.get(error.errno, str(error))
        break
print("SLEEPS" + json.dumps([len(sleepers), refused]))
for sleeper in sleepers:
    sleeper.kill()
    sleeper.wait()
"""
VIEW = """\
import json, os, sys
view = {"cmdline": open("/proc/1/cmdline", "rb").read().decode(errors="replace").split("\\0")}
try:
    view["environ"] = open("/proc/1/environ", "rb").read().decode(errors="replace").split("\\0")
except OSError as error:
    view["environ"] = type(error).__name__
connection = sys.argv[sys.argv.index("-f") + 1]
view["connection"] = connection
ipc = os.path.dirname(json.load(open(connection))["ip"])
view["ipc"] = sorted(os.listdir(ipc))

def attempt(action):
    try:
        action()
        return "done"
    except OSError as error:
        return type(error).__name__

view["write connection"] = attempt(lambda: open(connection, "a").close())
view["add to ipc"] = attempt(lambda: os.symlink("/etc/passwd", os.path.join(ipc, "link")))
view["move a socket"] = attempt(lambda: os.rename(os.path.join(ipc, view["ipc"][0]),
                                                  os.path.join(ipc, "moved")))
print("VIEW" + json.dumps(view))
"""


def printed(out, student, marker):
    """What a student's cell printed after `marker` (JSON), from the graded notebook."""
    graded = json.loads((out / "nbgrader" / "autograded" / student / "01_tiny" / "tiny.ipynb").read_text())
    for cell in graded["cells"]:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            if marker in text:
                return json.loads(text.split(marker, 1)[1].splitlines()[0])
    raise AssertionError(f"{student} printed no {marker}")


def reports(out, student):
    return [out / "grades.csv", out / "totals.csv", out / "grading.log", out / "results" / f"{student}.json",
            out / "feedback" / f"{student}.html",
            out / "nbgrader" / "autograded" / student / "01_tiny" / "tiny.ipynb"]


def limit_grader(memory: int):
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    return limit


@pytest.fixture(scope="module")
def launcher():
    found = KernelLauncher.detect(LIMITS)
    assert found.isolated and found.cgroups, (found.reason, found.cgroups_reason)
    return found


@pytest.fixture(scope="module")
def graded(tiny, tmp_path_factory, launcher):  # noqa: F811
    """Grade every case in one run; return (out, the host's secret, the run's seconds, host /dev/shm
    bytes used before and after)."""
    solutions, release = tiny
    root = tmp_path_factory.mktemp("jail")
    subs, out = root / "submissions", root / "out"
    secret = f"HOST_CANARY_{secrets.token_hex(6)}"
    canary = root / "host_secret.txt"
    canary.write_text(f"first line\n{secret}\nlast line {secret}\n")
    attacks = {
        "log_symlink": PLANT.format(setup=f"plant = lambda path: os.symlink({str(canary)!r}, path)"),
        "log_fifo": PLANT.format(setup="plant = os.mkfifo"),
        "log_zero": PLANT.format(setup="plant = lambda path: os.symlink('/dev/zero', path)"),
        "hogs": HOGS, "fill": FILL, "sleeps": SLEEPS, "view": VIEW,
    }
    submit(subs, "good", notebook(release, DOUBLE, SQUARE))
    for student, code in attacks.items():
        submit(subs, student, notebook(release, DOUBLE, SQUARE, after_imports=[code]))
    shm_before = shm_used()
    started = time.monotonic()
    grading = subprocess.Popen(
        [sys.executable, "-c", GRADE, str(solutions), str(subs), str(out), json.dumps(asdict(LIMITS))],
        cwd=ROOT, start_new_session=True, preexec_fn=limit_grader(GRADER_MEMORY),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = grading.communicate(timeout=RUN_LIMIT)
    except subprocess.TimeoutExpired:
        os.killpg(grading.pid, signal.SIGKILL)
        grading.communicate()
        pytest.fail(f"the grading run did not finish in {RUN_LIMIT} s")
    assert grading.returncode == 0, output
    return out, secret, time.monotonic() - started, (shm_before, shm_used())


def shm_used() -> int:
    stats = os.statvfs("/dev/shm")
    return (stats.f_blocks - stats.f_bfree) * stats.f_frsize


def test_the_run_finishes_and_others_are_graded_normally(graded, launcher):
    out, _, seconds, _ = graded
    assert results(out, "good") == FULL
    assert seconds < RUN_LIMIT
    log = (out / "grading.log").read_text()
    assert launcher.describe() in log  # the log names each limit's mechanism


def test_a_kernel_log_replaced_by_a_link_to_a_host_file_leaks_nothing(graded):
    """The grader read runtime/kernel.log by path after a crash: a link there put any host file's
    last lines into the note. Now the kernel's output comes through a pipe (KernelWatch)."""
    out, secret, _, _ = graded
    rows = results(out, "log_symlink")
    assert {row[:2] for row in rows.values()} == {(0, "crashed")}, rows
    for report in reports(out, "log_symlink"):
        assert secret not in report.read_text(), report


@pytest.mark.parametrize("student", ["log_fifo", "log_zero"])
def test_a_fifo_or_dev_zero_for_the_kernel_log_neither_hangs_nor_floods_the_grader(graded, student):
    """A FIFO there hung the worker past --wall (the run never finished), /dev/zero made it read
    until memory ran out; the run is bounded in time (RUN_LIMIT) and memory (GRADER_MEMORY)."""
    out, _, _, _ = graded
    rows = results(out, student)
    assert {row[:2] for row in rows.values()} == {(0, "crashed")}, rows
    assert all("kernel died in code cell" in note for _, _, note in rows.values()), rows


def test_memory_is_limited_per_submission_not_per_process(graded, launcher):
    """Three processes of 400 MB each under --memory 1024: each is under its RLIMIT_AS, all
    together are over the cgroup's limit, and the whole submission is killed."""
    out, _, _, _ = graded
    rows = results(out, "hogs")
    assert {row[:2] for row in rows.values()} == {(0, "crashed")}, rows
    mechanism = f"killed by its cgroup v{launcher.cgroups.version} memory limit"
    assert all(f"over 1024 MB of memory in all: {mechanism}" in note for _, _, note in rows.values()), rows
    assert f"per submission ({launcher.cgroups.describe()}): 1024 MB of memory in all" in launcher.describe()


def test_tmpfs_shared_memory_and_the_root_are_size_limited_or_read_only(graded, launcher):
    """800 MB written to /dev/shm, to / and to the working directory: each refused at its tmpfs's
    size or by the read-only root; the host's shared memory barely grows (no more than the jail's
    tmpfs sizes, which its cgroup's memory limit counts too), and the submission is graded."""
    out, _, _, (shm_before, shm_after) = graded
    assert results(out, "fill") == FULL
    report = printed(out, "fill", "FILL")
    assert report["root"] == [0, "EROFS"]
    assert report["shm"][0] <= SHM_MB << 20 and report["shm"][1] == "ENOSPC"
    assert report["cwd"][0] <= LIMITS.tmp_mb << 20 and report["cwd"][1] in ("ENOSPC", "EFBIG")
    assert report["shmem_growth"] < (SHM_MB + LIMITS.tmp_mb + 64) << 20, report
    assert abs(shm_after - shm_before) < 16 << 20  # the host's /dev/shm is not the jail's
    description = launcher.describe()
    assert "read-only root" in description
    assert f"{LIMITS.tmp_mb} MB of /tmp and working directory, {SHM_MB} MB of /dev/shm" in description


def test_the_number_of_processes_is_limited_per_submission(graded, launcher):
    out, _, _, _ = graded
    assert results(out, "sleeps") == FULL
    started, refused = printed(out, "sleeps", "SLEEPS")
    assert started < LIMITS.processes and refused == "EAGAIN"
    assert f"({launcher.cgroups.describe()}): 1024 MB of memory in all (tmpfs and shared memory " \
           f"included), {LIMITS.processes} processes" in launcher.describe()


def test_the_jail_sees_no_host_path_and_cannot_change_its_connection_or_sockets(graded, tmp_path_factory):
    """bwrap reads its arguments from a file descriptor (--args): pid 1's command line and
    environment name no directory of the grader's (only the Python installation, which the jail
    sees). The connection file is a read-only copy; the socket directory holds the sockets
    only, sealed."""
    out, _, _, _ = graded
    assert results(out, "view") == FULL
    view = printed(out, "view", "VIEW")
    assert "--args" in view["cmdline"], view
    shown = json.dumps([view["cmdline"], view["environ"], view["connection"]])
    for host in ("nnfs-", str(tmp_path_factory.getbasetemp()), str(ROOT / "solutions")):
        assert host not in shown, (host, view)
    assert view["write connection"] == "OSError"  # EROFS
    assert len(view["ipc"]) == 5 and all(name.startswith("kernel-") for name in view["ipc"]), view
    assert view["add to ipc"] == view["move a socket"] == "PermissionError", view


def test_each_kernel_cgroup_is_removed(graded, launcher):
    """No cgroup of a grading process that is gone is left behind (a kernel's is removed with it).
    Another test file may be grading at the same time, and a worker it kills has its groups
    removed a moment later: what must not be is a group that stays."""
    def left():
        return [entry.path for parent in launcher.cgroups.parents for entry in os.scandir(parent)
                if entry.name.startswith(cgroups.PREFIX)
                and not Path(f"/proc/{entry.name[len(cgroups.PREFIX):].split('-')[0]}").exists()]

    deadline = time.monotonic() + 20
    while left() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left()


def test_the_cpu_quota_throttles_a_busy_submission(launcher):
    """A busy loop of one second in a group of a fifth of a CPU gets about a fifth of a second."""
    group = launcher.cgroups.create(256 << 20, 16, cpus=0.2)
    try:
        busy = ("import time\nend = time.time() + 1\nwhile time.time() < end:\n    pass\n"
                "print(time.process_time())")
        command = replace(launcher, bwrap=None).command([sys.executable, "-c", busy], group)
        run = subprocess.run(command.argv, pass_fds=command.fds, capture_output=True, text=True, timeout=60)
        command.close()
        stat = dict(line.split() for line in (Path(group.paths[-1]) / "cpu.stat").read_text().splitlines())
    finally:
        group.remove()
    assert float(run.stdout) < 0.5, run
    assert int(stat["nr_throttled"]) > 0


def test_without_cgroups_the_limits_fall_back_on_rlimits_loudly(monkeypatch):
    """Where no cgroups work, the description (logged) starts with a loud warning and names the
    rlimits, which the launcher still sets."""
    monkeypatch.setattr(cgroups, "_mounts", lambda: [])
    launcher = KernelLauncher.detect(LIMITS)
    assert launcher.cgroups is None and "not mounted" in launcher.cgroups_reason
    description = launcher.describe()
    assert "WARNING: NO LIMITS PER SUBMISSION" in description
    assert "per process only (rlimits; no cgroups" in description
    probe = ("import resource\nprint([resource.getrlimit(getattr(resource, 'RLIMIT_' + name))[0] "
             "for name in ('AS', 'CPU', 'FSIZE', 'CORE')])")
    command = launcher.command([sys.executable, "-c", probe])
    assert not any(argument.endswith("cgroup.procs") for argument in command.argv)
    run = subprocess.run(command.argv, pass_fds=command.fds, capture_output=True, text=True, timeout=60)
    command.close()
    assert json.loads(run.stdout) == [1024 << 20, LIMITS.wall + 10, LIMITS.tmp_mb << 20, 0], run


def test_the_submission_files_are_copied_into_the_private_working_directory_and_none_runs_at_start(
        tmp_path, launcher, monkeypatch):
    """The kernel's working directory is in its /tmp (a tmpfs): a copy of the submission's files
    (no notebook, no link); none of them runs while the kernel starts (`python -P`)."""
    monkeypatch.setattr(guarded_execute, "not_run_when_grading", lambda cells: set())
    (tmp_path / "data.txt").write_text("data")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "more.txt").write_text("more")
    (tmp_path / "answers.ipynb").write_text("{}")
    (tmp_path / "ipykernel_launcher.py").write_text("raise SystemExit('hijacked')\n")
    (tmp_path / "link.txt").symlink_to("/etc/hostname")
    code = ("import os\nprint(os.getcwd(), sorted(os.listdir('.')), open('data.txt').read(), "
            "open('sub/more.txt').read())\nwith open('data.txt', 'a') as file:\n    file.write('!')")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    GuardedExecute(launcher=launcher, tests={}).preprocess(
        nb, {"nbgrader": {"student": "files"}, "metadata": {"path": str(tmp_path)}})
    assert [output.get("text") for output in nb.cells[0].outputs] == [
        "/tmp/work ['data.txt', 'ipykernel_launcher.py', 'sub'] data more\n"], nb.cells[0].outputs
    assert (tmp_path / "data.txt").read_text() == "data"  # a copy
