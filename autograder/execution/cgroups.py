"""Per-submission limits through cgroups: a kernel and every process it starts share one memory
limit (their tmpfs and shared memory included: tmpfs pages are charged to the group that writes
them), one limit on the number of processes (threads included) and one CPU quota.

Each kernel gets a fresh group (`Cgroups.create`) under the grader's own cgroup. The kernel's
launcher (sandbox.LIMITS) joins it before it execs the jail, so that everything the submission
starts is inside; `Group.remove` kills what is left and removes the group when the kernel is gone.

cgroups v2 are used where the unified hierarchy offers the memory, pids and cpu controllers to
the grader's cgroup (or to its parent's children); else v1, one hierarchy per controller, as on
this course's machines (no systemd: the groups are made with mkdir). Without either,
`Cgroups.detect` says why and the grader falls back on per-process rlimits, loudly
(sandbox.NO_CGROUPS_WARNING).

A submission that goes over its memory is killed as a whole, not one process of it: v2 does it
itself (memory.oom.group); under v1 the grader watches the group's out-of-memory events
(`Group.oom_events`, an eventfd) and kills the group (`Group.kill`).
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

CONTROLLERS = ("memory", "pids", "cpu")
PREFIX = "nnfs-"  # groups are named nnfs-<pid of the grader's process>-<random>
CPU_PERIOD_US = 100_000
JOIN = "import os, sys\nfor procs in sys.argv[1:]:\n    open(procs, 'w').write(str(os.getpid()))\n"


class CgroupError(Exception):
    """A group cannot be made, joined or removed."""


@dataclass(frozen=True)
class Cgroups:
    """Where each kernel's group is made: v1, one directory per controller (in CONTROLLERS'
    order); v2, one directory."""
    version: int
    parents: tuple[str, ...]

    @classmethod
    def detect(cls) -> tuple["Cgroups | None", str]:
        """(the cgroups to use, "") or (None, why there are none). A trial group is made, given
        limits, joined by a short-lived process and removed, so a `Cgroups` returned works."""
        mounts, own = _mounts(), _own_cgroups()
        reasons = []
        for find in (_find_v2, _find_v1):
            try:
                cgroups = find(mounts, own)
                cgroups._sweep()
                trial = cgroups.create(memory=256 << 20, processes=16, cpus=1.0)
                try:
                    subprocess.run([sys.executable, "-I", "-S", "-c", JOIN, *trial.procs],
                                   check=True, capture_output=True, timeout=30)
                finally:
                    trial.remove()
                return cgroups, ""
            except (CgroupError, OSError, subprocess.SubprocessError) as error:
                reasons.append(str(error) or type(error).__name__)
        return None, "; ".join(reasons)

    def describe(self) -> str:
        return f"cgroups v{self.version} ({', '.join(CONTROLLERS)})"

    def create(self, memory: int, processes: int, cpus: float) -> "Group":
        """A fresh group for one kernel: `memory` bytes (no swap), `processes` tasks, `cpus`
        CPUs' worth of time."""
        name = f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        group = Group(self.version, tuple(str(Path(parent) / name) for parent in self.parents))
        try:
            for path in group.paths:
                os.mkdir(path, 0o700)
            quota = max(1000, round(cpus * CPU_PERIOD_US))
            if self.version == 2:
                _write(group.paths[0], "memory.max", memory)
                _write(group.paths[0], "memory.swap.max", 0, optional=True)
                _write(group.paths[0], "memory.oom.group", 1)
                _write(group.paths[0], "pids.max", processes)
                _write(group.paths[0], "cpu.max", f"{quota} {CPU_PERIOD_US}")
            else:
                memory_dir, pids_dir, cpu_dir = group.paths
                _write(memory_dir, "memory.limit_in_bytes", memory)
                _write(memory_dir, "memory.memsw.limit_in_bytes", memory, optional=True)
                _write(pids_dir, "pids.max", processes)
                _write(cpu_dir, "cpu.cfs_period_us", CPU_PERIOD_US)
                _write(cpu_dir, "cpu.cfs_quota_us", quota)
        except OSError as error:
            group.remove()
            raise CgroupError(f"cannot make a cgroup under {self.parents[0]}: {error}") from None
        return group

    def _sweep(self) -> None:
        """Remove the groups left by graders that are gone (a worker killed with its kernel)."""
        for parent in self.parents:
            for entry in os.scandir(parent):
                owner = entry.name[len(PREFIX):].split("-")[0]
                if entry.name.startswith(PREFIX) and owner.isdigit() and not _alive(int(owner)):
                    Group(self.version, (entry.path,)).remove()

    def remove_groups_of(self, pid: int) -> None:
        """Remove the groups a grading process made, once it has ended (the pool calls this for
        each worker it discards: a worker killed mid-submission leaves its kernel's group)."""
        for parent in self.parents:
            for entry in os.scandir(parent):
                if entry.name.startswith(f"{PREFIX}{pid}-"):
                    Group(self.version, (entry.path,)).remove()


@dataclass
class Group:
    """One kernel's cgroup (v1: one directory per controller)."""
    version: int
    paths: tuple[str, ...]
    _oom_fds: tuple[int, ...] = ()

    @property
    def procs(self) -> list[str]:
        """The files a process writes its pid to, to join the group."""
        return [str(Path(path) / "cgroup.procs") for path in self.paths]

    def oom_events(self) -> int | None:
        """v1: an eventfd that becomes readable when the group runs out of memory (the caller
        then kills the group); v2: None (memory.oom.group kills it)."""
        if self.version == 2:
            return None
        if not self._oom_fds:
            events = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
            control = os.open(Path(self.paths[0]) / "memory.oom_control", os.O_RDONLY | os.O_CLOEXEC)
            self._oom_fds = (events, control)
            _write(self.paths[0], "cgroup.event_control", f"{events} {control}")
        return self._oom_fds[0]

    def out_of_memory(self) -> bool:
        """Whether the kernel killed a process of the group for going over its memory."""
        name, key = ("memory.events", "oom_kill") if self.version == 2 else ("memory.oom_control",
                                                                            "oom_kill")
        try:
            lines = (Path(self.paths[0]) / name).read_text().splitlines()
        except OSError:
            return False
        return any(line.split()[:1] == [key] and int(line.split()[1]) > 0 for line in lines)

    def pids(self) -> list[int]:
        pids: set[int] = set()
        for procs in self.procs:
            try:
                pids.update(int(pid) for pid in Path(procs).read_text().split())
            except OSError:
                pass
        return sorted(pids)

    def kill(self) -> None:
        """SIGKILL every process in the group (v2: cgroup.kill where the kernel has it; else
        each pid through a pidfd, checked to be in the group still, so no recycled pid is hit)."""
        if self.version == 2 and (Path(self.paths[0]) / "cgroup.kill").exists():
            _write(self.paths[0], "cgroup.kill", 1)
            return
        for pid in self.pids():
            try:
                pidfd = os.pidfd_open(pid)
            except OSError:
                continue  # gone already
            try:
                if pid in self.pids():
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            except OSError:
                pass
            finally:
                os.close(pidfd)

    def remove(self, timeout: float = 10.0) -> None:
        """Kill what is left in the group and remove it. Raises CgroupError if processes
        outlive `timeout` seconds of SIGKILL (stuck in the kernel)."""
        for fd in self._oom_fds:
            os.close(fd)
        self._oom_fds = ()
        deadline = time.monotonic() + timeout
        for path in self.paths:
            while True:
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError as error:  # EBUSY: processes are left
                    if time.monotonic() > deadline:
                        raise CgroupError(f"cannot remove {path}: {error}") from None
                    self.kill()
                    time.sleep(0.01)


def _write(directory: str, name: str, value, optional: bool = False) -> None:
    path = Path(directory) / name
    if optional and not path.exists():
        return
    with open(path, "w") as file:
        file.write(str(value))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _unescape(field: str) -> str:
    """A path of /proc/self/mountinfo (spaces and such are octal escapes)."""
    return field.encode().decode("unicode_escape").encode("latin-1").decode(errors="replace")


def _mounts() -> list[tuple[str, str, str, set[str]]]:
    """(file system type, root, mount point, super options) of every cgroup mount."""
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        tail = fields[fields.index("-") + 1:]
        if tail[0] in ("cgroup", "cgroup2"):
            mounts.append((tail[0], _unescape(fields[3]), _unescape(fields[4]), set(tail[2].split(","))))
    return mounts


def _own_cgroups() -> dict[str, str]:
    """{controller (or "" for v2): the grader's cgroup path} from /proc/self/cgroup."""
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            own[controller] = path
    return own


def _inside(mount_root: str, mount_point: str, path: str) -> Path:
    """Where cgroup `path` is in the file system, given the mount's root and mount point."""
    root = mount_root.rstrip("/")
    if path != root and not path.startswith(root + "/"):
        raise CgroupError(f"the grader's cgroup {path} is not under the mount of {mount_point}")
    return Path(mount_point) / path[len(root):].lstrip("/")


def _find_v1(mounts, own) -> Cgroups:
    parents = []
    for controller in CONTROLLERS:
        found = [(root, point) for kind, root, point, options in mounts
                 if kind == "cgroup" and controller in options]
        if not found or controller not in own:
            raise CgroupError(f"cgroups v1: no {controller} hierarchy")
        parents.append(str(_inside(*found[0], own[controller])))
    return Cgroups(1, tuple(parents))


def _find_v2(mounts, own) -> Cgroups:
    found = [(root, point) for kind, root, point, _ in mounts if kind == "cgroup2"]
    if not found or "" not in own:
        raise CgroupError("cgroups v2: not mounted")
    mine = _inside(*found[0], own[""])
    wanted = set(CONTROLLERS)
    offered = set((mine / "cgroup.controllers").read_text().split())
    if not wanted <= offered:
        raise CgroupError(f"cgroups v2: no {', '.join(sorted(wanted - offered))} controller for "
                          f"{mine}")
    # Children of the grader's own cgroup need the controllers in its subtree_control, which
    # v2 refuses while the grader's processes are in it; its parent's children (siblings of
    # the grader's cgroup) have them already, since the grader's cgroup does.
    try:
        enabled = set((mine / "cgroup.subtree_control").read_text().split())
        if not wanted <= enabled:
            _write(str(mine), "cgroup.subtree_control", " ".join(f"+{c}" for c in sorted(wanted)))
        return Cgroups(2, (str(mine),))
    except OSError:
        if mine == Path(found[0][1]):
            raise CgroupError(f"cgroups v2: cannot enable {', '.join(CONTROLLERS)} in {mine}") from None
        return Cgroups(2, (str(mine.parent),))
