"""A shop's own event feed: polling (``GET /v1/events?after=``) and server-sent events (``/v1/events/stream``).

Both read the shop's feed stream (``keys.shop_feed``); a cursor is a stream id, so ``after=`` and SSE
``Last-Event-ID`` resume exactly where the client stopped. Each SSE connection holds one store connection in
a blocking XREAD, from a bounded pool of its own.
"""

from __future__ import annotations

import re

import redis.asyncio as aioredis
from aiohttp import web

from gateway import keys
from gateway.errors import FieldError, ValidationFailed

_CURSOR = re.compile(r"[0-9]{1,20}-[0-9]{1,20}", re.ASCII)
_TYPE = re.compile(rb'"type":"([a-z_]+)"')
_MAX_ID = 2**64 - 1  # each half of a stream id is an unsigned 64-bit number; nothing comes after max-max


def parse_cursor(value: str | None, field: str = "after") -> str | None:
    if value is None or value == "":
        return None
    if not _CURSOR.fullmatch(value) or not _in_range(value):
        raise ValidationFailed(errors=[FieldError(field, "cursor_invalid", "must be a cursor from an earlier answer",
                                                  "نشانگر نامعتبر است")])
    return value


def _in_range(cursor: str) -> bool:
    ms, seq = (int(part) for part in cursor.split("-"))
    return ms <= _MAX_ID and seq <= _MAX_ID and (ms, seq) != (_MAX_ID, _MAX_ID)


def parse_limit(value: str | None) -> int:
    if value is None:
        return 100
    if not value.isdecimal() or not 1 <= int(value) <= 1000:  # isdigit() passes '²', which int() refuses
        raise ValidationFailed(errors=[FieldError("limit", "limit_invalid", "must be 1-1000",
                                                  "limit باید بین ۱ تا ۱۰۰۰ باشد")])
    return int(value)


async def poll(redis: aioredis.Redis, shop_id: int, after: str | None, limit: int) -> bytes:
    """Events after the cursor, oldest first, as a ready JSON body (events are stored as JSON already)."""
    entries = await redis.xrange(keys.shop_feed(shop_id), f"({after}" if after else "-", "+", count=limit)
    events = b",".join(fields[b"e"] for _, fields in entries)
    cursor = entries[-1][0] if entries else (after.encode() if after else None)
    cursor_json = b'"' + cursor + b'"' if cursor else b"null"
    more = b"true" if len(entries) == limit else b"false"
    return b'{"data":[' + events + b'],"next_after":' + cursor_json + b',"has_more":' + more + b"}"


async def stream(request: web.Request, blocking: aioredis.Redis, shop_id: int, after: str | None,
                 heartbeat_s: float) -> web.StreamResponse:
    feed = keys.shop_feed(shop_id)
    if after is None:  # a new subscriber starts with what happens from now on
        newest = await blocking.xrevrange(feed, count=1)
        after = newest[0][0].decode() if newest else "0-0"
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                       "X-Accel-Buffering": "no"})
    await resp.prepare(request)
    await resp.write(b"retry: 2000\n\n")
    cursor = after
    while True:
        got = await blocking.xread({feed: cursor}, count=500, block=int(heartbeat_s * 1000))
        if not got:
            await resp.write(b": keep-alive\n\n")
            continue
        chunks = []
        for sid, fields in got[0][1]:
            e = fields[b"e"]
            m = _TYPE.search(e)
            chunks.append(b"id: %s\nevent: %s\ndata: %s\n\n" % (sid, m.group(1) if m else b"message", e))
            cursor = sid.decode()
        await resp.write(b"".join(chunks))
