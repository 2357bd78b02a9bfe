"""The process supervisor (was ``web_runner``): runs the gateway as one process, or N worker processes sharing
the port (SO_REUSEPORT), beside the dispatcher and planner roles; it owns the store, restarts a process that
dies, and stops everything cleanly on SIGINT/SIGTERM. (aiohttp's own ``web_runner`` is a different thing.)"""

from __future__ import annotations

import gc
import logging
import multiprocessing as mp
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from kernel.settings import Config

log = logging.getLogger("barid.supervisor")


def configure_logging(level: str | None = None) -> None:
    """Log lines to stderr at ``level`` (None: the settings' BARID_LOG_LEVEL)."""
    logging.basicConfig(level=level or Config.from_env().log_level, stream=sys.stderr,
                        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")


def tune_gc() -> None:
    """Requests allocate many short-lived dicts; with the default thresholds the cycle collector ran every few
    requests (6 % of a booking worker's CPU in profiles). Freeze what start-up built and collect less often:
    almost nothing a request allocates is part of a cycle, so memory stays flat."""
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def run_worker(config: Config, redis_url: str) -> None:
    """One gateway process: uvloop, the app, the shared port."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency; the stdlib loop still works
        pass
    from gateway.web_app import create_app

    app = create_app(config, redis_url)
    tune_gc()
    web.run_app(app, host=config.host, port=config.port, reuse_port=True,
                access_log=None, print=None, handle_signals=True, shutdown_timeout=10)


@dataclass
class Role:
    """A kind of child process the supervisor keeps running (gateway workers, dispatchers...)."""

    name: str
    target: Callable[..., None]
    args: tuple
    count: int
    procs: list = field(default_factory=list)


class Supervisor:
    def __init__(self, roles: list[Role]) -> None:
        self.roles = roles
        self._stopping = False
        self._ctx = mp.get_context("fork")

    def _start(self, role: Role) -> mp.Process:
        proc = self._ctx.Process(target=_child, args=(role.target, role.args), name=role.name, daemon=False)
        proc.start()
        log.info("started %s pid=%s", role.name, proc.pid)
        return proc

    def run(self) -> None:
        def stop(signum, _frame):
            self._stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        for role in self.roles:
            role.procs = [self._start(role) for _ in range(role.count)]
        while not self._stopping:
            time.sleep(0.2)
            for role in self.roles:
                for i, proc in enumerate(role.procs):
                    if not proc.is_alive() and not self._stopping:
                        log.warning("%s pid=%s exited with %s; restarting", role.name, proc.pid, proc.exitcode)
                        role.procs[i] = self._start(role)
        for role in self.roles:
            for proc in role.procs:
                if proc.is_alive():
                    os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for role in self.roles:
            for proc in role.procs:
                proc.join(max(0.1, deadline - time.monotonic()))
                if proc.is_alive():
                    proc.kill()
                    proc.join()


def _child(target: Callable[..., None], args: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides when children stop (SIGTERM)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    target(*args)
