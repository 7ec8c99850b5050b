"""A pool of worker processes that survives its workers: the grader's own work on a submission
is bounded in time and memory, and one submission that breaks its worker breaks nothing else.

`concurrent.futures.ProcessPoolExecutor` cannot do this: it has no per-task bounds, and one dead
worker breaks the whole pool (every pending task fails with BrokenProcessPool). `WorkerPool`
has the same `submit(function, *args) -> Future` (`as_completed` and `Future.result` work as
before), and:

- A task may run `seconds` (the worker's wall time, measured here) and its worker may hold
  `memory_mb` of resident memory (read from /proc every `POLL_SECONDS`; where there is no /proc,
  only the time is bounded). A worker past either bound is killed, with every process it started
  (its kernel), and its task fails with `WorkerLost` (status `TIMED_OUT` or `TOO_LARGE`).
- A worker that dies of anything else (a signal from outside, a crash of the interpreter) has its
  task run once more on a new worker; if that one dies too, the task fails with `WorkerLost`
  (`CRASHED`).
- A dead worker is replaced by a new one; the other workers and their tasks carry on.
- A worker that holds more than half its memory bound after a task (Python keeps what it
  allocated; the feedback's caches grow) is retired and replaced, so that every task starts
  with at least half the bound free: the task that passes the bound is the one that used it.

Each worker keeps its temporary files (the kernel's runtime directory, ...) in a scratch
directory of its own, removed when the worker ends, however it ends.
"""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from time import monotonic
from typing import Callable

from autograder.results import CRASHED, TIMED_OUT, TOO_LARGE

POLL_SECONDS = 0.2  # how often the pool reads its busy workers' memory
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class WorkerLost(Exception):
    """A task's worker stopped before finishing it. `status` (results.py) and `note` say why:
    what the submission it graded gets."""

    def __init__(self, status: str, note: str):
        super().__init__(note)
        self.status, self.note = status, note


def serve(connection, scratch: str) -> None:
    """A worker's life: run each (function, args) received and send back (True, result) or
    (False, exception), until told to stop (None) or the pool is gone."""
    tempfile.tempdir = scratch
    while True:
        try:
            task = connection.recv()
        except EOFError:
            return
        if task is None:
            return
        function, args = task
        try:
            reply = (True, function(*args))
        except Exception as error:  # noqa: BLE001 (raised again by the caller's Future.result)
            reply = (False, error)
        try:
            connection.send(reply)
        except Exception as error:  # noqa: BLE001 (a result or exception that does not pickle)
            connection.send((False, RuntimeError(f"{type(error).__name__}: {error}")))


def resident_mb(pid: int) -> float:
    """A process's resident memory in MB (0 where /proc cannot tell)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_BYTES / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def descendants(pid: int) -> list[int]:
    """Every process started by `pid`, its children's children and so on (from /proc; none where
    there is no /proc)."""
    children: dict[int, list[int]] = {}
    try:
        entries = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return []
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # (it ended meanwhile)
        children.setdefault(parent, []).append(int(entry))
    found, pending = [], [pid]
    while pending:
        below = children.get(pending.pop(), [])
        found += below
        pending += below
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants; it is stopped first, so it starts no more."""
    try:
        os.kill(pid, signal.SIGSTOP)
    except ProcessLookupError:
        return
    for member in [pid, *descendants(pid)]:
        try:
            os.kill(member, signal.SIGKILL)
        except ProcessLookupError:
            pass


def how_it_ended(exitcode: int | None) -> str:
    return f"killed by signal {-exitcode}" if exitcode and exitcode < 0 else f"exit code {exitcode}"


@dataclass
class Job:
    """A task: what to run, the Future of its result."""
    future: Future
    call: tuple  # (function, args)
    label: str  # names the task in the log
    deaths: int = 0  # how many workers died running it


@dataclass
class Worker:
    """A worker process, its pipe, and the task it runs (None: idle) with its deadline."""
    process: object  # a multiprocessing Process
    connection: object  # the pool's end of its pipe
    scratch: Path
    job: Job | None = None
    deadline: float = 0.0


class WorkerPool:
    """`size` worker processes of a multiprocessing `context`, each task bounded to `seconds` and
    `memory_mb` (see the module). `log` receives a line for each task run again."""

    def __init__(self, size: int, context, seconds: float, memory_mb: float,
                 log: Callable[[str], None] = lambda message: None,
                 ended: Callable[[int], None] = lambda pid: None):
        self.size, self.context, self.seconds, self.memory_mb, self.log = (
            size, context, seconds, memory_mb, log)
        self.ended = ended  # called with the pid of each worker that has ended, for clean-up
        self.jobs: deque[Job] = deque()
        self.workers: list[Worker] = []
        self.retired: list[Worker] = []  # told to stop, not joined yet
        self.lock = threading.Lock()
        self.closing = self.aborting = False
        self.wake_reader, self.wake_writer = context.Pipe(duplex=False)
        self.thread = threading.Thread(target=self._run, name="worker pool", daemon=True)
        self.thread.start()

    def submit(self, function, *args, label: str = "") -> Future:
        """Run function(*args) in a worker (both must pickle); its Future."""
        job = Job(Future(), (function, args), label or getattr(function, "__name__", "a task"))
        with self.lock:
            if self.closing:
                raise RuntimeError("the pool is shut down")
            self.jobs.append(job)
        self.wake_writer.send(None)
        return job.future

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, kind, error, trace) -> None:
        self.shutdown(abort=error is not None)

    def shutdown(self, abort: bool = False) -> None:
        """Stop once every task is done, or at once (`abort`: tasks not started are cancelled, the
        running ones killed)."""
        with self.lock:
            self.closing, self.aborting = True, abort
        self.wake_writer.send(None)
        self.thread.join()
        for worker in self.workers:
            try:
                worker.connection.send(None)
            except OSError:
                pass
        for worker in self.workers + self.retired:
            worker.process.join(5)
            if worker.process.exitcode is None:
                kill_tree(worker.process.pid)
                worker.process.join()
            self._discard(worker)

    def _run(self) -> None:
        """The pool's thread, the only one that touches the workers: hand out tasks, collect
        results, watch the bounds."""
        try:
            while True:
                with self.lock:
                    if self.aborting:
                        self._abort()
                        return
                    self._assign()
                    busy = [worker for worker in self.workers if worker.job]
                    if self.closing and not busy:
                        return
                ready = wait([self.wake_reader] + [worker.connection for worker in busy]
                             + [worker.process.sentinel for worker in busy], POLL_SECONDS)
                while self.wake_reader.poll():
                    self.wake_reader.recv()
                with self.lock:
                    for worker in busy:
                        self._watch(worker, ready)
        except BaseException as error:  # noqa: BLE001 (a bug here must not leave callers waiting)
            with self.lock:
                self.closing = True  # nothing serves the queue any more: refuse new tasks
                for job in [*self.jobs, *(worker.job for worker in self.workers if worker.job)]:
                    if not job.future.done():
                        job.future.set_exception(error)
                self.jobs.clear()
            raise

    def _abort(self) -> None:
        while self.jobs:
            job = self.jobs.popleft()
            if not job.future.cancel():  # (a task put back after its worker died is running)
                job.future.set_exception(RuntimeError("the pool was shut down"))
        for worker in list(self.workers):
            if worker.job:
                kill_tree(worker.process.pid)
                worker.process.join()
                worker.job.future.set_exception(RuntimeError("the pool was shut down"))
                self._discard(worker)

    def _assign(self) -> None:
        """Give each idle worker a task, starting workers up to `size`."""
        for worker in [worker for worker in self.workers + self.retired
                       if worker.process.exitcode is not None and not worker.job]:
            self._discard(worker)  # (it died idle, or was retired and has stopped)
        idle = [worker for worker in self.workers if not worker.job]
        while self.jobs and (idle or len(self.workers) < self.size):
            job = self.jobs.popleft()
            if not job.future.running() and not job.future.set_running_or_notify_cancel():
                continue  # (cancelled; a task run again is running already)
            worker = idle.pop() if idle else self._start()
            worker.job, worker.deadline = job, monotonic() + self.seconds
            try:
                worker.connection.send(job.call)
            except OSError:  # (it died just now: _watch sees it)
                pass

    def _start(self) -> Worker:
        scratch = Path(tempfile.mkdtemp(prefix="nnfs-worker-"))
        mine, theirs = self.context.Pipe()
        process = self.context.Process(target=serve, args=(theirs, str(scratch)), name="grading worker")
        process.start()
        theirs.close()
        worker = Worker(process, mine, scratch)
        self.workers.append(worker)
        return worker

    def _watch(self, worker: Worker, ready: list) -> None:
        """Settle a busy worker's task if it ended; end the worker if it passed a bound or died."""
        job = worker.job
        if worker.connection in ready:
            try:
                succeeded, value = worker.connection.recv()
            except (EOFError, OSError):
                succeeded = None  # it died: see below
            except Exception as error:  # noqa: BLE001 (a reply that does not unpickle)
                succeeded, value = False, RuntimeError(f"a worker's reply cannot be read: {error!r}")
            if succeeded is not None:
                worker.job = None
                if succeeded:
                    job.future.set_result(value)
                else:
                    job.future.set_exception(value)
                if resident_mb(worker.process.pid) > self.memory_mb / 2:
                    self._retire(worker)
                return
        if worker.process.exitcode is not None:
            job.deaths += 1
            how = how_it_ended(worker.process.exitcode)
            self._discard(worker)
            if job.deaths < 2:
                self.log(f"{job.label}: its worker died ({how}); running it again on a new one")
                self.jobs.appendleft(job)
            else:
                job.future.set_exception(WorkerLost(
                    CRASHED, f"the grader's worker died twice while grading it ({how})"))
            return
        if monotonic() > worker.deadline:
            lost = WorkerLost(TIMED_OUT, f"the grader's work on it took longer than {self.seconds:g} s")
        elif resident_mb(worker.process.pid) > self.memory_mb:
            lost = WorkerLost(TOO_LARGE, f"grading it took more than {self.memory_mb:g} MB of the "
                                         f"grader's memory")
        else:
            return
        kill_tree(worker.process.pid)
        worker.process.join()
        self._discard(worker)
        job.future.set_exception(lost)

    def _retire(self, worker: Worker) -> None:
        """Tell an idle worker to stop (shutdown joins it); a new one takes its place."""
        try:
            worker.connection.send(None)
        except OSError:
            pass
        self.workers.remove(worker)
        self.retired.append(worker)

    def _discard(self, worker: Worker) -> None:
        """Forget a worker that has ended, and remove its scratch directory (and, through
        `ended`, what else it left)."""
        worker.connection.close()
        shutil.rmtree(worker.scratch, ignore_errors=True)
        self.ended(worker.process.pid)
        for workers in (self.workers, self.retired):
            if worker in workers:
                workers.remove(worker)
