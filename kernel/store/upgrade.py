"""Bringing a store written by an earlier Barid to the current data layout, once, before anything serves.

``python -m gateway serve`` and ``up`` run ``upgrade`` after opening the store and before starting workers, so
an upgraded gateway finds every acknowledged record where it now looks for it. The layout version lives in the
store (``keys.LAYOUT``); a store already at ``LAYOUT`` costs one GET. Moving is idempotent per parcel (the
fields it writes are the ones a scan would), so an upgrade cut short by a crash simply runs again.

This is operator start-up work, not a request path: it is the one place that walks the keyspace (SCAN, per
node on a cluster).
"""

from __future__ import annotations

import logging
import re

import redis.asyncio as aioredis

from kernel.store import keys

# 2: a parcel's history is fields of its parcel hash (keys.PARCEL_HISTORY_FIELD)
# 3: no all-parcels zset per shop; unfiltered listing reads the status indexes (keys.STATUSES)
# 4: each shop counts its orders' live parcels (keys.shop_live_orders), so an order booked before is protected
LAYOUT = 4

log = logging.getLogger("barid.upgrade")
_SEQ = re.compile(rb'"id":"evt_[A-Z0-9]+_([0-9]+)"')


async def upgrade(redis: aioredis.Redis) -> int:
    """Bring the store to LAYOUT; returns how many parcels' histories were moved."""
    layout = int(await redis.get(keys.LAYOUT) or 0)
    if layout >= LAYOUT:
        return 0
    moved = 0
    if layout < 2:
        async for key in redis.scan_iter(match=keys.LEGACY_HISTORY_MATCH, count=1000, _type="zset"):
            await _move_history(redis, key)
            moved += 1
    dropped = 0
    async for key in redis.scan_iter(match=keys.LEGACY_SHIPMENTS_MATCH, count=1000, _type="zset"):
        dropped += await redis.unlink(key)  # its members are all in the status indexes too
    counted = 0
    if layout < 4:
        async for key in redis.scan_iter(match=keys.ORDER_INDEX_MATCH, count=1000, _type="zset"):
            counted += await _count_live_parcels(redis, key)
    await redis.set(keys.LAYOUT, LAYOUT)
    if counted:
        log.info("store layout %d: counted the live parcels of %d orders", LAYOUT, counted)
    if moved:
        log.info("store layout %d: moved the history of %d parcels into their parcel hashes", LAYOUT, moved)
    if dropped:
        log.info("store layout %d: dropped %d shops' all-parcels indexes (the status indexes serve)", LAYOUT, dropped)
    return moved


async def _move_history(redis: aioredis.Redis, key: bytes) -> None:
    tag, _, tracking_number = key.partition(keys.LEGACY_HISTORY_INFIX.encode())
    parcel = keys.parcel(int(tag[2:-1]), tracking_number.decode())  # "{pN}": partition N is a shop id of it
    fields = {}
    for event, occurred_ms in await redis.zrange(key, 0, -1, withscores=True):
        seq = _SEQ.search(event)
        if seq is None:
            raise RuntimeError(f"history entry without an event id in {key!r}: {event[:80]!r}")
        fields[b"%s%d:%s" % (keys.PARCEL_HISTORY_FIELD.encode(), int(occurred_ms), seq.group(1))] = event
    async with redis.pipeline(transaction=True) as pipe:  # one partition: both keys share the tag
        if fields:
            pipe.hset(parcel, mapping=fields)
        pipe.delete(key)
        await pipe.execute()


_ORDER_INDEX = re.compile(rb"^\{p[0-9]+\}:shop:([0-9]+):order:(.*)$", re.DOTALL)


async def _count_live_parcels(redis: aioredis.Redis, key: bytes) -> int:
    """Set the order's count of parcels not cancelled from its parcels themselves (so running twice is
    harmless); 1 when the order has any."""
    match = _ORDER_INDEX.match(key)
    if match is None:
        return 0
    shop_id, order_id = int(match.group(1)), match.group(2).decode()
    tns = [m.decode().split(":", 1)[1] for m in await redis.zrange(key, 0, -1)]
    async with redis.pipeline(transaction=False) as pipe:
        for tn in tns:
            pipe.hget(keys.parcel(shop_id, tn), "status")
        statuses = await pipe.execute()
    live = sum(status is not None and status != b"cancelled" for status in statuses)
    if not live:
        return 0
    await redis.hset(keys.shop_live_orders(shop_id), order_id, live)
    return 1
