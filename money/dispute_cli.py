"""The dispute commands of ``python -m gateway`` (each prints JSON), for the post's finance operators:

* ``disputes list [--status open|resolved|rejected] [--shop N]``: newest first;
* ``disputes resolve --id N --outcome resolved|rejected --note TEXT --by WHO [--adjustment RIALS]``: close it,
  post the correction a resolved ``wrong_amount`` carries, release the remittance it held, and tell the shop
  (its feed and webhooks: ``dispute_resolved``).

They reach the database and the store the running system uses (DATABASE_URL / REDIS_URL, or the embedded servers
under BARID_DATA), as the other money commands do (money/cli.py).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import asyncpg

from kernel.errors import FieldError, validation_failed
from kernel.settings import MoneySettings

from . import disputes
from .migrate import migrate
from .pg import open_database

LIST_LIMIT = 200


def add_parsers(sub: argparse._SubParsersAction) -> None:
    dis = sub.add_parser("disputes", help="shops' disputes over their COD money")
    dsub = dis.add_subparsers(dest="disputes_cmd", required=True)
    ls = dsub.add_parser("list", help=f"disputes, newest first (at most {LIST_LIMIT})")
    ls.add_argument("--status", choices=tuple(disputes.STATUSES))
    ls.add_argument("--shop", type=int)
    res = dsub.add_parser("resolve", help="close a dispute: resolved (with an optional correction) or rejected")
    res.add_argument("--id", type=int, required=True)
    res.add_argument("--outcome", choices=disputes.OUTCOMES, required=True)
    res.add_argument("--note", required=True, help="why: the shop reads it")
    res.add_argument("--by", required=True, help="who decides")
    res.add_argument("--adjustment", type=int, help="rials the post owes the shop more (negative: less)")


def run(args: argparse.Namespace, settings: MoneySettings, store) -> Any:
    """The command's result. ``store``: a context manager yielding the store URL (for the shop's event)."""
    with open_database(settings) as dsn:
        if args.disputes_cmd == "list":
            return asyncio.run(_list(dsn, args.status, args.shop))
        if not args.note.strip() or not args.by.strip():
            raise validation_failed([FieldError("note", "note_invalid", "a reason and who decides",
                                                "علت تصمیم و نام تصمیم‌گیرنده را بنویسید")])
        with store() as url:
            return asyncio.run(_resolve(dsn, url, args))


async def _list(dsn: str, status: str | None, shop: int | None) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
        rows = await conn.fetch(f"SELECT {disputes.COLUMNS} FROM disputes WHERE ($1::text IS NULL OR status = $1) "
                                "AND ($2::bigint IS NULL OR shop_id = $2) ORDER BY id DESC LIMIT $3",
                                status, shop, LIST_LIMIT)
        return {"items": [{**disputes.view(r), "shop_id": r["shop_id"]} for r in rows]}
    finally:
        await conn.close()


async def _resolve(dsn: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    from kernel.store.client import async_client

    conn = await asyncpg.connect(dsn)
    redis = async_client(url)
    try:
        await migrate(conn)
        done = await disputes.resolve(conn, args.id, args.outcome, args.note.strip(), f"operator:{args.by.strip()}",
                                      args.adjustment)
        shop_id = await conn.fetchval("SELECT shop_id FROM disputes WHERE id = $1", args.id)
        await disputes.announce(redis, shop_id, "dispute_resolved", done)
        return done
    finally:
        await conn.close()
        await redis.aclose()
