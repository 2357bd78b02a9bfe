"""Helpers of the remittance tests: parcels settled through the real gateway and the real ledger worker."""

from __future__ import annotations

from datetime import timedelta

from money import payouts
from tests.money.conftest import OFFICE, book, isfahan, scan

# A run as of a month ahead: every settled line's payout day (T+N working days, then the payout weekday) has come.
FAR = payouts.today() + timedelta(days=30)


async def collect(client, staff, doc: dict, amount: int | None = None) -> None:
    await scan(client, staff, doc["tracking_number"], "cod_collected", OFFICE,
               amount=doc["payment"]["goods_value"] if amount is None else amount, method="cash", postman="p-1")


async def collected(delivered, client, staff, n: int, owner=None) -> list[dict]:
    """``n`` COD parcels delivered and their cash collected."""
    docs = await delivered(n, owner=owner)
    for d in docs:
        await collect(client, staff, d)
    return docs


async def returned(client, staff, shop) -> dict:
    (doc,) = await book(client, shop, [isfahan(77)])
    origin = doc["route"][0]
    await scan(client, staff, doc["tracking_number"], "accepted", origin)
    await scan(client, staff, doc["tracking_number"], "returned_to_sender", origin)
    return doc


async def lines_of(pool, remittance_id: str) -> dict[str, dict]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM remittance_lines WHERE remittance_id = $1", remittance_id)
    return {r["tracking_number"]: dict(r) for r in rows}


async def count(pool, sql: str, *args) -> int:
    async with pool.acquire() as conn:
        return await conn.fetchval(sql, *args)
