"""Idempotency-Key handling (Stripe's semantics): same key and request replay the first answer; same key with
another request is refused; records live ``idempotency_ttl_s`` (at least 24 h). A key belongs to one endpoint
(method and route template) of one shop, and requests are compared parsed (booking.request_fingerprint), not
byte for byte. See docs/idempotency.md.

Bookings record their answer inside the booking script itself (atomic with the booking); this module serves the
other POSTs, whose effects are idempotent on their own (a quote changes nothing, a second cancel finds the
parcel already cancelled), so a lookup-then-remember pair is enough for them.
"""

from __future__ import annotations

from typing import Any

import orjson
import redis.asyncio as aioredis
from aiohttp import web

from booking.app_keys import BOOKING
from booking.service import Caller, IdempotencyKeyReused, Replay, request_fingerprint
from kernel.app_keys import REDIS
from kernel.errors import FieldError, ValidationFailed
from kernel.http import JSON
from kernel.store import keys

MAX_KEY_LEN = 255


def idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LEN or not key.isascii() or not key.isprintable():
        raise ValidationFailed("Idempotency-Key must be 1-255 printable ASCII characters",
                               "کلید یکتایی باید ۱ تا ۲۵۵ نویسه اسکی باشد", errors=[FieldError(
                                   "Idempotency-Key", "idempotency_key_invalid",
                                   "Must be 1-255 printable ASCII characters.", "باید ۱ تا ۲۵۵ نویسه اسکی باشد.")])
    return key


class IdempotencyStore:
    def __init__(self, redis: aioredis.Redis, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s

    async def lookup(self, shop_id: int, key: str, fp: str, scope: str) -> Replay | None:
        raw = await self.redis.get(keys.idempotency(shop_id, key, scope))
        if raw is None:
            return None
        prev = orjson.loads(raw)
        if prev["fp"] != fp:
            raise IdempotencyKeyReused("this Idempotency-Key was already used with a different request",
                                       "این کلید یکتایی پیش‌تر با درخواست دیگری به کار رفته است")
        return Replay(prev["status"], prev["body"].encode())

    async def remember(self, shop_id: int, key: str, fp: str, scope: str, status: int, body: bytes) -> None:
        record = orjson.dumps({"fp": fp, "status": status, "body": body.decode()})
        await self.redis.set(keys.idempotency(shop_id, key, scope), record, ex=self.ttl_s, nx=True)


def replay_response(replay: Replay) -> web.Response:
    resp = web.Response(body=replay.body, status=replay.status, content_type=JSON)
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


async def idempotent(request: web.Request, caller: Caller, raw: bytes, produce) -> web.Response:
    """Stripe's Idempotency-Key semantics for POSTs whose effect is idempotent on its own (quote, cancel):
    a replay answers what the first request got; ``produce()`` makes the (status, body) otherwise."""
    key = idempotency_key(request)
    booking = request.app[BOOKING]
    store = IdempotencyStore(request.app[REDIS], booking.idempotency_ttl_s)
    if key is not None:
        scope = f"{request.method} {request.match_info.route.resource.canonical}"
        try:  # a body that is not JSON (cancel ignores its body) is compared as it came
            parsed: Any = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            parsed = raw.decode("utf-8", "replace")
        fp = request_fingerprint(f"{request.method} {request.path}", parsed)
        replay = await store.lookup(caller.shop.id, key, fp, scope)
        if replay is not None:
            await booking.authorize(caller)
            return replay_response(replay)
    status, body = await produce()
    if key is not None:
        await store.remember(caller.shop.id, key, fp, scope, status, body)
    return web.Response(body=body, status=status, content_type=JSON)
