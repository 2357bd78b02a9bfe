"""Parcels booked and never handed over expire: the system cancels them after ``not_handed_over_days`` (data,
``handover/data/pickups.toml``), with their ``cancelled`` event (``data.reason = "not_handed_over"``) on the shop's
feed and webhooks, as a shop's own cancel writes it.

No index of its own: a parcel not yet handed over is exactly a member of the shop's ``pre_transit`` status index
(only an ``accepted`` scan moves it out), whose members are ``<created ms>:<tracking number>`` in creation order,
so the expired ones are a ZRANGE BYLEX below a bound. The worker walks the shops of ``barid:shops`` (one set, no
KEYS/SCAN). Many workers may run: a lease lets one of them make each pass, and the cancel itself is one script that
re-checks the parcel, so a parcel is cancelled once and only if it is still waiting.

``GET /v1/shipments/expiring?within_days=2`` lists the shop's parcels that will expire within that many days, with
their expiry time. ``BARID_EXPIRY_INTERVAL_S`` (kernel.settings) sets how often the worker looks (default 60 s;
0: off in that process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import redis.asyncio as aioredis
from aiohttp import web

from booking.app_keys import BOOKING
from booking.auth import require_caller
from kernel.app_keys import REDIS
from kernel.errors import FieldError, validation_failed
from kernel.http import json_response
from kernel.postal.timeutil import iso_ms
from kernel.store import keys
from kernel.store.batcher import Batcher, Script
from kernel.store.keys import FEED_MAXLEN, PARCEL_HISTORY_FIELD
from kernel.tasks import stop_task

from .manifests import manifested_key
from .pickup_rules import Rules, load_rules

log = logging.getLogger("barid.handover.expiry")
DAY_MS = 86_400_000
LEASE = "barid:handover:expiry:lease"  # one key, alone in its commands
REASON = "not_handed_over"


# The shop's cancel (kernel/store/scripts) without the API key's guard, and only for a parcel still waiting and old
# enough; it also takes the parcel off an open manifest. KEYS 1 parcel, 2 pre_transit index, 3 cancelled index,
# 4 outbox, 5 feed, 6 live orders, 7 manifested hash. ARGV 1 tracking number, 2 shop id, 3 now ISO, 4 feed max,
# 5 event JSON with "__SEQ__", 6 now ms, 7 booked-before bound ms.
EXPIRE = r"""
local p = redis.call('HMGET', KEYS[1], 'status', 'seq', 'created_ms', 'accepted_ms')
if not p[1] then return 'GONE' end
if p[1] ~= 'pre_transit' or p[4] then return 'HANDED_OVER' end
if tonumber(p[3]) >= tonumber(ARGV[7]) then return 'YOUNG' end
local seq = tonumber(p[2]) + 1
local ev = string.gsub(ARGV[5], '__SEQ__', tostring(seq), 1)
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'status_at', ARGV[3], 'updated_at', ARGV[3], 'seq', seq,
           '""" + PARCEL_HISTORY_FIELD + r"""' .. ARGV[6] .. ':' .. seq, ev)
local member = string.format('%013d', tonumber(p[3])) .. ':' .. ARGV[1]
redis.call('ZREM', KEYS[2], member)
redis.call('ZADD', KEYS[3], 0, member)
redis.call('XADD', KEYS[4], '*', 's', ARGV[2], 't', ARGV[1], 'e', ev)
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[4], '*', 'e', ev)
local oid = cjson.decode(redis.call('HGET', KEYS[1], 'doc'))['client_order_id']
if redis.call('HINCRBY', KEYS[6], oid, -1) <= 0 then redis.call('HDEL', KEYS[6], oid) end
redis.call('HDEL', KEYS[7], ARGV[1])
return 'OK'
"""


class Expirer:
    def __init__(self, redis: aioredis.Redis, batcher: Batcher, rules: Rules) -> None:
        self.redis = redis
        self.batcher = batcher
        self.rules = rules
        self._expire = Script(EXPIRE)

    @property
    def ttl_ms(self) -> int:
        return self.rules.expiry_days * DAY_MS

    async def run_once(self, now: float | None = None, shops: list[int] | None = None) -> int:
        """Cancel every parcel of every shop (or of ``shops``) booked more than the expiry ago and still not handed
        over; returns how many this call cancelled."""
        now = time.time() if now is None else now
        bound = int(now * 1000) - self.ttl_ms
        if shops is None:
            shops = sorted(int(s) for s in await self.redis.smembers(keys.SHOPS_ALL))
        done = 0
        for i in range(0, len(shops), 200):
            chunk = shops[i:i + 200]
            pipe = self.redis.pipeline(transaction=False)
            for shop_id in chunk:
                pipe.zrange(keys.shop_status_index(shop_id, "pre_transit"), "-", "(%013d" % bound, bylex=True,
                            offset=0, num=self.rules.expiry_batch)
            calls = [self._cancel(shop_id, m.decode().split(":", 1)[1], bound, now)
                     for shop_id, found in zip(chunk, await pipe.execute()) for m in found]
            done += sum(r == b"OK" for r in await asyncio.gather(*calls))
        return done

    async def _cancel(self, shop_id: int, tn: str, bound: int, now: float) -> bytes:
        now_iso = iso_ms(now)
        event = {"id": f"evt_{tn}___SEQ__", "type": "cancelled", "tracking_number": tn, "shop_id": shop_id,
                 "status": "cancelled", "occurred_at": now_iso, "recorded_at": now_iso, "office": None,
                 "data": {"reason": REASON, "by": "system", "after_days": self.rules.expiry_days}}
        return await self.batcher.evalsha(self._expire, [
            keys.parcel(shop_id, tn), keys.shop_status_index(shop_id, "pre_transit"),
            keys.shop_status_index(shop_id, "cancelled"), keys.partition_events(keys.partition_of(shop_id)),
            keys.shop_feed(shop_id), keys.shop_live_orders(shop_id), manifested_key(shop_id)],
            [tn, shop_id, now_iso, FEED_MAXLEN, orjson.dumps(event), int(now * 1000), bound])

    async def expiring(self, shop_id: int, within_days: int, now: float | None = None) -> list[dict[str, Any]]:
        """The shop's parcels waiting for handover that expire within ``within_days``, soonest first."""
        now = time.time() if now is None else now
        bound = int(now * 1000) + within_days * DAY_MS - self.ttl_ms
        found = await self.redis.zrange(keys.shop_status_index(shop_id, "pre_transit"), "-", "(%013d" % bound,
                                        bylex=True, offset=0, num=1000)
        out = []
        for m in found:
            created, _, tn = m.decode().partition(":")
            expires = (int(created) + self.ttl_ms) / 1000
            out.append({"tracking_number": tn, "booked_at": iso_ms(int(created) / 1000), "expires_at": iso_ms(expires),
                        "expires_in_hours": round(max(0.0, expires - now) / 3600, 1)})
        return out


async def run_worker(expirer: Expirer, interval_s: float) -> None:
    """A pass every ``interval_s``, by whichever worker takes the lease first; store errors do not end it."""
    me = secrets.token_hex(6)
    while True:
        try:
            if await expirer.redis.set(LEASE, me, nx=True, px=max(1, int(interval_s * 900))):
                n = await expirer.run_once()
                if n:
                    log.info("cancelled %d parcels not handed over within %d days", n, expirer.rules.expiry_days)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("expiry worker")
        await asyncio.sleep(interval_s)


@contextlib.asynccontextmanager
async def running(redis: aioredis.Redis, batcher: Batcher, rules: Rules, interval: float) -> AsyncIterator[Expirer]:
    """The expirer, with its worker running every ``interval`` seconds (none when 0) until the block ends."""
    expirer = Expirer(redis, batcher, rules)
    task = asyncio.ensure_future(run_worker(expirer, interval)) if interval > 0 else None
    try:
        yield expirer
    finally:
        if task is not None:
            await stop_task(task)


async def get_expiring(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    await request.app[BOOKING].authorize(caller)
    raw = request.query.get("within_days", "2")
    if not raw.isdigit() or not 0 <= int(raw) <= 365:
        raise validation_failed([FieldError("within_days", "too_large", "Must be an integer from 0 to 365.",
                                            "باید عددی صحیح از ۰ تا ۳۶۵ باشد.")])
    expirer = Expirer(request.app[REDIS], request.app[BOOKING].batcher, load_rules())
    data = await expirer.expiring(caller.shop.id, int(raw))
    return json_response({"data": data, "not_handed_over_days": expirer.rules.expiry_days})


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/v1/shipments/expiring", get_expiring)
