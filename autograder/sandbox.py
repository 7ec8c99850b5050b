"""Where and how a submission's code runs when it is graded: a jailed, resource-limited kernel.

Each submission gets a fresh IPython kernel, started as

    python -c LIMITS ...  ->  bwrap ...  ->  python -m ipykernel_launcher -f kernel.json

- **Resource limits** (always): the launcher sets RLIMIT_AS (memory), RLIMIT_CPU (a backstop
  for the wall limit), RLIMIT_FSIZE (file size) and no core dumps, then execs the rest.
- **Isolation** (where bubblewrap works): new user, mount, pid, network, ipc and uts namespaces,
  uid 65534 without capabilities. The kernel sees only what it needs, read-only: the system's
  /usr, a few files of /etc, the Python installation (less debugpy: `hidden_paths`) and, where
  the course's `nnlib` package is, the one the launcher names (`nnlib`: library.py's copy without
  the answers of the graded chapter). Without bubblewrap, that copy comes first on PYTHONPATH.
  It can write only a private /tmp (size-limited), a fresh working
  directory and the directory of its own connection file. The solutions, the hidden tests, the
  gradebook and the other submissions are not in its file system, and it has no network: the
  grader talks to it over Unix sockets (ZeroMQ's ipc transport), which work across network
  namespaces.
  Where bubblewrap cannot run, the grader says so loudly (`NO_ISOLATION_WARNING`) and runs
  the kernel with the resource limits only.

`KernelLauncher` is made once by the grading process (`KernelLauncher.detect`) and handed to
the workers; `guarded_execute.SandboxedKernelManager` starts each kernel through it.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

NOBODY = 65534
# Files of /etc a Python kernel, matplotlib and graphviz read; the rest of /etc stays out.
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group",
             "nsswitch.conf", "fonts", "alternatives", "mime.types")
OPTIONAL = ("--disable-userns", "--size")  # bwrap options that older versions lack
LIMITS = """\
import os, resource, sys
memory, cpu, fsize = (int(value) for value in sys.argv[1:4])
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
os.execv(sys.argv[4], sys.argv[4:])
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


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission.

    timeout: seconds a cell may run; wall: seconds the whole submission may run (kernel start
    included); memory_mb: address space of the kernel process; tmp_mb: its private /tmp and
    largest file; output_kb: output kept per cell (the rest is dropped, with a note);
    outcomes_mb: the largest reply of a test cell's probes (a larger one is "probe channel
    tampered").
    """
    timeout: int = 30
    wall: int = 300
    memory_mb: int = 2048
    tmp_mb: int = 256
    output_kb: int = 1024
    outcomes_mb: int = 48


@dataclass(frozen=True)
class KernelLauncher:
    """How kernels are started: the resource limits, and the bubblewrap jail if there is one."""
    limits: Limits
    bwrap: str | None  # the bwrap program, or None: no isolation
    read_only: tuple[str, ...] = field(default=())  # host paths the kernel may read
    reason: str = ""  # why there is no isolation
    font_cache: str | None = None  # matplotlib's font list, copied so that no kernel rebuilds it
    options: frozenset[str] = frozenset()  # which of OPTIONAL this bwrap has
    nnlib: str | None = None  # the nnlib the kernel imports instead of the course's (library.py)

    @classmethod
    def detect(cls, limits: Limits) -> "KernelLauncher":
        """A launcher with bubblewrap if it works here (tried with a trivial sandbox), else without."""
        fonts = font_cache()
        bwrap = shutil.which("bwrap")
        if not bwrap:
            return cls(limits, None, reason="bubblewrap (bwrap) is not installed.", font_cache=fonts)
        manual = subprocess.run([bwrap, "--help"], capture_output=True, text=True).stdout
        launcher = cls(limits, bwrap, readable_paths(), font_cache=fonts,
                       options=frozenset(option for option in OPTIONAL if option in manual))
        probe = Path(os.environ.get("TMPDIR", "/tmp"))
        argv = launcher.command([sys.executable, "-I", "-c", "import numpy"], probe, probe)
        try:
            run = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as error:
            return cls(limits, None, reason=f"bubblewrap does not work here ({error}).",
                       font_cache=fonts)
        if run.returncode != 0:
            detail = (run.stderr.strip().splitlines() or ["no message"])[-1]
            return cls(limits, None, reason=f"bubblewrap does not work here: {detail}",
                       font_cache=fonts)
        return launcher

    @property
    def isolated(self) -> bool:
        return self.bwrap is not None

    def describe(self) -> str:
        """One line for the log."""
        limits = self.limits
        where = ("in a bubblewrap jail (no network; it sees only the Python installation and the nnlib "
                 "of the earlier chapters)"
                 if self.isolated else "WITHOUT ISOLATION")
        return (f"kernels run {where}; limits: {limits.timeout} s per cell, {limits.wall} s per "
                f"submission, {limits.memory_mb} MB of memory, files of {limits.tmp_mb} MB"
                + (f", {limits.tmp_mb} MB of /tmp" if self.isolated else ""))

    def environment(self, runtime: Path) -> dict[str, str]:
        """The kernel's whole environment: nothing is inherited from the grader."""
        env = {
            "HOME": "/tmp", "LANG": "C.UTF-8", "TMPDIR": "/tmp",
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin",
                                     "/bin"]),
            # Figures are made but not drawn (drawing them takes ~1 s of a chapter 2 submission):
            # no graded result depends on pixels. matplotlibrc there silences the open-figure count.
            "MPLBACKEND": "agg", "MPLCONFIGDIR": str(runtime / "matplotlib"),
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "JPY_PARENT_PID": "1",  # ipykernel: no parent to watch (pid 1), no banner in kernel.log
        }
        cache = mnist_cache()
        if cache:
            env["NNLIB_CACHE_DIR"] = str(cache)
        if self.nnlib and not self.isolated:  # (in the jail, it is bound where nnlib is)
            env["PYTHONPATH"] = str(Path(self.nnlib).parent)
        return env

    def command(self, kernel: list[str], runtime: Path, workdir: Path) -> list[str]:
        """The full command that starts `kernel` with the limits, in the jail if there is one.

        `runtime` (connection file, sockets, matplotlib's cache) and `workdir` (the kernel's
        working directory) are the only host directories it can write.
        """
        limits = self.limits
        limited = [sys.executable, "-I", "-S", "-c", LIMITS, str(limits.memory_mb << 20),
                   str(limits.wall + 10), str(limits.tmp_mb << 20)]
        if not self.isolated:
            return [*limited, *kernel]
        jail = [self.bwrap, "--unshare-all", "--unshare-user", "--uid", str(NOBODY), "--gid",
                str(NOBODY), "--cap-drop", "ALL", "--die-with-parent", "--clearenv",
                "--proc", "/proc", "--dev", "/dev"]
        if "--disable-userns" in self.options:  # no nested user namespaces (bwrap >= 0.8)
            jail.append("--disable-userns")
        if "--size" in self.options:  # else /tmp is only bounded by the file size limit
            jail += ["--size", str(limits.tmp_mb << 20)]
        jail += ["--tmpfs", "/tmp"]
        for top in ("bin", "sbin", "lib", "lib32", "lib64"):  # /bin -> usr/bin on merged-/usr systems
            path = Path("/") / top
            if path.is_symlink():
                jail += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                jail += ["--ro-bind", str(path), str(path)]
        for path in self.read_only:
            jail += ["--ro-bind", path, path]
        for path in hidden_paths():
            jail += ["--tmpfs", path]
        if self.nnlib:
            jail += ["--ro-bind", self.nnlib, course_package()]
        jail += ["--bind", str(runtime), str(runtime), "--bind", str(workdir), str(workdir),
                 "--chdir", str(workdir)]
        for name, value in self.environment(runtime).items():
            jail += ["--setenv", name, value]
        return [*limited, *jail, "--", *kernel]


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
    """Where the grader's nnlib package is."""
    import nnlib

    return str(Path(next(iter(nnlib.__path__))).resolve())


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
