"""nbgrader's Execute preprocessor, made safe for grading untrusted submissions.

Replaces `Execute` in `Autograde.autograde_preprocessors`. Compared with nbgrader's own:

- The kernel starts through `SandboxedKernelManager`: the jail and resource limits of
  sandbox.py, and ipc sockets (the jail has no network).
- Each cell may run `Limits.timeout` seconds and the whole submission `Limits.wall` seconds.
  nbgrader interrupts a cell that times out and goes on, so code placed before an infinite loop
  in the same cell still earns the points of later tests. Here the first timeout (or the death
  of the kernel: a crash, a memory kill) STOPS the submission: no later cell runs, every later
  cell gets an error output (so nbgrader scores it 0), and `RunRecord` says which graded cells
  did not run and why, so that the reports show them as "timed out"/"crashed", not as zeros.
- Before each graded test cell, the kernel guard (kernel_guard.py) restores numpy, math, the
  builtins, `assert_close` and IPython's error reporting, in case the submission replaced them.
  What it had to restore is recorded as tampering; if it cannot run, the test fails.
- The cells no test depends on do not run (`learner.not_run_when_grading`: illustrations
  tagged `skip-when-grading`, and everything after the last graded cell). A chapter's plots,
  timings and closing demonstration cost more than its graded part; their output in the
  feedback says why they are empty (`NOT_GRADED`).
- Output beyond `Limits.output_kb` per cell is dropped (with a note), so a submission that
  prints gigabytes cannot exhaust the grader's memory or the feedback.

The outcome of the last run of each student is left in `LAST_RUN[student]` for the caller.
"""
from __future__ import annotations

import ast
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
from nbgrader.utils import is_grade
from traitlets import Bool, Enum, Instance, Integer, Unicode

from autograder.learner import not_run_when_grading
from autograder.sandbox import KernelLauncher

GUARD_CALL = ('[c for c in ().__class__.__base__.__subclasses__() '
              'if c.__name__ == "_CourseGuard"][0].restore()')
NOT_RUN = "NotRun"  # ename of the error output put into cells that did not run
GRADER_ERROR = "GraderError"  # ename of the error output of a test cell whose guard failed
NOT_GRADED = "[not run by the grader: no test depends on this cell]\n"


@dataclass
class RunRecord:
    """How one submission ran.

    stopped: None, or why it stopped early ("timed out" or "crashed"), explained by `note`.
    not_run: grade ids of the graded cells that did not run to the end because of it.
    tampering: {grade id: names the guard restored right before that test cell}.
    guard_failed: grade ids of the test cells that failed because the guard could not run.
    """
    stopped: str | None = None
    note: str = ""
    not_run: list[str] = field(default_factory=list)
    tampering: dict[str, list[str]] = field(default_factory=dict)
    guard_failed: list[str] = field(default_factory=list)


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
        guard = (f"__import__('runpy').run_path({self.launcher.guard_path()!r}, "
                 "run_name='kernel_guard')['install']()")
        kernel = [*super().format_kernel_cmd(extra_arguments), f"--IPKernelApp.exec_lines={[guard]!r}"]
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


class GuardedExecute(Execute):
    """Execute a submission in a jailed kernel; stop at the first timeout or crash (see module)."""

    launcher = Instance(KernelLauncher).tag(config=True)
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
                return super().preprocess(nb, resources, km)
            except (RuntimeError, TimeoutError) as error:
                if self._kernel_started:  # not a start-up failure: let nbgrader report it
                    raise
                self._stop("crashed", f"the kernel did not start: {error}{self._kernel_log()}")
                for index, cell in enumerate(nb.cells):
                    self.preprocess_cell(cell, resources, index)
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

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if index in self._skipped:
            cell.outputs = [NotebookNode(output_type="stream", name="stdout", text=NOT_GRADED)]
            return cell, resources
        graded = is_grade(cell)
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if not self.record.stopped and monotonic() >= self._deadline:
            self._stop("timed out", f"the submission ran longer than its limit of "
                                    f"{self.launcher.limits.wall} s")
        if self.record.stopped:
            cell.outputs = [error_output(NOT_RUN, f"not run: {self.record.note}")]
            if graded:
                self.record.not_run.append(grade_id)
            return cell, resources
        self._kernel_started = True
        try:
            if graded and not self._guard(grade_id):
                cell.outputs = [error_output(GRADER_ERROR, "the grader could not check the test "
                                             "environment: the submission interfered with the kernel")]
                return cell, resources
            return super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            if monotonic() >= self._deadline - 1:
                self._stop("timed out", f"the submission ran longer than its limit of "
                                        f"{self.launcher.limits.wall} s (in code cell {index + 1})")
            else:
                self._stop("timed out", f"code cell {index + 1} ran longer than "
                                        f"{self.timeout} s")
        except DeadKernelError:
            self._stop("crashed", f"the kernel died in code cell {index + 1}{self._kernel_log()}")
        cell.outputs.append(error_output(NOT_RUN, f"stopped: {self.record.note}"))
        if graded:
            self.record.not_run.append(grade_id)
        return cell, resources

    def _guard(self, grade_id: str) -> bool:
        """Run the kernel guard before a test cell; False if it could not run. (A kernel that
        dies or hangs meanwhile raises, as in a cell.)"""
        msg_id = self.kc.execute("", silent=True, store_history=False,
                                 user_expressions={"restored": GUARD_CALL})
        reply = self.wait_for_reply(msg_id)
        try:
            result = reply["content"]["user_expressions"]["restored"]
            restored = ast.literal_eval(result["data"]["text/plain"]) if result["status"] == "ok" \
                else None
        except (KeyError, TypeError, ValueError, SyntaxError):
            restored = None
        if not isinstance(restored, list):
            self.record.guard_failed.append(grade_id)
            return False
        if restored:
            self.record.tampering[grade_id] = [str(name) for name in restored]
        return True

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
