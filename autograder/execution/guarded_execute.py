"""nbgrader's Execute preprocessor, made safe for grading untrusted submissions.

Replaces `Execute` in `Autograde.autograde_preprocessors`; `learner.check` and the reference run
use it too. Compared with nbgrader's own:

- The kernel starts through `SandboxedKernelManager`: the jail and resource limits of
  sandbox.py, and ipc sockets (the jail has no network).
- **Test cells never run in the kernel.** For a graded test cell, the kernel gets only the
  cell's probe functions (`TestCell.definitions`) and, in the same request, the evaluation of
  every case's probe on its inputs (`probes.call_expression`). The outcomes come back as plain
  data in the reply (`probes.read_outcomes`) and are judged in this process (`judge.judge_test`),
  against the case's expectation or the reference solution's outcome (`reference`). The
  verdict becomes the cell's only output: a line per case that failed (`judge.TEST_FAILED`
  error: nbgrader scores the cell 0) or a pass line. Nothing the kernel prints during a probe
  is kept, so no text of a hidden case reaches a report. With `reference_run` (the reference
  solution's own run) outcomes are recorded, not judged.
- Each cell may run `Limits.timeout` seconds and the whole submission `Limits.wall` seconds.
  The first timeout (or the death of the kernel: a crash, a memory kill) STOPS the submission:
  no later cell runs, and every test not judged yet scores 0 with the status "timed out" or
  "crashed" (`RunRecord`).
- The cells no test depends on do not run (`cells.not_run_when_grading`: illustrations
  tagged `skip-when-grading`, and everything after the last graded cell). A chapter's plots,
  timings and closing demonstration cost more than its graded part; their output in the
  feedback says why they are empty (`NOT_GRADED`).
- Output beyond `Limits.output_kb` per cell, or `NOTEBOOK_OUTPUT_CELLS` times that in the whole
  notebook, is dropped, and the cell's note says what was dropped (`OutputLedger`): a submission
  that prints, displays, updates a display, returns, raises or sends comm messages by the
  gigabyte cannot exhaust the grader's memory or the feedback. Every message the kernel sends
  for a cell counts, whether it is kept or not (comm messages are not: the grader is no widget
  frontend), and a message that rewrites several outputs (`update_display_data`) counts once
  per output. Malformed messages are ignored.

The outcome of the last run of each student is left in `LAST_RUN[student]` for the caller.
The private names of nbclient and jupyter_client overridden here are listed in hooks.py.
"""
from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Enum, Float, Instance, Integer, List, Unicode

from autograder.execution.judge import TEST_FAILED, Verdict, judge_test
from autograder.cells import is_graded, nbgrader_of, not_run_when_grading
from autograder.execution.probes import ChannelError, TestCell, call_expression, read_outcomes
from autograder.results import CRASHED, TIMED_OUT
from autograder.execution.cgroups import Group
from autograder.execution.sandbox import (JAIL_CONNECTION, JAIL_IPC, NOBODY, KernelLauncher, KernelWatch,
                               remove_tree)

NOT_RUN = "NotRun"  # ename of the error output put into cells that did not run
NOT_GRADED = "[not run by the grader: no test depends on this cell]\n"
KEPT = frozenset({"stream", "display_data", "update_display_data", "execute_result", "error"})
COUNTED = KEPT | {"comm_open", "comm_msg", "comm_close"}  # named in a cell's note; others are "other"
DISPLAYS = frozenset({"display_data", "update_display_data", "execute_result"})  # may carry a display id
MESSAGE_COST = 256  # bytes counted per message besides its content: a flood of empty ones adds up
NOTEBOOK_OUTPUT_CELLS = 16  # the whole notebook keeps at most this many cells' worth of output
MALFORMED = (KeyError, TypeError, ValueError, AttributeError)  # nbclient's errors on a bad message


def content_size(value) -> int:
    """Roughly the bytes a message's content takes in a notebook: the length of its strings (keys
    included), 8 for any other value. Iterative: no nesting is too deep for it."""
    size, pending = 0, [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            size += len(item)
        elif isinstance(item, dict):
            size += sum(len(key) for key in item if isinstance(key, str))
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
        else:
            size += 8
    return size


@dataclass
class OutputLedger:
    """The output of one submission's cells, kept and dropped, in bytes (`content_size`)."""
    kept: dict[int, int] = field(default_factory=dict)  # per cell
    total: int = 0
    dropped: dict[int, dict[str, list[int]]] = field(default_factory=dict)  # {cell: {kind: [n, bytes]}}
    notes: dict[int, NotebookNode] = field(default_factory=dict)  # the note of each cell that dropped
    passed: dict[int, str] = field(default_factory=dict)  # the limit each of these cells passed

    def admit(self, outputs: list, cell_index: int, kind: str, size: int, cell_limit: int) -> bool:
        """Whether a message of `size` bytes fits the cell's limit and the notebook's. If not, it
        is dropped, and so is the rest of the cell's output: the cell's note says how much of
        what was dropped (a display, not a stream: nbgrader's LimitOutput cuts long streams)."""
        kept = self.kept.get(cell_index, 0)
        notebook_limit = cell_limit * NOTEBOOK_OUTPUT_CELLS
        if (cell_index not in self.notes and kept + size <= cell_limit
                and self.total + size <= notebook_limit):
            self.kept[cell_index] = kept + size
            self.total += size
            return True
        if cell_index not in self.notes:
            self.passed[cell_index] = (f"{cell_limit >> 10} kB in this cell" if kept + size > cell_limit
                                       else f"{notebook_limit >> 10} kB in the whole notebook")
            self.notes[cell_index] = NotebookNode(output_type="display_data", data={}, metadata={})
            outputs.append(self.notes[cell_index])
        tally = self.dropped.setdefault(cell_index, {}).setdefault(kind, [0, 0])
        tally[0] += 1
        tally[1] += size
        what = ", ".join(f"{count} {name} ({length:,} bytes)" for name, (count, length)
                         in self.dropped[cell_index].items())
        self.notes[cell_index].data["text/plain"] = (
            f"[the grader dropped the rest of this cell's output: more than "
            f"{self.passed[cell_index]}; dropped messages: {what}]")
        return False

    def keep_note(self, outputs: list, cell_index: int) -> None:
        """Put the cell's note back if its outputs were cleared."""
        note = self.notes.get(cell_index)
        if note is not None and not any(output is note for output in outputs):
            outputs.append(note)


@dataclass
class RunRecord:
    """How one submission ran.

    stopped: None, or why it stopped early (TIMED_OUT or CRASHED), explained by `note`.
    verdicts: {grade id: Verdict} of every test, judged or not (a test the submission kept from
        being judged scores 0 with the stop's status).
    outcomes: {grade id: outcomes of its cases}, kept for the reference run.
    """
    stopped: str | None = None
    note: str = ""
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    outcomes: dict[str, list] = field(default_factory=dict)


LAST_RUN: dict[str, RunRecord] = {}


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts its kernel through a `KernelLauncher`: in a fresh cgroup, in
    the jail, over ipc sockets, its output read through a pipe (`sandbox.KernelWatch`).

    `runtime` is a new directory of the grader's, prepared by `KernelLauncher.stage` (`files`:
    what of `submission` the kernel gets). It holds the grader's connection file, which the
    kernel never sees (in the jail it reads a read-only copy), and `ipc`, the only host
    directory the jail can write, for the kernel's sockets: once they exist it is sealed
    (`_seal`), and when the kernel is gone it is removed following nothing in it (`release`,
    run by the kernel's clean-up, or when it fails to start). The caller removes `runtime`.
    """
    launcher = Instance(KernelLauncher, help="how the kernel starts: jail, cgroup, limits, nnlib")
    runtime = Unicode(help="the grader's directory for this kernel (connection file, ipc/)")
    submission = Unicode(help="the submission's folder, whose files the kernel gets")
    files = List(Unicode(), help="the files of `submission` copied into the kernel's working directory")
    startup_timeout = Float(60.0, help="seconds the kernel may take to create its sockets")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transport = "ipc"
        self.ip = str(Path(self.runtime) / "ipc" / "kernel")
        self.connection_file = str(Path(self.runtime) / "kernel.json")
        self.group: Group | None = None
        self.watch: KernelWatch | None = None
        self._process = None
        self._released: tuple[str, bool] | None = None  # kernel_output(), once released

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        """ipykernel's command. In the jail it reads its copy of the connection file. `-P`: the
        working directory (the submission's files) is not on sys.path while it starts, so no
        file of the submission runs before its sockets are sealed."""
        kernel = super().format_kernel_cmd(extra_arguments)
        if kernel[1:3] == ["-m", "ipykernel_launcher"] and sys.version_info >= (3, 11):
            kernel.insert(1, "-P")
        if self.launcher.isolated:
            kernel = [JAIL_CONNECTION if argument == self.connection_file else argument
                      for argument in kernel]
        return kernel

    async def start_kernel(self, **kw) -> None:
        """Start the kernel; if that fails, release what was made for it."""
        try:
            await super().start_kernel(**kw)
        except BaseException:
            self.release()
            raise

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        """Start the kernel in its cgroup, with its own environment (in the jail: bwrap's
        arguments and files through file descriptors, nothing inherited); its output goes to a
        pipe."""
        launcher, runtime = self.launcher, Path(self.runtime)
        limits = launcher.limits
        if launcher.cgroups:
            self.group = launcher.cgroups.create(limits.memory_mb << 20, limits.processes, limits.cpus)
        connection = None
        if launcher.isolated:
            info = json.loads(Path(self.connection_file).read_text())
            info["ip"] = f"{JAIL_IPC}/kernel"
            connection = json.dumps(info).encode()
        self.watch = KernelWatch(self.group)
        command = launcher.command(kernel_cmd, self.group, runtime / "ipc", connection,
                                   Path(self.submission), tuple(self.files))
        kw.update(cwd="/" if launcher.isolated else str(runtime / "work"),  # (bwrap: JAIL_WORK)
                  env={} if launcher.isolated else launcher.environment(runtime),
                  stdout=self.watch.output, stderr=subprocess.STDOUT, pass_fds=command.fds)
        try:
            await super()._async_launch_kernel(command.argv, **kw)
        finally:
            self.watch.close_output()
            command.close()
        self._process = self.provisioner.process

    async def _async_post_start_kernel(self, **kw) -> None:
        if self.launcher.isolated:
            await self._seal()
        await super()._async_post_start_kernel(**kw)

    async def _seal(self) -> None:
        """Wait for the kernel's sockets, then seal their directory and check that it holds them
        and nothing else: the grader connects only to the kernel's own sockets, never through a
        link the jail made. Sealed, the directory belongs to another user, read-only: the jail,
        whose user is the grader's, can no longer change it (where the grader is root; else it
        is only made read-only, which the jail could undo)."""
        ipc = Path(self.runtime) / "ipc"
        sockets = {f"kernel-{port}" for port in self.ports}
        deadline = monotonic() + self.startup_timeout
        while (found := set(os.listdir(ipc))) != sockets:
            if not found <= sockets or not all(map(is_socket, (ipc / name for name in found))):
                raise RuntimeError("the kernel's socket directory holds something else")
            if self._process.poll() is not None:
                return  # it died: nbclient says so, and the note has its output
            if monotonic() > deadline:
                raise TimeoutError(f"no sockets from the kernel in {self.startup_timeout:g} s")
            await asyncio.sleep(0.005)
        if os.geteuid() == 0:
            os.chown(ipc, NOBODY, NOBODY)
        os.chmod(ipc, 0o555)
        if set(os.listdir(ipc)) != sockets or not all(is_socket(ipc / name) for name in sockets):
            raise RuntimeError("the kernel's socket directory holds something else")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart)
        self.release()

    cleanup_resources = _async_cleanup_resources  # (nbclient calls this name)

    def kernel_output(self, wait: float) -> tuple[str, bool]:
        """(the last of the kernel's output, whether its cgroup went over its memory), waiting
        `wait` seconds at most for the output of a kernel that died."""
        if self._released is not None:
            return self._released
        if self.watch is None:
            return "", False
        text = self.watch.tail(wait)
        return text, self.watch.out_of_memory or bool(self.group and self.group.out_of_memory())

    def release(self) -> None:
        """Kill what is left of the kernel, keep the last of its output, remove its cgroup and
        its socket directory. Idempotent."""
        if self._released is not None:
            return
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        if self.group:
            self.group.kill()
        self._released = self.kernel_output(wait=1.0)
        if self.watch:
            self.watch.close()
        if self.group:
            self.group.remove()
        ipc = Path(self.runtime) / "ipc"
        if ipc.is_dir():
            os.chmod(ipc, 0o700)
            remove_tree(ipc)


def is_socket(path: Path) -> bool:
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def error_output(ename: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=message,
                        traceback=[f"\x1b[0;31m{ename}\x1b[0m: {message}"])


def verdict_outputs(verdict: Verdict) -> list[NotebookNode]:
    """A judged test cell's outputs: what the learner reads in the feedback."""
    if verdict.passed:
        return [NotebookNode(output_type="stream", name="stdout",
                             text=f"passed: {verdict.points:g} of {verdict.max_points:g} points\n")]
    return [error_output(TEST_FAILED, f"{verdict.grade_id}: 0 of {verdict.max_points:g} points"
                                      f" ({verdict.status})\n" + "\n".join(verdict.failures))]


class GuardedExecute(Execute):
    """Execute a submission in a jailed kernel, judging its tests outside it (see module)."""

    launcher = Instance(KernelLauncher, help="how each kernel starts: jail, cgroup, limits, nnlib").tag(
        config=True)
    tests = Dict(help="{grade id: probes.TestCell}: the course's tests, read from its notebook").tag(
        config=True)
    reference = Dict(help="{grade id: the reference solution's outcome of each case}").tag(config=True)
    reference_run = Bool(False, help="run the reference solution: record the outcomes, judge "
                                     "nothing").tag(config=True)
    interrupt_on_timeout = Bool(False, help="never interrupt: a timeout stops the submission "
                                            "anyway").tag(config=True)
    shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate",
                           help="kill the kernel at the end: nothing of it is worth waiting for").tag(
        config=True)
    iopub_timeout = Integer(10, help="seconds to wait for a cell's last output after its "
                                     "reply").tag(config=True)
    record_timing = Bool(False, help="no timestamps in each cell's metadata").tag(config=True)

    def preprocess(self, nb, resources, km=None):
        limits = self.launcher.limits
        self.timeout = limits.timeout
        self.startup_timeout = min(60, limits.wall)
        self.record = LAST_RUN[resources["nbgrader"]["student"]] = RunRecord()
        self._deadline = monotonic() + limits.wall
        self._kernel_started = False
        self._skipped = not_run_when_grading(nb.cells)
        self._runtime = Path(tempfile.mkdtemp(prefix="nnfs-"))  # short: it holds Unix sockets
        try:
            self._prepare_runtime(Path(resources["metadata"]["path"]))
            try:
                super().preprocess(nb, resources, km)
            except (RuntimeError, TimeoutError) as error:
                if self._kernel_started:  # not a start-up failure: let nbgrader report it
                    raise
                self._stop(CRASHED, f"the kernel did not start: {error}{self._kernel_log()}")
                for index, cell in enumerate(nb.cells):
                    self.preprocess_cell(cell, resources, index)
            missing = set(self.tests) - set(self.record.verdicts) - set(self.record.outcomes)
            if missing:  # test cells are put back before a notebook runs: a grader's bug
                raise RuntimeError(f"test cells missing from the notebook: {sorted(missing)}")
            return nb, resources
        finally:
            shutil.rmtree(self._runtime, ignore_errors=True)

    def _prepare_runtime(self, submission: Path) -> None:
        """The kernel's runtime directory (`KernelLauncher.stage`): it gets the submission's files
        except notebooks (the notebook being graded holds the hidden tests), links and special
        files."""
        self._kernel_manager: SandboxedKernelManager | None = None
        self._submission = submission
        self._files = self.launcher.stage(submission, self._runtime)

    def create_kernel_manager(self):
        self.km = self._kernel_manager = SandboxedKernelManager(
            kernel_name=self.kernel_name or "python3", config=self.config, launcher=self.launcher,
            runtime=str(self._runtime), submission=str(self._submission), files=list(self._files),
            startup_timeout=float(self.startup_timeout))
        return self.km

    def _kernel_log(self) -> str:
        """Why the kernel died, for the note of a crash: the submission went over its memory (its
        cgroup's limit), and the last lines the kernel wrote (to a pipe: nothing is read from a
        file it could shape). Waits a second at most, never past the wall limit."""
        if self._kernel_manager is None:
            return ""
        text, out_of_memory = self._kernel_manager.kernel_output(
            wait=min(1.0, self._deadline - monotonic()))
        lines = [line[:300] for line in text.strip().splitlines()[-3:]]
        note = f" (kernel: {' / '.join(lines)})" if lines else ""
        if out_of_memory:
            note = (f" (its processes went over {self.launcher.limits.memory_mb} MB of memory in all: "
                    f"killed by its cgroup v{self.launcher.cgroups.version} memory limit)" + note)
        return note

    def _get_timeout(self, cell):
        remaining = self._deadline - monotonic()
        return max(1, min(self.timeout, math.ceil(remaining)))

    def _stop(self, status: str, note: str) -> None:
        if not self.record.stopped:
            self.record.stopped, self.record.note = status, note

    def _unjudged(self, test: TestCell) -> Verdict:
        return Verdict(test.grade_id, 0.0, test.points, self.record.stopped,
                       [f"not judged: {self.record.note}"])

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        grade_id = nbgrader_of(cell).get("grade_id")
        test = self.tests.get(grade_id) if is_graded(cell) else None
        if is_graded(cell) and test is None:  # (intake.sanitise prevents it)
            raise RuntimeError(f"a graded cell that is no test of the course: {grade_id!r}")
        if test is None and not cell.source.strip():
            return cell, resources
        if index in self._skipped and test is None:
            cell.outputs = [NotebookNode(output_type="stream", name="stdout", text=NOT_GRADED)]
            return cell, resources
        if not self.record.stopped and monotonic() >= self._deadline:
            self._stop(TIMED_OUT, f"the submission ran longer than its limit of "
                                  f"{self.launcher.limits.wall} s")
        if self.record.stopped:
            cell.outputs = [error_output(NOT_RUN, f"not run: {self.record.note}")]
            if test is not None:
                self.record.verdicts[grade_id] = self._unjudged(test)
            return cell, resources
        self._kernel_started = True
        try:
            if test is None:
                return super().preprocess_cell(cell, resources, index)
            self._run_test(test, cell)
            return cell, resources
        except CellTimeoutError:
            if monotonic() >= self._deadline - 1:
                self._stop(TIMED_OUT, f"the submission ran longer than its limit of "
                                      f"{self.launcher.limits.wall} s (in code cell {index + 1})")
            else:
                self._stop(TIMED_OUT, f"code cell {index + 1} ran longer than {self.timeout} s")
        except DeadKernelError:
            where = f"test {grade_id}" if test is not None else f"code cell {index + 1}"
            log = "" if test is not None else self._kernel_log()  # no kernel text from a probe
            self._stop(CRASHED, f"the kernel died in {where}{log}")
        if test is not None:
            self.record.verdicts[grade_id] = self._unjudged(test)
            cell.outputs = verdict_outputs(self.record.verdicts[grade_id])
        else:
            cell.outputs.append(error_output(NOT_RUN, f"stopped: {self.record.note}"))
        return cell, resources

    def _request(self, code: str, expressions: dict | None = None) -> dict:
        """Send one silent execute request; its reply's content. (A kernel that dies or hangs
        meanwhile raises, as in a cell.)"""
        msg_id = self.kc.execute(code, silent=True, store_history=False,
                                 user_expressions=expressions or {}, allow_stdin=False)
        reply = self.wait_for_reply(msg_id, NotebookNode(source="", cell_type="code"))
        return reply["content"] if isinstance(reply, dict) else {}

    def _run_test(self, test: TestCell, cell) -> None:
        """Define the test's probes in the kernel and run its cases there, in one request; judge
        the outcomes here."""
        reply = self._request(test.definitions, {"outcomes": call_expression(test)})
        try:
            outcomes = read_outcomes(reply, len(test.cases), self.launcher.limits.outcomes_mb)
        except ChannelError as error:
            outcomes = [error] * len(test.cases)
        self.record.outcomes[test.grade_id] = outcomes
        if self.reference_run:  # outcomes are all it is for
            cell.outputs = []
            return
        verdict = judge_test(test, outcomes, self.reference.get(test.grade_id))
        self.record.verdicts[test.grade_id] = verdict
        cell.outputs = verdict_outputs(verdict)

    def reset_execution_trackers(self) -> None:
        super().reset_execution_trackers()
        self._outputs = OutputLedger()

    def process_message(self, msg, cell, cell_index):
        """Keep the cell's output within its limits (see the module): every message but the
        kernel's status, the echo of the code and clear_output counts; only outputs are kept."""
        kind = msg.get("msg_type")
        try:
            if kind in ("status", "execute_input", "clear_output"):
                output = super().process_message(msg, cell, cell_index)
                self._outputs.keep_note(cell.outputs, cell_index)
                return output
            size = MESSAGE_COST + content_size(msg.get("content")) + sum(
                len(buffer) for buffer in msg.get("buffers") or ())
            size *= self._copies(kind, msg.get("content"))
            if not self._outputs.admit(cell.outputs, cell_index, kind if kind in COUNTED else "other",
                                       size, self.launcher.limits.output_kb << 10) or kind not in KEPT:
                return None
            return super().process_message(msg, cell, cell_index)
        except MALFORMED:  # (a kernel can send any message): ignored
            return None

    def _copies(self, kind: str, content) -> int:
        """How many outputs a message writes: one, or as many as show its display id."""
        transient = content.get("transient") if kind in DISPLAYS and isinstance(content, dict) else None
        display_id = transient.get("display_id") if isinstance(transient, dict) else None
        if not display_id:
            return 1
        shown = sum(map(len, self._display_id_map.get(display_id, {}).values()))
        return max(1, shown + (kind != "update_display_data"))

    def on_cell_executed(self, **kwargs):
        """nbgrader's hook adds the reply's error to a cell that has no output of that error (a
        kernel may send none, or it was dropped): it counts like any output."""
        cell = kwargs["cell"]
        try:
            content = kwargs["execute_reply"]["content"]
            if content.get("status") == "error" and not any(
                    output.get("output_type") == "error" and output.get("ename") == content.get("ename")
                    for output in cell.outputs):
                size = MESSAGE_COST + content_size([content.get(key)
                                                    for key in ("ename", "evalue", "traceback")])
                if not self._outputs.admit(cell.outputs, kwargs["cell_index"], "error", size,
                                           self.launcher.limits.output_kb << 10):
                    return
            super().on_cell_executed(**kwargs)
        except MALFORMED:  # a malformed reply: no error added
            pass
