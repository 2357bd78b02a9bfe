"""A remittance run in the middle of the load, as the operator makes it: so the money check meets every bucket
(remitted, due, held) while collections still flow and, in the fault run, after the ledger workers were killed.

The run is made as of 30 days ahead (every parcel delivered so far is past its payout day), its payout file is
made (the remittances it schedules are ``sent``), and the bank pays every other one (``paid``, one payout
posting each); the rest stay ``sent``. Shops without a verified account would be ``held``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import asyncpg

from kernel.errors import BaridError
from kernel.store.client import async_client
from money import payout_ops, payouts

AHEAD_DAYS = 30


async def _settle(dsn: str, redis_url: str) -> dict[str, Any]:
    redis = async_client(redis_url)
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        payees = payouts.store_payees(redis)
        done = await payouts.run(pool, payees, payouts.today() + timedelta(days=AHEAD_DAYS), made_by="loadtest")

        async def names(shop_ids: list[int]) -> dict[int, str]:
            return {sid: p.name for sid, p in (await payees(shop_ids)).items()}

        try:
            _body, sent = await payout_ops.payout_file(pool, done["run_id"], "csv", names, "loadtest")
        except BaridError:  # nothing scheduled (nothing settled yet): no file
            sent = {"remittances": 0}
        async with pool.acquire() as conn:
            ids = [r["id"] for r in await conn.fetch(
                "SELECT id FROM remittances WHERE run_id = $1 AND status = 'sent' ORDER BY id", done["run_id"])]
        for i, rid in enumerate(ids[::2]):
            await payout_ops.mark_paid(pool, rid, f"LT-{done['run_id']}-{i}", "loadtest")
        return {"run_id": done["run_id"], "remittances": done["remittances"], "lines": done["lines"],
                "total": done["total"], "sent": sent["remittances"], "paid": len(ids[::2])}
    finally:
        await pool.close()
        await redis.aclose()


def settle(dsn: str, redis_url: str) -> dict[str, Any]:
    return asyncio.run(_settle(dsn, redis_url))
