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
- Output beyond `Limits.output_kb` per cell is dropped (with a note), so a submission that
  prints gigabytes cannot exhaust the grader's memory or the feedback.

The outcome of the last run of each student is left in `LAST_RUN[student]` for the caller.
"""
from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Enum, Instance, Integer, Unicode

from autograder.judge import TEST_FAILED, Verdict, judge_test
from autograder.cells import not_run_when_grading
from autograder.probes import ChannelError, TestCell, call_expression, read_outcomes
from autograder.results import CRASHED, TIMED_OUT
from autograder.sandbox import KernelLauncher

NOT_RUN = "NotRun"  # ename of the error output put into cells that did not run
NOT_GRADED = "[not run by the grader: no test depends on this cell]\n"


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
    """A kernel manager that starts its kernel through a `KernelLauncher`, over ipc sockets.

    `runtime` holds the connection file and the sockets; `workdir` is the kernel's working
    directory. Both must exist; the caller removes them afterwards.
    """
    launcher = Instance(KernelLauncher)
    runtime = Unicode()
    workdir = Unicode()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transport = "ipc"
        self.ip = str(Path(self.runtime) / "kernel")
        self.connection_file = str(Path(self.runtime) / "kernel.json")

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        kernel = super().format_kernel_cmd(extra_arguments)
        return self.launcher.command(kernel, Path(self.runtime), Path(self.workdir))

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        """Start the kernel in `workdir` with its own environment; its output goes to kernel.log."""
        kw["cwd"] = self.workdir
        kw["env"] = self.launcher.environment(Path(self.runtime))  # (bwrap clears it and sets its own)
        with open(Path(self.runtime) / "kernel.log", "ab") as log:
            kw["stdout"], kw["stderr"] = log, subprocess.STDOUT
            await super()._async_launch_kernel(kernel_cmd, **kw)


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

    launcher = Instance(KernelLauncher).tag(config=True)
    tests = Dict(help="{grade id: probes.TestCell}: the course's tests, read from its notebook").tag(
        config=True)
    reference = Dict(help="{grade id: the reference solution's outcome of each case}").tag(config=True)
    reference_run = Bool(False, help="run the reference solution: record the outcomes, judge "
                                     "nothing").tag(config=True)
    interrupt_on_timeout = Bool(False).tag(config=True)  # a timeout stops the submission anyway
    shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate").tag(config=True)
    iopub_timeout = Integer(10).tag(config=True)
    record_timing = Bool(False).tag(config=True)  # no timestamps in each cell's metadata

    def preprocess(self, nb, resources, km=None):
        limits = self.launcher.limits
        self.timeout = limits.timeout
        self.startup_timeout = min(60, limits.wall)
        self.record = LAST_RUN[resources["nbgrader"]["student"]] = RunRecord()
        self._deadline = monotonic() + limits.wall
        self._output_bytes: dict[int, int] = {}
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
        """The kernel's working directory gets the submission's files except notebooks: the
        notebook being graded holds the hidden tests. matplotlib gets the grader's font list, and
        no warning about figures left open (with the Agg backend, plt.show() closes none)."""
        workdir = self._runtime / "work"
        shutil.copytree(submission, workdir, ignore=shutil.ignore_patterns("*.ipynb"))
        (self._runtime / "matplotlib").mkdir()
        (self._runtime / "matplotlib" / "matplotlibrc").write_text("figure.max_open_warning: 0\n")
        if self.launcher.font_cache:
            shutil.copy(self.launcher.font_cache, self._runtime / "matplotlib")

    def create_kernel_manager(self):
        self.km = SandboxedKernelManager(
            kernel_name=self.kernel_name or "python3", config=self.config, launcher=self.launcher,
            runtime=str(self._runtime), workdir=str(self._runtime / "work"))
        return self.km

    def _kernel_log(self) -> str:
        """The last lines the kernel process wrote, for the note of a crash."""
        log = self._runtime / "kernel.log"
        lines = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
        return f" (kernel: {' / '.join(lines)})" if lines else ""

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
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        test = self.tests.get(grade_id) if cell.metadata.get("nbgrader", {}).get("grade") else None
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

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most `Limits.output_kb` of output per cell."""
        content = msg["content"]
        size = len(content.get("text", "")) + sum(len(str(value)) for value in
                                                   content.get("data", {}).values())
        used = self._output_bytes.get(cell_index, 0)
        budget = self.launcher.limits.output_kb << 10
        self._output_bytes[cell_index] = used + size
        if used + size <= budget:
            return super().output(outs, msg, display_id, cell_index)
        if used <= budget:
            outs.append(NotebookNode(output_type="stream", name="stdout", text=(
                f"\n[the grader dropped the rest of this cell's output: more than "
                f"{self.launcher.limits.output_kb} kB]\n")))
        return None
