"""The remittance commands of ``python -m gateway remittances`` (each prints JSON):

* ``run [--as-of DATE]``: the remittance run as if on that Tehran day (default: today);
* ``export --run ID --format pain001|csv --out FILE``: the run's payout file (its scheduled remittances -> sent);
* ``mark-paid --remittance ID --bank-ref REF``: sent -> paid, with the payout posting and the shop's event;
* ``mark-failed --remittance ID --reason TEXT``: sent -> failed (due again in the next run's file);
* ``list [--shop N] [--status S] [--run ID]``.

They reach the database and the store the running system uses (money/cli.py: ``DATABASE_URL`` or the embedded
server; ``REDIS_URL`` or the embedded store), since shops' accounts live in the store and the ledger in PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg

from kernel.settings import MoneySettings

from . import payout_ops, payouts
from .migrate import migrate
from .pg import open_database
from .remittance import STATUSES


def add_parsers(sub: argparse._SubParsersAction) -> None:
    rem = sub.add_parser("remittances", help="shops' COD remittances: the run, payout files, the bank's answer")
    rsub = rem.add_subparsers(dest="remittances_cmd", required=True)
    rsub.add_parser("run", help="make the remittances due on a day").add_argument(
        "--as-of", type=date.fromisoformat, help="YYYY-MM-DD, the Tehran day the run acts as (default: today)")
    exp = rsub.add_parser("export", help="a run's payout file; its scheduled remittances become sent")
    exp.add_argument("--run", type=int, required=True)
    exp.add_argument("--format", choices=payout_ops.FORMATS, required=True)
    exp.add_argument("--out", type=Path, required=True)
    paid = rsub.add_parser("mark-paid", help="record the bank's reference: sent -> paid, the payout posted")
    paid.add_argument("--remittance", required=True)
    paid.add_argument("--bank-ref", required=True)
    paid.add_argument("--by", default="operator", help="who records it")
    failed = rsub.add_parser("mark-failed", help="the bank refused the transfer: sent -> failed, due again")
    failed.add_argument("--remittance", required=True)
    failed.add_argument("--reason", required=True)
    failed.add_argument("--by", default="operator")
    lst = rsub.add_parser("list", help="remittances, newest payout day first")
    lst.add_argument("--shop", type=int)
    lst.add_argument("--status", choices=STATUSES)
    lst.add_argument("--run", type=int)
    lst.add_argument("--limit", type=int, default=1000)


async def _command(args: argparse.Namespace, dsn: str, url: str, cluster: bool) -> Any:
    from kernel.store.client import async_client

    redis = async_client(url, cluster=cluster)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        cmd = args.remittances_cmd
        if cmd == "run":
            return await payouts.run(pool, payouts.store_payees(redis), args.as_of, made_by="operator")
        if cmd == "export":
            body, summary = await payout_ops.payout_file(pool, args.run, args.format, payouts.store_names(redis), "operator")
            out: Path = args.out
            tmp = out.with_name(out.name + ".tmp")
            tmp.write_bytes(body)
            os.replace(tmp, out)
            return {**summary, "out": str(out), "bytes": len(body)}
        if cmd == "mark-paid":
            done = await payout_ops.mark_paid(pool, args.remittance, args.bank_ref, args.by)
            if done["paid_now"]:
                done["event_id"] = await payout_ops.announce(redis, done)
            return done
        if cmd == "mark-failed":
            return await payout_ops.mark_failed(pool, args.remittance, args.reason, args.by)
        return await payout_ops.list_remittances(pool, args.shop, args.status, args.run, args.limit)
    finally:
        await pool.close()
        await redis.aclose()


def run(args: argparse.Namespace, settings: MoneySettings, store, cluster: bool = False) -> Any:
    """The command's JSON-able result. ``store``: a context manager yielding the store URL."""
    with open_database(settings) as dsn, store() as url:
        return asyncio.run(_command(args, dsn, url, cluster))
