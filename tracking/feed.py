"""A shop's own event feed: polling (``GET /v1/events?after=``) and server-sent events (``/v1/events/stream``).

Both read the shop's feed stream (``keys.shop_feed``), whose entries hold runs of events. A cursor names the
last event a client has: ``<stream id>`` for the whole of an entry, ``<stream id>.<k>`` for its first k events,
so ``after=`` and SSE ``Last-Event-ID`` resume exactly where the client stopped, even inside a run. Each SSE
connection holds one store connection in a blocking XREAD, from a bounded pool of its own, until its client leaves.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web

from kernel.errors import FieldError, ValidationFailed
from kernel.store import keys

_CURSOR = re.compile(r"([0-9]{1,20})-([0-9]{1,20})(?:\.([1-9][0-9]{0,3}))?", re.ASCII)
_TYPE = re.compile(rb'"type":"([a-z_]+)"')
_MAX_ID = 2**64 - 1  # each half of a stream id is an unsigned 64-bit number; nothing comes after max-max
_PAGE_ENTRIES = 100  # entries one read takes while filling a page
# How often a stream blocked in XREAD looks whether its client is still there. aiohttp (as `python -m gateway up`
# runs it) does not cancel a handler whose client left, and a quiet feed writes only once a heartbeat: without
# this look the store connection would stay held for a listener that is gone.
_GONE_CHECK_S = 1.0


def parse_cursor(value: str | None, field: str = "after") -> str | None:
    if value is None or value == "":
        return None
    m = _CURSOR.fullmatch(value)
    in_run = m is not None and (not m.group(3) or int(m.group(3)) < keys.FEED_RUN)
    if not in_run or not _in_range(int(m.group(1)), int(m.group(2))):
        raise ValidationFailed(errors=[FieldError(field, "cursor_invalid", "must be a cursor from an earlier answer",
                                                  "نشانگر نامعتبر است")])
    return value


def _in_range(ms: int, seq: int) -> bool:
    return ms <= _MAX_ID and seq <= _MAX_ID and (ms, seq) != (_MAX_ID, _MAX_ID)


def parse_limit(value: str | None) -> int:
    if value is None:
        return 100
    if not value.isdecimal() or not 1 <= int(value) <= 1000:  # isdigit() passes '²', which int() refuses
        raise ValidationFailed(errors=[FieldError("limit", "limit_invalid", "must be 1-1000",
                                                  "limit باید بین ۱ تا ۱۰۰۰ باشد")])
    return int(value)


def _split(cursor: str) -> tuple[str, int]:
    """A cursor's stream id and how many events of that entry the client has (0: all of them)."""
    sid, _, k = cursor.partition(".")
    return sid, int(k) if k else 0


def _events(entries: list, skip: int) -> list[tuple[bytes, bytes]]:
    """(cursor, event JSON) of every event in the entries, less the first ``skip`` of the first entry."""
    out = []
    for sid, fields in entries:
        run = fields[b"e"].split(b"\n")
        last = len(run) - 1
        out.extend((sid if i == last else b"%s.%d" % (sid, i + 1), e) for i, e in enumerate(run) if i >= skip)
        skip = 0
    return out


async def poll(redis: aioredis.Redis, shop_id: int, after: str | None, limit: int) -> bytes:
    """Events after the cursor, oldest first, as a ready JSON body (events are stored as JSON already)."""
    feed = keys.shop_feed(shop_id)
    sid, skip = _split(after) if after else ("", 0)
    # A cursor inside a run reads that entry again for the rest of the run.
    start = sid if skip else (f"({sid}" if sid else "-")
    events: list[tuple[bytes, bytes]] = []
    while len(events) <= limit:  # one event past the page says whether there is more
        entries = await redis.xrange(feed, start, "+", count=_PAGE_ENTRIES)
        if skip and (not entries or entries[0][0].decode() != sid):
            skip = 0  # that entry has been trimmed away: everything read is new to the client
        events += _events(entries, skip)
        if len(entries) < _PAGE_ENTRIES:
            break
        start, skip = "(" + entries[-1][0].decode(), 0
    page, more = events[:limit], len(events) > limit
    cursor = page[-1][0] if page else (after.encode() if after else None)
    cursor_json = b'"' + cursor + b'"' if cursor else b"null"
    body = b",".join(e for _, e in page)
    more_json = b"true" if more else b"false"
    return b'{"data":[' + body + b'],"next_after":' + cursor_json + b',"has_more":' + more_json + b"}"


async def stream(request: web.Request, blocking: aioredis.Redis, shop_id: int, after: str | None,
                 heartbeat_s: float) -> web.StreamResponse:
    feed = keys.shop_feed(shop_id)
    if after is None:  # a new subscriber starts with what happens from now on
        newest = await blocking.xrevrange(feed, count=1)
        after = newest[0][0].decode() if newest else "0-0"
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                       "X-Accel-Buffering": "no"})
    await resp.prepare(request)
    try:
        await resp.write(b"retry: 2000\n\n")
        cursor, skip = _split(after)
        if skip:  # resuming inside a run: the rest of that run first
            rest = await blocking.xrange(feed, cursor, cursor)
            if rest:
                await resp.write(_sse(_events(rest, skip)))
        while True:
            read = blocking.xread({feed: cursor}, count=100, block=int(heartbeat_s * 1000))
            got = await _unless_gone(request, read)
            if not got:
                await resp.write(b": keep-alive\n\n")
                continue
            entries = got[0][1]
            await resp.write(_sse(_events(entries, 0)))
            cursor = entries[-1][0].decode()
    except ConnectionResetError:  # the subscriber left: the normal end of a stream, answered 200 as it was
        return resp
    except asyncio.CancelledError:
        # aiohttp cancels the handler of a client that left when handler_cancellation is on (its test server
        # does): the same normal end. A cancel with the client still there (shutdown) stays a cancel.
        task = asyncio.current_task()
        if not _client_gone(request) or task is None:
            raise
        task.uncancel()
        return resp


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _unless_gone(request: web.Request, read: Awaitable[Any]) -> Any:
    """The store read's answer, or ConnectionResetError as soon as the client has left. A read given up is
    cancelled and waited for: redis-py then drops that connection and hands it back to the pool."""
    task = asyncio.ensure_future(read)
    try:
        while True:
            done, _ = await asyncio.wait((task,), timeout=_GONE_CHECK_S)
            if done:
                return task.result()
            if _client_gone(request):
                raise ConnectionResetError("the subscriber left")
    finally:
        if not task.done():
            task.cancel()
            await asyncio.wait((task,))


def _sse(events: list[tuple[bytes, bytes]]) -> bytes:
    chunks = []
    for cursor, e in events:
        m = _TYPE.search(e)
        chunks.append(b"id: %s\nevent: %s\ndata: %s\n\n" % (cursor, m.group(1) if m else b"message", e))
    return b"".join(chunks)
