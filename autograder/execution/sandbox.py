"""Where and how a submission's code runs when it is graded: a jailed, resource-limited kernel.

Each submission gets a fresh IPython kernel, started as

    python -c LIMITS ...  ->  bwrap --args FD  ->  python -P -m ipykernel_launcher -f /run/kernel.json

- **Limits per submission** (cgroups.py, where cgroups v2 or v1 work): the launcher joins a
  fresh cgroup before it execs the rest, so the kernel and every process it starts share one
  memory limit (`Limits.memory_mb`, their tmpfs and shared memory included; going over it kills
  the whole submission), one limit on the number of processes and threads (`processes`) and
  one CPU quota (`cpus`). The group is removed with the kernel.
- **Limits per process** (always): RLIMIT_AS (each process's address space: a clean
  MemoryError for one huge allocation), RLIMIT_CPU (a backstop for the wall limit),
  RLIMIT_FSIZE (file size) and no core dumps. Where no cgroups work, these are all there is,
  and the grader says so loudly (`NO_CGROUPS_WARNING`).
- **Isolation** (where bubblewrap works): new user, mount, pid, network, ipc, uts and cgroup
  namespaces, uid 65534 without capabilities. The kernel sees only what it needs, read-only:
  the system's /usr, a few files of /etc, the Python installation (less debugpy:
  `hidden_paths`) and, where the course's `nnlib` package is, the one the launcher names
  (`nnlib`: library.py's copy without the answers of the graded chapter). Without bubblewrap,
  that copy comes first on PYTHONPATH. The root is read-only. The kernel can write only
  size-limited tmpfs of its own: /tmp (`tmp_mb`), which holds its working directory
  (`JAIL_WORK`: a copy of the submission's files, no notebook), and /dev/shm (`SHM_MB`);
  and one host directory, `JAIL_IPC`, for the sockets of ZeroMQ's ipc transport, which work
  across network namespaces (the grader talks to the kernel over them: it has no network).
  Its connection file is read-only (`JAIL_CONNECTION`, a copy). bubblewrap's arguments come
  through a file descriptor: pid 1's command line and environment name no directory of the
  grader's (only the Python installation, which the jail sees). The solutions, the hidden
  tests, the gradebook and the other submissions are not in its file system.
  Where bubblewrap cannot run, the grader says so loudly (`NO_ISOLATION_WARNING`) and runs
  the kernel with the resource limits only.
- **Nothing is read from the kernel's side** but a pipe: its output goes to a pipe that
  `KernelWatch` reads, a size-capped tail, in a thread (no read waits on the kernel). The
  directory of its sockets is sealed once they exist (guarded_execute.SandboxedKernelManager)
  and removed without following anything in it (`remove_tree`).

`KernelLauncher` is made once by the grading process (`KernelLauncher.detect`) and handed to
the workers; `guarded_execute.SandboxedKernelManager` starts each kernel through it.
"""
from __future__ import annotations

import importlib.util
import os
import select
import shutil
import stat
import subprocess
import sys
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from autograder.execution.cgroups import Cgroups, Group

NOBODY = 65534
# Files of /etc a Python kernel, matplotlib and graphviz read; the rest of /etc stays out.
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group",
             "nsswitch.conf", "fonts", "alternatives", "mime.types")
OPTIONAL = ("--disable-userns", "--size")  # bwrap options that older versions lack
# Where things are in the jail: its /tmp (a tmpfs of Limits.tmp_mb) holds the working directory
# and matplotlib's; /run holds the connection file and the sockets' directory.
JAIL_TMP = "/tmp"
JAIL_WORK = "/tmp/work"
JAIL_MATPLOTLIB = "/tmp/matplotlib"
JAIL_CONNECTION = "/run/kernel.json"
JAIL_IPC = "/run/ipc"
SHM_MB = 64  # the jail's /dev/shm
HIDDEN_BYTES = 4096  # the (read-only) tmpfs over each hidden path
MAX_FILES = 256  # files and folders of a submission copied into the working directory
LOG_TAIL = 4096  # bytes of the kernel's output kept, for the note of a crash
# No warning about figures left open (with the Agg backend, plt.show() closes none).
MATPLOTLIBRC = "figure.max_open_warning: 0\n"
LIMITS = """\
import os, resource, sys
memory, cpu, fsize, groups = (int(value) for value in sys.argv[1:5])
for procs in sys.argv[5:5 + groups]:  # the submission's cgroup first: all that follows is inside
    if os.path.basename(procs) != "cgroup.procs":
        sys.exit(f"not a cgroup: {procs}")
    with open(procs, "w") as file:
        file.write(str(os.getpid()))
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
os.execv(sys.argv[5 + groups], sys.argv[5 + groups:])
"""
NO_ISOLATION_WARNING = """
**********************************************************************************************
  WARNING: NO ISOLATION. {reason}
  Submitted code will run with YOUR rights: it can read the solutions, the hidden tests and
  the other submissions, write the gradebook and use the network. Only the resource limits
  (time, memory, file size) apply. Install bubblewrap (Debian/Ubuntu: `apt-get install
  bubblewrap`) and make sure it can create namespaces, then grade again.
**********************************************************************************************
"""
NO_CGROUPS_WARNING = """
**********************************************************************************************
  WARNING: NO LIMITS PER SUBMISSION. No cgroups can be used: {reason}
  Memory is limited per PROCESS only (RLIMIT_AS): a submission that starts N processes may
  use N times --memory, and its tmpfs count apart. The number of processes is not limited
  (RLIMIT_NPROC counts a whole user's processes, and none of root's), and CPU time is limited
  per process (RLIMIT_CPU), not shared. Grade as root on a machine with cgroups v1 (memory,
  pids and cpu hierarchies mounted read-write) or v2 (those controllers delegated to the
  grader's cgroup or its parent), then grade again.
**********************************************************************************************
"""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission.

    timeout: seconds a cell may run; wall: seconds the whole submission may run (kernel start
    included); memory_mb: memory of the whole submission, every process and tmpfs of it (a
    cgroup), and the address space of each process (RLIMIT_AS); processes: processes and
    threads of the submission (a cgroup); cpus: CPUs' worth of time it may use at once (a
    cgroup); tmp_mb: its private /tmp, working directory included, and its largest file;
    output_kb: output kept per cell (the rest is dropped, with a note); outcomes_mb: the largest
    reply of a test cell's probes (a larger one is "probe channel tampered").
    """
    timeout: int = 30
    wall: int = 300
    memory_mb: int = 2048
    processes: int = 128
    cpus: float = 1.0
    tmp_mb: int = 256
    output_kb: int = 1024
    outcomes_mb: int = 48


@dataclass
class Command:
    """A command to start, and the file descriptors it reads (bubblewrap's arguments, the files
    it copies into the jail): pass them to the process (`pass_fds`), then `close` them."""
    argv: list[str]
    fds: list[int] = field(default_factory=list)

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds = []


@dataclass(frozen=True)
class KernelLauncher:
    """How kernels are started: the resource limits, the cgroups if there are, and the bubblewrap
    jail if there is one."""
    limits: Limits
    bwrap: str | None  # the bwrap program, or None: no isolation
    read_only: tuple[str, ...] = field(default=())  # host paths the kernel may read
    reason: str = ""  # why there is no isolation
    font_cache: str | None = None  # matplotlib's font list, copied so that no kernel rebuilds it
    options: frozenset[str] = frozenset()  # which of OPTIONAL this bwrap has
    nnlib: str | None = None  # the nnlib the kernel imports instead of the course's (library.py)
    cgroups: Cgroups | None = None  # where each kernel's cgroup is made, or None: rlimits only
    cgroups_reason: str = ""  # why there are no cgroups

    @classmethod
    def detect(cls, limits: Limits) -> "KernelLauncher":
        """A launcher with cgroups and bubblewrap where they work here (each tried: a trial
        cgroup, a trivial sandbox), else without."""
        fonts = font_cache()
        cgroups, cgroups_reason = Cgroups.detect()
        plain = cls(limits, None, font_cache=fonts, cgroups=cgroups, cgroups_reason=cgroups_reason)
        bwrap = shutil.which("bwrap")
        if not bwrap:
            return replace(plain, reason="bubblewrap (bwrap) is not installed.")
        manual = subprocess.run([bwrap, "--help"], capture_output=True, text=True).stdout
        launcher = cls(limits, bwrap, readable_paths(), font_cache=fonts, cgroups=cgroups,
                       cgroups_reason=cgroups_reason,
                       options=frozenset(option for option in OPTIONAL if option in manual))
        command = launcher.command([sys.executable, "-I", "-c", "import numpy"])
        try:
            run = subprocess.run(command.argv, pass_fds=command.fds, capture_output=True, text=True,
                                 timeout=60)
        except (OSError, subprocess.TimeoutExpired) as error:
            return replace(plain, reason=f"bubblewrap does not work here ({error}).")
        finally:
            command.close()
        if run.returncode != 0:
            detail = (run.stderr.strip().splitlines() or ["no message"])[-1]
            return replace(plain, reason=f"bubblewrap does not work here: {detail}")
        return launcher

    @property
    def isolated(self) -> bool:
        return self.bwrap is not None

    def describe(self) -> str:
        """What the log says of the kernels: the jail, each limit and what enforces it (and,
        without cgroups, the loud warning)."""
        limits = self.limits
        where = ("in a bubblewrap jail (no network; it sees only the Python installation and the nnlib "
                 "of the earlier chapters; read-only root)"
                 if self.isolated else "WITHOUT ISOLATION")
        if self.cgroups:
            shared = (f"per submission ({self.cgroups.describe()}): {limits.memory_mb} MB of memory in "
                      f"all (tmpfs and shared memory included), {limits.processes} processes, "
                      f"{limits.cpus:g} CPU; per process (rlimits): {limits.memory_mb} MB of address "
                      f"space")
        else:
            shared = (f"per process only (rlimits; no cgroups: {self.cgroups_reason}): "
                      f"{limits.memory_mb} MB of address space, {limits.wall + 10} s of CPU")
        private = ""
        if self.isolated and "--size" in self.options:
            private = (f"; private space (size-limited tmpfs): {limits.tmp_mb} MB of /tmp and working "
                       f"directory, {SHM_MB} MB of /dev/shm")
        elif self.isolated:
            private = "; private space: tmpfs of no size (this bwrap has no --size), bounded by memory only"
        line = (f"kernels run {where}; limits {shared}, files of {limits.tmp_mb} MB; {limits.timeout} s "
                f"per cell, {limits.wall} s per submission{private}")
        return line if self.cgroups else NO_CGROUPS_WARNING.format(reason=self.cgroups_reason) + line

    def environment(self, runtime: Path | None = None) -> dict[str, str]:
        """The kernel's whole environment: nothing is inherited from the grader. (Without the
        jail, matplotlib's directory is in `runtime`: `stage`.)"""
        env = {
            "HOME": JAIL_TMP if self.isolated else "/tmp", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin",
                                     "/bin"]),
            # Figures are made but not drawn (drawing them takes ~1 s of a chapter 2 submission):
            # no graded result depends on pixels. matplotlibrc there silences the open-figure count.
            "MPLBACKEND": "agg",
            "MPLCONFIGDIR": JAIL_MATPLOTLIB if self.isolated else str(runtime / "matplotlib"),
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "JPY_PARENT_PID": "1",  # ipykernel: no parent to watch (pid 1), no banner in its output
        }
        cache = mnist_cache()
        if cache:
            env["NNLIB_CACHE_DIR"] = str(cache)
        if self.nnlib and not self.isolated:  # (in the jail, it is bound where nnlib is)
            env["PYTHONPATH"] = str(Path(self.nnlib).parent)
        return env

    def stage(self, submission: Path, runtime: Path) -> tuple[str, ...]:
        """Prepare `runtime` (a new directory of the grader's) for a kernel; return the files of
        `submission` it gets in its working directory (`submission_files`). In the jail, they are
        copied from `submission` when it starts, and `runtime` gets only `ipc`, for its sockets.
        Without, `runtime` gets the copy (work/) and matplotlib's directory too."""
        files = submission_files(submission)
        (runtime / "ipc").mkdir(mode=0o700)
        if not self.isolated:
            (runtime / "work").mkdir()
            for name in files:
                if name.endswith("/"):
                    (runtime / "work" / name).mkdir()
                else:
                    shutil.copyfile(submission / name, runtime / "work" / name, follow_symlinks=False)
            (runtime / "matplotlib").mkdir()
            (runtime / "matplotlib" / "matplotlibrc").write_text(MATPLOTLIBRC)
            if self.font_cache:
                shutil.copy(self.font_cache, runtime / "matplotlib")
        return files

    def command(self, program: list[str], group: Group | None = None, ipc: Path | None = None,
                connection: bytes | None = None, submission: Path | None = None,
                files: tuple[str, ...] = ()) -> Command:
        """The command that starts `program` with the limits, in `group` (its cgroup, if any),
        in the jail if there is one: there, `ipc` (a host directory) is bound writable at
        JAIL_IPC, `connection` is the read-only JAIL_CONNECTION, and `files` of `submission`
        are copied into JAIL_WORK (without the jail, the caller has put them in place: `stage`).
        """
        limits = self.limits
        procs = group.procs if group else []
        limited = [sys.executable, "-I", "-S", "-c", LIMITS, str(limits.memory_mb << 20),
                   str(limits.wall + 10), str(limits.tmp_mb << 20), str(len(procs)), *procs]
        if not self.isolated:
            return Command([*limited, *program])
        command = Command([])
        try:
            arguments = memory_file(b"".join(argument.encode() + b"\0"
                                             for argument in self._jail(command.fds, ipc, connection,
                                                                        submission, files)))
        except BaseException:
            command.close()
            raise
        command.fds.append(arguments)
        command.argv = [*limited, self.bwrap, "--args", str(arguments), "--", *program]
        return command

    def _jail(self, fds: list[int], ipc: Path | None, connection: bytes | None,
              submission: Path | None, files: tuple[str, ...]) -> list[str]:
        """bubblewrap's arguments (see `command`); the file descriptors they name go to `fds`."""

        def data(content: bytes) -> str:  # a file descriptor bwrap reads `content` from
            fds.append(memory_file(content))
            return str(fds[-1])

        def sized(size: int, path: str) -> list[str]:
            return (["--size", str(size)] if "--size" in self.options else []) + ["--tmpfs", path]

        jail = ["--unshare-all", "--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY),
                "--cap-drop", "ALL", "--die-with-parent", "--clearenv", "--proc", "/proc", "--dev", "/dev",
                *sized(SHM_MB << 20, "/dev/shm"), "--remount-ro", "/dev"]
        if "--disable-userns" in self.options:  # no nested user namespaces (bwrap >= 0.8)
            jail.append("--disable-userns")
        jail += [*sized(self.limits.tmp_mb << 20, JAIL_TMP), "--dir", JAIL_WORK, "--dir", JAIL_MATPLOTLIB,
                 "--file", data(MATPLOTLIBRC.encode()), f"{JAIL_MATPLOTLIB}/matplotlibrc"]
        if self.font_cache:
            fds.append(open_regular(Path(self.font_cache)))
            jail += ["--file", str(fds[-1]), f"{JAIL_MATPLOTLIB}/{Path(self.font_cache).name}"]
        for top in ("bin", "sbin", "lib", "lib32", "lib64"):  # /bin -> usr/bin on merged-/usr systems
            path = Path("/") / top
            if path.is_symlink():
                jail += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                jail += ["--ro-bind", str(path), str(path)]
        for path in self.read_only:
            jail += ["--ro-bind", path, path]
        for path in hidden_paths():
            jail += [*sized(HIDDEN_BYTES, path), "--remount-ro", path]
        if self.nnlib:
            jail += ["--ro-bind", self.nnlib, course_package()]
        if ipc is not None:
            jail += ["--bind", str(ipc), JAIL_IPC]
        if connection is not None:
            jail += ["--ro-bind-data", data(connection), JAIL_CONNECTION]
        for name in files:  # (in the order of submission_files: each folder before what it holds)
            if name.endswith("/"):
                jail += ["--dir", f"{JAIL_WORK}/{name.rstrip('/')}"]
            else:
                fds.append(open_regular(submission / name))
                jail += ["--file", str(fds[-1]), f"{JAIL_WORK}/{name}"]
        for name, value in self.environment().items():
            jail += ["--setenv", name, value]
        return jail + ["--remount-ro", "/", "--chdir", JAIL_WORK]


def submission_files(folder: Path) -> tuple[str, ...]:
    """The submission's files the kernel gets, relative to `folder`: its regular files but
    notebooks (the notebook being graded holds the hidden tests) and its folders (named with a
    final "/", each before what it holds); no link, no special file; MAX_FILES at most."""
    found: list[str] = []
    pending = [""]
    while pending and len(found) < MAX_FILES:
        prefix = pending.pop()
        with os.scandir(folder / prefix) as entries:
            for entry in sorted(entries, key=lambda entry: entry.name):
                if len(found) >= MAX_FILES:
                    break
                if entry.is_dir(follow_symlinks=False):
                    found.append(f"{prefix}{entry.name}/")
                    pending.append(f"{prefix}{entry.name}/")
                elif entry.is_file(follow_symlinks=False) and not entry.name.endswith(".ipynb"):
                    found.append(prefix + entry.name)
    return tuple(found)


def open_regular(path: Path) -> int:
    """A file descriptor of `path`, which must be a regular file: a link is not followed, a FIFO
    or device does not block the open (O_NONBLOCK) and is refused (OSError)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path} is not a regular file")
    return fd


def memory_file(content: bytes) -> int:
    """A file descriptor of an anonymous file holding `content`, read from its start."""
    fd = os.memfd_create("nnfs", os.MFD_CLOEXEC)
    view = memoryview(content)
    while view:
        view = view[os.write(fd, view):]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def remove_tree(path: Path, budget: int = 1_000_000) -> None:
    """Remove the directory `path` and all in it, as made by a jail: no link is followed, nothing
    but a directory is opened (O_NOFOLLOW), and however deep the tree, no recursion and two open
    files: each folder found is moved up into `path` before it is emptied. Gives up (OSError)
    after `budget` entries. Call it when nothing can write there any more."""
    top = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    moved = 0
    try:
        while names := os.listdir(top):
            for name in names:
                budget -= 1
                if budget < 0:
                    raise OSError(f"{path}: too many entries to remove")
                if not stat.S_ISDIR(os.stat(name, dir_fd=top, follow_symlinks=False).st_mode):
                    os.unlink(name, dir_fd=top)
                    continue
                folder = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                                 dir_fd=top)
                try:
                    for child in os.listdir(folder):
                        budget -= 1
                        if budget < 0:
                            raise OSError(f"{path}: too many entries to remove")
                        if not stat.S_ISDIR(os.stat(child, dir_fd=folder, follow_symlinks=False).st_mode):
                            os.unlink(child, dir_fd=folder)
                            continue
                        while True:  # a name not taken in `path` (nothing else writes there)
                            moved += 1
                            try:
                                os.stat(f"moved-{moved}", dir_fd=top, follow_symlinks=False)
                            except FileNotFoundError:
                                break
                        os.rename(child, f"moved-{moved}", src_dir_fd=folder, dst_dir_fd=top)
                finally:
                    os.close(folder)
                os.rmdir(name, dir_fd=top)
    finally:
        os.close(top)
    os.rmdir(path)


class KernelWatch:
    """What the grader learns of a running kernel, reading nothing the kernel can shape but a
    pipe. The kernel's stdout and stderr are `output`, the write end of a pipe; a thread reads
    it as it comes and keeps the last LOG_TAIL bytes: the kernel never blocks on a full pipe,
    and no read of the grader's waits on the kernel. Under cgroups v1 the thread also waits for
    the out-of-memory events of the kernel's `group`, and at the first kills the whole group
    (as v2 does itself).
    """

    def __init__(self, group: Group | None):
        self._group = group
        self._oom = group.oom_events() if group else None
        self._pipe, self.output = os.pipe2(os.O_CLOEXEC)
        self._wake, self._stop = os.pipe2(os.O_CLOEXEC)
        self._tail = bytearray()
        self._lock = threading.Lock()
        self._ended = threading.Event()  # the pipe's end: every process of the kernel is gone
        self.out_of_memory = False  # the group went over its memory (v1: seen by this thread)
        self._thread = threading.Thread(target=self._run, name="kernel-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        poll = select.poll()
        for fd in (self._pipe, self._oom, self._wake):
            if fd is not None:
                poll.register(fd, select.POLLIN)
        while True:
            ready = {fd for fd, _ in poll.poll()}
            if self._wake in ready:
                return
            if self._oom in ready:
                os.read(self._oom, 8)
                self.out_of_memory = True
                self._group.kill()
            if self._pipe in ready:
                data = os.read(self._pipe, 1 << 16)
                if not data:
                    poll.unregister(self._pipe)
                    self._ended.set()
                with self._lock:
                    self._tail += data
                    del self._tail[:-LOG_TAIL]

    def close_output(self) -> None:
        """Close the grader's copy of `output`, once the kernel has its own."""
        if self.output >= 0:
            os.close(self.output)
            self.output = -1

    def tail(self, wait: float) -> str:
        """The last of the kernel's output, once every process of it is gone, or after `wait`
        seconds at most."""
        self._ended.wait(max(0.0, wait))
        with self._lock:
            return bytes(self._tail).decode(errors="replace")

    def close(self) -> None:
        """Stop the thread, close the pipe."""
        os.write(self._stop, b"x")
        self._thread.join()
        self.close_output()
        for fd in (self._pipe, self._wake, self._stop):
            os.close(fd)


def readable_paths() -> tuple[str, ...]:
    """What a kernel needs to read: /usr, some of /etc, Python (venv and base), nnlib, MNIST."""
    paths = {"/usr"} | {f"/etc/{name}" for name in ETC_FILES if Path("/etc", name).exists()}
    for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        paths.add(prefix)
        paths.add(str(Path(prefix).resolve()))
    paths.add(course_package())
    if mnist_cache():
        paths.add(str(mnist_cache()))
    # Binding a path inside another bound path is redundant: keep the outermost ones only.
    kept = sorted(paths, key=len)
    outermost = [path for i, path in enumerate(kept)
                 if not any(path.startswith(other.rstrip("/") + "/") for other in kept[:i])]
    return tuple(sorted(outermost))


def course_package() -> str:
    """Where the grader's nnlib package is (its own folder: not the learner's work/nnlib, which
    nnlib/__init__.py puts first on the package's path)."""
    import nnlib

    return str(Path(nnlib.__file__).resolve().parent)


def hidden_paths() -> list[str]:
    """Folders of the Python installation the kernel does not see: debugpy, which ipykernel
    imports at start (0.1 s of each kernel) only to offer a debugger no graded kernel uses."""
    spec = importlib.util.find_spec("debugpy")
    return list(spec.submodule_search_locations or []) if spec else []


def font_cache() -> str | None:
    """matplotlib's font list in the grader's cache (built now if missing), or None."""
    import matplotlib
    import matplotlib.font_manager  # noqa: F401  (builds the font list if it is missing)

    found = sorted(Path(matplotlib.get_cachedir()).glob("fontlist-*.json"))
    return str(found[-1]) if found else None


def mnist_cache() -> Path | None:
    """nnlib's MNIST cache directory, if there is one (chapter 5 reads it)."""
    from nnlib.data import cache_path

    folder = cache_path().parent
    return folder if folder.is_dir() else None
