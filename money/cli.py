"""The money commands of ``python -m gateway`` (each prints JSON):

* ``db migrate [--to N]``: apply the migrations (the system also does at start);
* ``db status``: the schema version and the DSN's server;
* ``ledger adjust --debit ACCOUNT --credit ACCOUNT --amount RIALS --reason TEXT --by WHO``: a correction posting;
* ``ledger balance --account ACCOUNT``;
* ``ledger drain``: post everything the outboxes hold now (a worker that stops when nothing is left).

They reach the database the running system uses: ``DATABASE_URL``, or the embedded server under ``BARID_DATA``
(used as it runs, or started for the command when nothing runs).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import asyncpg

from kernel.settings import MoneySettings

from . import ledger
from .migrate import available, current_version, migrate
from .pg import open_database


def add_parsers(sub: argparse._SubParsersAction) -> None:
    db = sub.add_parser("db", help="the ledger's PostgreSQL database")
    dsub = db.add_subparsers(dest="db_cmd", required=True)
    mig = dsub.add_parser("migrate", help="apply the schema migrations not applied yet")
    mig.add_argument("--to", type=int, help="stop at this version (default: the newest)")
    dsub.add_parser("status", help="the schema version applied and the newest available")

    led = sub.add_parser("ledger", help="the double-entry ledger of COD money and fees")
    lsub = led.add_subparsers(dest="ledger_cmd", required=True)
    adj = lsub.add_parser("adjust", help="post a manual correction (never an edit: a new posting)")
    adj.add_argument("--debit", required=True, help="account debited, e.g. shop:12:payable")
    adj.add_argument("--credit", required=True, help="account credited, e.g. post:clearing")
    adj.add_argument("--amount", type=int, required=True, help="rials (a positive whole number)")
    adj.add_argument("--reason", required=True)
    adj.add_argument("--by", required=True, help="who makes the correction")
    adj.add_argument("--shop", type=int)
    adj.add_argument("--tracking-number")
    adj.add_argument("--reverses", type=int, help="the posting id this corrects")
    lsub.add_parser("balance", help="an account's balance (debits positive)").add_argument("--account", required=True)
    lsub.add_parser("drain", help="post every outbox event not posted yet, then stop")


async def _on(dsn: str, fn) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await fn(conn)
    finally:
        await conn.close()


def run(args: argparse.Namespace, settings: MoneySettings, store=None) -> Any:
    """The command's result (a JSON-able value). ``store``: a context manager yielding the store URL (drain)."""
    with open_database(settings) as dsn:
        if args.cmd == "db":
            if args.db_cmd == "migrate":
                return asyncio.run(_on(dsn, lambda c: migrate(c, args.to)))

            async def status(conn: asyncpg.Connection) -> dict:
                return {"version": await current_version(conn), "newest": len(available()),
                        "server": await conn.fetchval("SHOW server_version")}

            return asyncio.run(_on(dsn, status))
        if args.ledger_cmd == "adjust":
            try:
                return asyncio.run(_on(dsn, lambda c: ledger.adjust(
                    c, debit=args.debit, credit=args.credit, amount=args.amount, reason=args.reason, made_by=args.by,
                    shop_id=args.shop, tracking_number=args.tracking_number, reverses=args.reverses)))
            except (ledger.LedgerRefused, asyncpg.CheckViolationError) as exc:
                raise ledger.AdjustmentRefused(str(exc).splitlines()[0]) from None
        if args.ledger_cmd == "balance":
            return {"account": args.account, "balance": asyncio.run(_on(dsn, lambda c: ledger.balance(c, args.account)))}
        with store() as url:
            return {"entries": asyncio.run(_drain(url, dsn))}


async def _drain(url: str, dsn: str) -> int:
    from kernel.store.client import async_client

    from .worker import LedgerWorker

    redis = async_client(url)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        return await LedgerWorker(redis, pool).drain()
    finally:
        await pool.close()
        await redis.aclose()
