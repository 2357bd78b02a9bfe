"""The whole system on this machine for a load test: store, PostgreSQL, N gateway workers, D webhook dispatchers,
L ledger workers.

The runner owns the embedded store and the embedded PostgreSQL itself (so the fault scenarios can kill and
restart them under a running system); one supervisor subprocess (``gateway.supervisor.Supervisor``) runs the gateway workers, the
dispatchers and the ledger workers and restarts any that die. Every child writes ``<run>/pids/<role>.<pid>`` so
the runner can find one to kill, and measure their memory.

    python -m loadtests.system REDIS_URL PORT WORKERS DISPATCHERS PID_DIR [LEDGERS DSN CLAIM_IDLE_MS]
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from kernel.settings import MoneySettings
from kernel.store.client import EmbeddedStore
from money.pg import EmbeddedPostgres

from .wrk import free_port, wait_port

ROOT = Path(__file__).resolve().parent.parent


def _mark(pid_dir: str, role: str) -> None:
    Path(pid_dir, f"{role}.{os.getpid()}").touch()


def gateway_worker(redis_url: str, port: int, pid_dir: str) -> None:
    """One gateway process with the tracking routes (added here while ``create_app`` does not add them)."""
    import uvloop
    from aiohttp import web

    from gateway.web_app import create_app
    from kernel.settings import Config
    from tracking import web as tracking_web

    _mark(pid_dir, "gateway")
    uvloop.install()
    app = create_app(Config.from_env(port=port), redis_url)
    if tracking_web.TRACKING_CONFIG not in app:
        tracking_web.setup(app)
    web.run_app(app, host="127.0.0.1", port=port, reuse_port=True, access_log=None, print=None,
                shutdown_timeout=5)


def dispatcher(redis_url: str, pid_dir: str) -> None:
    from kernel.settings import TrackingConfig
    from tracking.dispatcher import serve

    _mark(pid_dir, "dispatcher")
    serve(redis_url, TrackingConfig.from_env())


def ledger_worker(redis_url: str, dsn: str, claim_idle_ms: int, pid_dir: str) -> None:
    """One ledger worker (money.worker), reclaiming a killed one's entries after ``claim_idle_ms``: the fault
    run kills them, and the production default would add half a minute to its drain."""
    import asyncpg
    import uvloop

    from kernel.store.client import async_client
    from money.worker import LedgerWorker

    _mark(pid_dir, "ledger")

    async def go() -> None:
        redis = async_client(redis_url)
        while True:  # PostgreSQL may be restarting (the fault run) when a worker comes up
            try:
                pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
                break
            except (OSError, asyncpg.PostgresError):
                await asyncio.sleep(0.5)
        await LedgerWorker(redis, pool, claim_idle_ms=claim_idle_ms).run()

    uvloop.run(go())


def system_env(redis_url: str) -> dict[str, str]:
    return {**os.environ, "REDIS_URL": redis_url, "BARID_ACCESS_LOG": "0", "BARID_LOG_LEVEL": "WARNING",
            "BARID_WEBHOOK_ALLOW_HOSTS": "127.0.0.1,localhost",
            # A killed dispatcher's leases come back after 15 s instead of 30 (still > the 10 s timeout).
            "BARID_WEBHOOK_CLAIM_IDLE_S": os.environ.get("BARID_WEBHOOK_CLAIM_IDLE_S", "15"),
            # Every simulated buyer comes from this one machine's address: its public tracking budget stands for
            # thousands of addresses.
            "BARID_TRACK_RATE_PER_S": os.environ.get("BARID_TRACK_RATE_PER_S", "1000000"),
            "BARID_TRACK_BURST": os.environ.get("BARID_TRACK_BURST", "1000000"),
            "PYTHONPATH": str(ROOT)}


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.Error:
            pass
    return round(total / 2**20, 1)


class System:
    """Store, PostgreSQL (with ledger workers) and the supervised workers under ``run_dir``; ``start()`` /
    ``stop()``. ``database_url`` names an external PostgreSQL instead of the embedded one; no ledger workers,
    no PostgreSQL."""

    def __init__(self, run_dir: Path, workers: int, dispatchers: int, ledgers: int = 0,
                 database_url: str | None = None, claim_idle_ms: int = 10_000) -> None:
        self.run_dir = run_dir
        self.workers, self.dispatchers, self.ledgers = workers, dispatchers, ledgers
        self.claim_idle_ms = claim_idle_ms
        self.store = EmbeddedStore(run_dir / "store", appendfsync="always")
        self.pg = (EmbeddedPostgres(run_dir / "pg", MoneySettings.from_env().pg_user)
                   if ledgers and not database_url else None)
        self.dsn = database_url if ledgers else None
        self.pid_dir = run_dir / "pids"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.redis_url = ""
        self._sup: subprocess.Popen | None = None

    def start(self) -> None:
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self.redis_url = self.store.start()
        cmd = [sys.executable, "-m", "loadtests.system", self.redis_url, str(self.port), str(self.workers),
               str(self.dispatchers), str(self.pid_dir)]
        if self.ledgers:
            from money.worker import prepare

            if self.pg is not None:
                self.dsn = self.pg.start()
            # migrated, and the `ledger` group on every outbox before the first event
            asyncio.run(prepare(self.redis_url, self.dsn))
            cmd += [str(self.ledgers), self.dsn, str(self.claim_idle_ms)]
        log = open(self.run_dir / "system.log", "ab")
        self._sup = subprocess.Popen(cmd, env=system_env(self.redis_url), cwd=ROOT, stdout=log, stderr=log,
                                     start_new_session=True)
        wait_port(self.port)
        deadline = time.monotonic() + 30
        while (len(self.pids("gateway")) < self.workers or len(self.pids("dispatcher")) < self.dispatchers
               or len(self.pids("ledger")) < self.ledgers):
            if time.monotonic() > deadline:
                raise RuntimeError(f"system did not start; see {self.run_dir / 'system.log'}")
            time.sleep(0.1)
        time.sleep(0.5)  # every worker has bound the port

    def stop(self) -> None:
        if self._sup is not None and self._sup.poll() is None:
            os.killpg(self._sup.pid, signal.SIGTERM)
            try:
                self._sup.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self._sup.pid, signal.SIGKILL)
                self._sup.wait()
        self.store.stop()
        if self.pg is not None:
            self.pg.stop()

    def pids(self, role: str) -> list[int]:
        alive = []
        for f in self.pid_dir.glob(f"{role}.*"):
            pid = int(f.suffix[1:])
            if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
            else:
                f.unlink(missing_ok=True)
        return sorted(alive)

    def memory(self) -> dict[str, float]:
        """RSS in MiB: the gateway (supervisor and workers), the dispatchers, the store."""
        sup = [self._sup.pid] if self._sup else []
        return {"gateway_rss_mb": rss_mb(sup + self.pids("gateway")),
                "dispatchers_rss_mb": rss_mb(self.pids("dispatcher")),
                "store_rss_mb": rss_mb([self.store.pid] if self.store.pid else []),
                **({"ledgers_rss_mb": rss_mb(self.pids("ledger"))} if self.ledgers else {})}

    # -- faults ------------------------------------------------------------------------------------------
    def kill(self, role: str) -> int | None:
        """kill -9 one child of the role (the supervisor starts a new one)."""
        pids = self.pids(role)
        if not pids:
            return None
        os.kill(pids[0], signal.SIGKILL)
        return pids[0]

    def kill_all(self, role: str) -> list[int]:
        """kill -9 every child of the role at once (the supervisor starts new ones)."""
        pids = self.pids(role)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return pids

    def restart_postgres(self) -> float:
        """kill -9 the postmaster and start it again through money.pg (WAL replay); seconds it was down."""
        assert self.pg is not None
        start = time.monotonic()
        pid = int((self.pg.pgdata / "postmaster.pid").read_text().splitlines()[0])
        self.pg.kill()
        while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            time.sleep(0.01)
        dsn = self.pg.start()  # the stale postmaster.pid is recognised; the same port when still free
        if dsn != self.dsn:
            raise RuntimeError(f"PostgreSQL came back on another address ({dsn}, was {self.dsn})")
        return time.monotonic() - start

    def restart_store(self) -> float:
        """kill -9 the store and start it again on the same files and socket; returns seconds it was down."""
        start = time.monotonic()
        pid = self.store.pid
        os.kill(pid, signal.SIGKILL)
        while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            time.sleep(0.01)
        self.store.stop()  # the process is gone: this only releases ownership and the state file
        url = self.store.start()
        assert url == self.redis_url, (url, self.redis_url)
        return time.monotonic() - start


def main(argv: list[str]) -> None:
    from gateway.supervisor import Role, Supervisor, configure_logging

    redis_url, port, workers, dispatchers, pid_dir = argv[:5]
    configure_logging()
    roles = [Role("gateway", gateway_worker, (redis_url, int(port), pid_dir), int(workers)),
             Role("dispatcher", dispatcher, (redis_url, pid_dir), int(dispatchers))]
    if len(argv) > 5:
        ledgers, dsn, claim_idle_ms = argv[5:8]
        roles.append(Role("ledger", ledger_worker, (redis_url, dsn, int(claim_idle_ms), pid_dir), int(ledgers)))
    Supervisor(roles).run()


if __name__ == "__main__":
    main(sys.argv[1:])
