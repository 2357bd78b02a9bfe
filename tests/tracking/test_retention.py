"""Outbox retention: trim only what every consumer group acknowledged and what is older than the window."""

from __future__ import annotations

import asyncio
import dataclasses

from kernel.store import keys
from tracking.dispatcher import Dispatcher


async def caught_up(redis, stream: str, group: str) -> None:
    """Wait until ``group`` has read and acknowledged everything in ``stream`` (its worker polls)."""
    for _ in range(200):
        groups = {g["name"].decode() if isinstance(g["name"], bytes) else g["name"]: g
                  for g in await redis.xinfo_groups(stream)}
        if group not in groups or (groups[group]["lag"] == 0 and groups[group]["pending"] == 0):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{group} did not catch up on {stream}")


async def test_trim_keeps_unacknowledged_and_recent_entries(shop, book, redis, store_url, tcfg, dispatch):
    stream = keys.partition_events(keys.partition_of(shop.id))
    await dispatch()  # the webhooks group exists and has read everything so far
    await redis.xgroup_create(stream, "audit", id="$")
    try:
        tns = [await book(shop) for _ in range(3)]
        got = await redis.xreadgroup("audit", "a1", {stream: ">"})
        ids = [i for i, f in got[0][1] if f[b"t"].decode() in tns]
        await redis.xack(stream, "audit", ids[0])
        await dispatch()
        await caught_up(redis, stream, "ndr")  # the gateway's failed-delivery worker reads the outbox too
        await caught_up(redis, stream, "sms")  # and its buyer-SMS worker
        # A week-long window: nothing is old enough.
        before = await redis.xlen(stream)
        await Dispatcher(store_url, tcfg).trim()
        assert await redis.xlen(stream) == before
        # No window: everything acknowledged by both groups goes; audit's pending entries stay.
        await Dispatcher(store_url, dataclasses.replace(tcfg, outbox_retention_s=0)).trim()
        first = (await redis.xrange(stream, count=1))[0][0]
        assert first == ids[1]
        # Once audit acknowledges the rest, it goes too (the webhooks group has acked everything).
        await redis.xack(stream, "audit", *ids[1:])
        await Dispatcher(store_url, dataclasses.replace(tcfg, outbox_retention_s=0)).trim()
        assert await redis.xlen(stream) == 0
    finally:
        await redis.xgroup_destroy(stream, "audit")
