"""The money commands of ``python -m gateway``, as an operator runs them (JSON out), on the real PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg

from money.migrate import available

ROOT = Path(__file__).resolve().parents[2]


def run(dsn: str, *args: str) -> tuple[int, dict]:
    env = {**os.environ, "DATABASE_URL": dsn}
    out = subprocess.run([sys.executable, "-m", "gateway", *args], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    return out.returncode, json.loads(out.stdout)


async def test_db_migrate_then_adjust_and_balance(pg_dsn: str) -> None:
    code, done = run(pg_dsn, "db", "migrate", "--to", "1")
    assert code == 0 and done == {"applied": [1], "version": 1}
    code, done = run(pg_dsn, "db", "migrate")
    newest = len(available())
    assert code == 0 and done["applied"] == list(range(2, newest + 1))
    code, status = run(pg_dsn, "db", "status")
    assert status["version"] == status["newest"] == newest and int(status["server"].split(".")[0]) >= 16
    code, fix = run(pg_dsn, "ledger", "adjust", "--debit", "shop:3:payable", "--credit", "post:clearing",
                    "--amount", "25000", "--reason", "counter refund", "--by", "finance:ali")
    assert code == 0 and fix["posting_id"] and fix["made_by"] == "finance:ali"
    code, bal = run(pg_dsn, "ledger", "balance", "--account", "shop:3:payable")
    assert bal == {"account": "shop:3:payable", "balance": 25000}
    code, refused = run(pg_dsn, "ledger", "adjust", "--debit", "shop:3:payable", "--credit", "nowhere",
                        "--amount", "5", "--reason", "x", "--by", "y")
    assert code == 1 and refused["code"] == "ledger_adjustment_refused" and refused["detail_fa"]
    conn = await asyncpg.connect(pg_dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM postings") == 1
    finally:
        await conn.close()
