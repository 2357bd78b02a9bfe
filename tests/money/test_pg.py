"""The embedded PostgreSQL's life cycle: adopted when running, a stale postmaster.pid recognised."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg

from money.pg import EmbeddedPostgres


async def test_a_running_server_is_adopted_not_started_again(pg_server) -> None:
    if pg_server is None:
        return  # DATABASE_URL: not ours
    pid = (pg_server.pgdata / "postmaster.pid").read_text().split()[0]
    again = EmbeddedPostgres(pg_server.dir, pg_server.run_as or "nobody")
    dsn = again.start()  # what a supervisor restarted after a kill -9 does
    assert again.port == pg_server.port
    assert (pg_server.pgdata / "postmaster.pid").read_text().split()[0] == pid
    conn = await asyncpg.connect(dsn)
    try:
        assert int((await conn.fetchval("SHOW server_version")).split(".")[0]) >= 16
    finally:
        await conn.close()


def test_a_postmaster_pid_of_another_program_is_stale(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pg")
    server.pgdata.mkdir(parents=True)
    pidfile = server.pgdata / "postmaster.pid"
    # the pid of a live process that is no postgres (this test's own): a pid reused after a crash
    pidfile.write_text(f"{os.getpid()}\n{server.pgdata}\n1\n54321\n\n127.0.0.1\n  1  2\nready\n")
    assert server.running_port() is None
    assert not pidfile.exists()
    pidfile.write_text("999999999\nx\n1\n54321\n")  # no such process
    assert server.running_port() is None and not pidfile.exists()
