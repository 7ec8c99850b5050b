"""A throwaway PostgreSQL server for tests: Debian's `postgresql` binaries (installed by
`course.py test` as root), a data directory in a temporary folder, a free port on 127.0.0.1 and a
Unix socket in that folder; run as an unprivileged user (PostgreSQL refuses root), stopped by
`stop` (tests call it in a `finally`)."""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER, PASSWORD, DATABASE = "grader", "s3cret-Pw_71", "nnfs"
UNPRIVILEGED = "nobody"


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl, or None if PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One server: `start`, `restart`, `stop`; its URLs over TCP and over the Unix socket. Its
    folder is a new one in the system's temporary folder (the unprivileged user it runs as
    cannot enter pytest's), removed by `stop`."""

    def __init__(self):
        self.bin = binaries()
        if self.bin is None:
            raise FileNotFoundError("PostgreSQL's initdb is not installed (Debian: apt install postgresql)")
        self.root, self.port = Path(tempfile.mkdtemp(prefix="nnfs-postgres-")), free_port()
        self.data, self.sockets, self.logfile = self.root / "data", self.root / "sockets", self.root / "server.log"
        self.as_user = os.geteuid() == 0  # run as UNPRIVILEGED, not root

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [*(["runuser", "-u", UNPRIVILEGED, "--"] if self.as_user else []), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.root)
        if check and result.returncode:
            log = self.logfile.read_text()[-2000:] if self.logfile.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed: {result.stderr.strip()[-1000:]}\n{log}")
        return result

    def start(self) -> PostgresServer:
        """initdb (password authentication, user USER), then start on self.port and self.sockets."""
        self.sockets.mkdir(exist_ok=True)
        pwfile = self.root / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        if self.as_user:
            owner = pwd.getpwnam(UNPRIVILEGED)
            for path in (self.root, self.sockets, pwfile):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            os.chmod(self.root, 0o755)
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}",
                  "--auth=scram-sha-256", "-E", "UTF8", "--no-sync", "--locale=C")
        pwfile.unlink()
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.sockets}'\nfsync = off\n"
                       "synchronous_commit = off\nfull_page_writes = off\nmax_connections = 60\n")
        self._pg_ctl("start")
        self.psql(f"CREATE DATABASE {DATABASE}", database="postgres")
        return self

    def _pg_ctl(self, action: str) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile), "-w",
                  "-t", "60", "-m", "fast", action)

    def restart(self) -> None:
        self._pg_ctl("restart")

    def stop_for(self, seconds: float) -> None:
        """Stop the server (its connections dropped), and start it again `seconds` later."""
        self._pg_ctl("stop")
        time.sleep(seconds)
        self._pg_ctl("start")

    def stop(self) -> None:
        """Stop the server (if it runs) and remove its folder."""
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-m", "immediate", "stop",
                      check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def psql(self, sql: str, database: str = DATABASE) -> str:
        """Run `sql` (over the socket) and return psql's unaligned output."""
        result = subprocess.run(["psql", "-h", str(self.sockets), "-p", str(self.port), "-U", USER,
                                 "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
                                capture_output=True, text=True, timeout=60,
                                env={**os.environ, "PGPASSWORD": PASSWORD})
        if result.returncode:
            raise RuntimeError(f"psql: {result.stderr.strip()}")
        return result.stdout.strip()

    def tcp_url(self, password: str | None = PASSWORD) -> str:
        secret = f":{password}" if password is not None else ""
        return f"postgresql://{USER}{secret}@127.0.0.1:{self.port}/{DATABASE}"

    def socket_url(self, password: str | None = PASSWORD) -> str:
        secret = f":{password}" if password is not None else ""
        return f"postgresql://{USER}{secret}@/{DATABASE}?host={self.sockets}&port={self.port}"

    def socket_path(self) -> Path:
        return self.sockets / f".s.PGSQL.{self.port}"
