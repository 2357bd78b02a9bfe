"""The webhook dispatcher: partition outboxes -> per-endpoint, per-parcel delivery queues -> storefronts.

Pipeline
--------
1. **Fan-out.** Every event (scans, bookings, cancellations) is appended to its partition's outbox stream
   ``{pN}:events``. ``FANOUT`` reads new entries with the consumer group ``webhooks`` (XREADGROUP NOACK) and
   appends each to the queue of every subscribed endpoint for that parcel, all in one script, so an
   entry is fanned out exactly once, in stream order, whichever dispatcher runs it. Dispatchers notice new
   entries at once through a blocking XREAD per partition, and poll as a backstop.
2. **Queues.** ``keys.webhook_queues`` holds one queue per (shop, endpoint, parcel); only its head is ever in
   flight, which keeps each storefront's view of a parcel in order. ``keys.webhook_ready`` scores each queue
   by when its head is due. Taking a head *leases* it: the score moves to now + ``claim_idle_s``. A dispatcher
   killed mid-delivery simply never settles; when the lease runs out any other dispatcher claims the head
   (the same role XAUTOCLAIM plays for stream consumers, but per parcel so order survives) and delivers it
   again: delivery is at least once, and ``webhook-id`` (the event id) lets receivers drop repeats.
3. **Delivery.** One HTTP POST per head, signed per Standard Webhooks. 2xx pops the head and leases the next
   one to the same dispatcher straight away. A failure schedules the head ``retry_schedule[n]`` later (+-20 %
   jitter; ``Retry-After`` on 429/503 wins); after the last retry it moves to ``keys.webhook_dead`` (replay:
   ``POST /v1/webhooks/{id}/replay``) and the parcel's next event goes on. 410 disables the endpoint: its
   queued events go dead too. A paused endpoint's heads wait. Failures of one storefront only reschedule its
   own queues, and each endpoint has at most ``max_in_flight_per_endpoint`` requests open per dispatcher, so
   a slow or dead storefront never delays another's deliveries.

Scaling: run any number of dispatchers (``python -m tracking dispatch``); fan-out is atomic per partition and
every queue head is leased to one dispatcher at a time.

Retention
---------
* Outbox: every ``trim_interval_s`` each partition stream is trimmed (XTRIM MINID) below the oldest entry
  that some consumer group has not yet acknowledged (or not yet read), and never above now -
  ``outbox_retention_s`` (default 7 days). A lagging or new group therefore never loses entries; the stream
  holds at most the retention window plus whatever is unacknowledged.
* Dead letters: dropped ``dead_retention_s`` (default 30 days) after the event was recorded.
* Shop feeds (polling/SSE): capped at ``keys.FEED_MAXLEN`` entries per shop (XADD MAXLEN ~), each
  of one to ``keys.FEED_RUN`` events.
* Delivery queues hold only undelivered events; a queue disappears with its last event.
"""

from __future__ import annotations

import asyncio
import collections
import email.utils
import logging
import os
import random
import socket
import time
from typing import Any

import aiohttp
import orjson
from redis.exceptions import ResponseError

from kernel.errors import BaridError, ValidationFailed
from kernel.postal.timeutil import parse_iso
from kernel.settings import TrackingConfig
from kernel.store import keys
from kernel.store.batcher import Batcher, Script
from kernel.store.client import async_client
from kernel.store.jobs import ensure_outbox_group

from .ssrf import GuardedResolver, check_url
from .webhooks import ENQUEUE, WebhookRegistry, live_keys, sign

log = logging.getLogger("barid.dispatcher")

# How long a quiet partition's wake-up read waits in the store before it is sent again.
WAKE_BLOCK_S = 5.0

# KEYS 1 outbox, 2 endpoints, 3 queues, 4 ready; ARGV 1 group, 2 count, 3 lease end (ms)
# -> {entries read, last id read or '', {member, head, ...} newly leased to the caller, {shop, endpoints JSON, ...}}
FANOUT = ENQUEUE + r"""
-- NOACK: reading and fanning out are one atomic step, so a pending-entries list would only cost the store an
-- entry, an XCLAIM in the AOF and an XACK per event.
local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], 'fanout', 'NOACK', 'COUNT', ARGV[2], 'STREAMS', KEYS[1], '>')
if not r or #r[1][2] == 0 then return {0, '', {}, {}} end
local entries, routes, docs, leased = r[1][2], {}, {}, {}
for _, entry in ipairs(entries) do
  local f = entry[2]
  local s = f[2]  -- 's', shop, then ('t', tracking number, 'e', event) per event: keys.partition_events
  local route = routes[s]
  if route == nil then
    route = {}
    local raw = redis.call('HGET', KEYS[2], s)
    if raw then
      for id, doc in pairs(cjson.decode(raw)) do
        if doc['status'] ~= 'disabled' then
          local wanted = {}
          for _, name in ipairs(doc['events']) do wanted[name] = true end
          route[#route + 1] = {id, wanted}
        end
      end
      docs[#docs + 1] = s
      docs[#docs + 1] = raw
    end
    routes[s] = route
  end
  if #route > 0 then
    for i = 3, #f, 4 do
      local t, e = f[i + 1], f[i + 3]
      local typ = string.match(e, '"type":"([^"]+)"')
      for _, ep in ipairs(route) do
        if ep[2]['*'] or ep[2][typ] then
          local m = s .. '|' .. ep[1] .. '|' .. t
          if enqueue(KEYS[3], KEYS[4], m, e, ARGV[3]) then
            leased[#leased + 1] = m
            leased[#leased + 1] = e
          end
        end
      end
    end
  end
end
return {#entries, entries[#entries][1], leased, docs}
"""

# KEYS 1 ready, 2 queues, 3 tries, 4 endpoints; ARGV 1 now, 2 lease end, 3 limit
# -> {{member, head, failed tries, ...}, {shop, endpoints JSON or '', ...}}
CLAIM = r"""
local out, seen, docs = {}, {}, {}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])) do
  local q = redis.call('HGET', KEYS[2], m)
  if not q then
    redis.call('ZREM', KEYS[1], m)
  else
    redis.call('ZADD', KEYS[1], ARGV[2], m)
    local nl = string.find(q, '\n', 1, true)
    out[#out + 1] = m
    out[#out + 1] = nl and string.sub(q, 1, nl - 1) or q
    out[#out + 1] = redis.call('HGET', KEYS[3], m) or '0'
    local s = string.match(m, '^([^|]+)|')
    if not seen[s] then
      seen[s] = true
      docs[#docs + 1] = s
      docs[#docs + 1] = redis.call('HGET', KEYS[4], s) or ''
    end
  end
end
return {out, docs}
"""

# KEYS 1 ready, 2 queues, 3 tries, 4 dead
# ARGV 1 member, 2 '{"id":"<event id>"' of the head settled, 3 ok|dead|retry|defer|drop, 4 due / next lease end,
#      5 dead-letter score, 6 why it went dead
# A head that is no longer the one settled (its lease ran out and another dispatcher moved on) is left alone.
SETTLE = r"""
local m = ARGV[1]
local q = redis.call('HGET', KEYS[2], m)
if not q then return {'GONE'} end
local nl = string.find(q, '\n', 1, true)
local head = nl and string.sub(q, 1, nl - 1) or q
if string.sub(head, 1, #ARGV[2]) ~= ARGV[2] then return {'STALE'} end
local action = ARGV[3]
if action == 'retry' or action == 'defer' then
  if action == 'retry' then redis.call('HINCRBY', KEYS[3], m, 1) end
  redis.call('ZADD', KEYS[1], ARGV[4], m)
  return {'DONE'}
end
redis.call('HDEL', KEYS[3], m)
if action == 'drop' then
  redis.call('HDEL', KEYS[2], m)
  redis.call('ZREM', KEYS[1], m)
  return {'DONE'}
end
if action == 'dead' then redis.call('ZADD', KEYS[4], ARGV[5], m .. '|' .. ARGV[6] .. '|' .. head) end
if not nl then
  redis.call('HDEL', KEYS[2], m)
  redis.call('ZREM', KEYS[1], m)
  return {'DONE'}
end
local rest = string.sub(q, nl + 1)
redis.call('HSET', KEYS[2], m, rest)
redis.call('ZADD', KEYS[1], ARGV[4], m)
local nl2 = string.find(rest, '\n', 1, true)
return {'NEXT', nl2 and string.sub(rest, 1, nl2 - 1) or rest}
"""

PAUSED_RECHECK_S = 1.0  # a paused endpoint's heads are looked at again this often
BUSY_DEFER_S = 0.05  # a head that could not get a slot of its endpoint in time waits this long in the store
WAITERS_PER_SLOT = 32  # leased heads that may wait in memory (FIFO) per slot of a busy endpoint


class _Gate:
    """At most ``slots`` requests in flight to one endpoint; leased heads beyond that wait here in FIFO order
    (no store round trip, fair across parcels) for a bounded time and in bounded numbers, else the caller hands
    the head back to the store (defer), so a slow storefront never holds more than its share of this process."""

    __slots__ = ("free", "waiters")

    def __init__(self, slots: int) -> None:
        self.free = slots
        self.waiters: collections.deque[asyncio.Future] = collections.deque()

    async def acquire(self, max_wait: float, max_waiters: int) -> bool:
        if self.free > 0 and not self.waiters:
            self.free -= 1
            return True
        if len(self.waiters) >= max_waiters or max_wait <= 0:
            return False
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self.waiters.append(fut)
        timer = loop.call_later(max_wait, _expire, fut)
        try:
            return await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled() and fut.result():
                self.release()  # the slot was handed to us just as we were cancelled
            raise
        finally:
            timer.cancel()

    def release(self) -> None:
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_result(True)  # the slot passes straight to the oldest waiter
                return
        self.free += 1


def _expire(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(False)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _sid(stream_id: bytes | str) -> tuple[int, int]:
    ms, _, seq = _text(stream_id).partition("-")
    return int(ms), int(seq or 0)


def retry_after_s(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class Dispatcher:
    def __init__(self, redis_url: str, config: TrackingConfig, *, name: str | None = None,
                 cluster: bool = False) -> None:
        self.config = config
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.redis = async_client(redis_url, cluster=cluster)
        # Blocking XREADs hold a connection each: one per partition, apart from the command pool.
        self._blocking = async_client(redis_url, cluster=cluster, max_connections=keys.PARTITIONS + 4,
                                      block_s=WAKE_BLOCK_S)
        self.batcher = Batcher(self.redis, redis_url, max_batch=512)
        self.registry = WebhookRegistry(self.redis, config)
        self._fanout_s, self._claim_s, self._settle_s = Script(FANOUT), Script(CLAIM), Script(SETTLE)
        self._docs: dict[str, dict[str, Any]] = {}  # shop id -> endpoint id -> endpoint doc
        self._sem = asyncio.Semaphore(config.max_in_flight)
        self._gates: dict[str, _Gate] = {}
        # A head waits for its endpoint's slot at most this long, so its lease outlives the request it then sends.
        self._max_wait = max(0.0, config.claim_idle_s - config.delivery_timeout_s
                             - min(1.0, (config.claim_idle_s - config.delivery_timeout_s) / 2))
        self._timeout = aiohttp.ClientTimeout(total=config.delivery_timeout_s)
        self._urls: dict[str, Any] = {}  # endpoint URL -> checked yarl.URL (the check depends on the text only)
        self._keys: dict[str, tuple[list, float, list[bytes]]] = {}  # endpoint -> (secrets, valid until, keys)
        self._tasks: set[asyncio.Task] = set()
        self._cursors: dict[int, bytes] = {}
        self._session: aiohttp.ClientSession | None = None
        self.delivered = 0  # successful deliveries, for the CLI's log line and tests

    # -- lifecycle -------------------------------------------------------------------------------------
    async def run(self, *, burst: bool = False) -> None:
        """Dispatch until cancelled; with ``burst`` return once nothing is left to deliver."""
        connector = aiohttp.TCPConnector(resolver=GuardedResolver(self.config.webhook_allow_hosts),
                                         limit=self.config.max_in_flight,
                                         limit_per_host=self.config.max_in_flight_per_endpoint)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                              headers={"User-Agent": "Barid-Webhooks/1"})
        try:
            await self._ensure_groups()
            if burst:
                await self._run_burst()
            else:
                loops = [self._wake_loop(p) for p in range(keys.PARTITIONS)]
                await asyncio.gather(*loops, self._poll_loop(), self._trim_loop())
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._session.close()
            await self.redis.aclose()
            await self._blocking.aclose()

    async def _ensure_groups(self) -> None:
        await ensure_outbox_group(self.redis, keys.WEBHOOK_GROUP)
        pipe = self.redis.pipeline(transaction=False)
        for p in range(keys.PARTITIONS):
            pipe.xinfo_groups(keys.partition_events(p))
        for p, groups in enumerate(await pipe.execute()):
            for g in groups:
                if _text(g["name"]) == keys.WEBHOOK_GROUP:
                    self._cursors[p] = g["last-delivered-id"]

    async def _run_burst(self) -> None:
        while True:
            moved = sum(await asyncio.gather(*(self._fanout(p) for p in range(keys.PARTITIONS))))
            claimed = await self._claim_all()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=self.config.poll_interval_s)
                continue
            if not moved and not claimed:
                if await self._idle():
                    return
                await asyncio.sleep(min(self.config.poll_interval_s, 0.05))

    async def _idle(self) -> bool:
        """Nothing waits except heads of paused endpoints (those wait for a resume, not for us)."""
        pipe = self.redis.pipeline(transaction=False)
        for p in range(keys.PARTITIONS):
            pipe.zrange(keys.webhook_ready(p), 0, -1)
        for members in await pipe.execute():
            for m in members:
                shop, ep, _ = m.decode().split("|", 2)
                eps = await self.registry.endpoints(int(shop))
                if eps.get(ep, {}).get("status") != "paused":
                    return False
        return True

    # -- stage 1: fan-out ----------------------------------------------------------------------------------
    async def _wake_loop(self, p: int) -> None:
        stream = keys.partition_events(p)
        while True:
            try:
                while len(self._tasks) > self.config.max_backlog:
                    await asyncio.sleep(0.05)
                await self._fanout(p)
                # Only a wake-up: the fan-out reads the entries, so one is enough (not a hundred parsed in vain).
                got = await self._blocking.xread({stream: self._cursors.get(p, b"0-0")}, count=1,
                                                 block=int(WAKE_BLOCK_S * 1000))
                if got:
                    self._advance(p, got[0][1][-1][0])
            except asyncio.CancelledError:
                raise
            except Exception:  # the store restarting must not end the loop; the poll covers the gap
                log.exception("partition %d wake loop", p)
                await asyncio.sleep(1.0)

    def _advance(self, p: int, stream_id: bytes) -> None:
        if p not in self._cursors or _sid(stream_id) > _sid(self._cursors[p]):
            self._cursors[p] = stream_id

    async def _fanout(self, p: int) -> int:
        """Move every new outbox entry of partition p into delivery queues; returns how many were read."""
        total = 0
        while True:
            lease_end = int((time.time() + self.config.claim_idle_s) * 1000)
            n, last, leased, docs = await self.batcher.evalsha(
                self._fanout_s,
                [keys.partition_events(p), keys.webhook_endpoints(p), keys.webhook_queues(p), keys.webhook_ready(p)],
                [keys.WEBHOOK_GROUP, self.config.fanout_batch, lease_end])
            if not n:
                return total
            total += n
            self._advance(p, last)
            self._cache_docs(docs)
            for i in range(0, len(leased), 2):
                self._start(p, leased[i].decode(), leased[i + 1], 0)
            if n < self.config.fanout_batch:
                return total

    def _cache_docs(self, docs: list[bytes]) -> None:
        for i in range(0, len(docs), 2):
            self._docs[docs[i].decode()] = orjson.loads(docs[i + 1]) if docs[i + 1] else {}

    # -- stage 2: due retries and expired leases -------------------------------------------------------
    async def _poll_loop(self) -> None:
        while True:
            try:
                await asyncio.sleep(self.config.poll_interval_s)
                await asyncio.gather(*(self._fanout(p) for p in range(keys.PARTITIONS)))
                await self._claim_all()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("poll loop")
                await asyncio.sleep(1.0)

    async def _claim_all(self) -> int:
        room = self.config.max_backlog - len(self._tasks)
        if room <= 0:
            return 0
        now = time.time()
        lease_end = int((now + self.config.claim_idle_s) * 1000)
        limit = max(1, min(self.config.claim_batch, room // 8))
        replies = await asyncio.gather(*(self.batcher.evalsha(
            self._claim_s, [keys.webhook_ready(p), keys.webhook_queues(p), keys.webhook_tries(p),
                            keys.webhook_endpoints(p)], [int(now * 1000), lease_end, limit])
            for p in range(keys.PARTITIONS)))
        n = 0
        for p, (items, docs) in enumerate(replies):
            self._cache_docs(docs)
            for i in range(0, len(items), 3):
                self._start(p, items[i].decode(), items[i + 1], int(items[i + 2]))
                n += 1
        return n

    # -- stage 3: delivery -----------------------------------------------------------------------------
    def _start(self, p: int, member: str, head: bytes, tries: int) -> None:
        task = asyncio.ensure_future(self._deliver_queue(p, member, head, tries))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle(self, p: int, member: str, event_id: str, action: str, when_s: float,
                      dead_score: int = 0, why: str = "") -> bytes | None:
        """Apply the outcome; returns the next head when it was leased to us."""
        res = await self.batcher.evalsha(
            self._settle_s, [keys.webhook_ready(p), keys.webhook_queues(p), keys.webhook_tries(p),
                             keys.webhook_dead(p)],
            [member, '{"id":"%s"' % event_id, action, int(when_s * 1000), dead_score, why])
        return res[1] if res[0] == b"NEXT" else None

    async def _deliver_queue(self, p: int, member: str, head: bytes | None, tries: int) -> None:
        """Deliver heads of one queue until it is empty, waiting, or handed back."""
        shop, ep, _ = member.split("|", 2)
        try:
            while head is not None:
                event = orjson.loads(head)
                doc = self._docs.get(shop, {}).get(ep)
                lease_end = time.time() + self.config.claim_idle_s
                if doc is None:  # endpoint deleted: its queue goes with it
                    await self._settle(p, member, event["id"], "drop", 0)
                    return
                if doc["status"] == "paused":
                    await self._settle(p, member, event["id"], "defer", time.time() + PAUSED_RECHECK_S)
                    return
                if doc["status"] == "disabled":
                    head, tries = await self._settle(p, member, event["id"], "dead", lease_end,
                                                     _recorded_ms(event), "endpoint_disabled"), 0
                    continue
                gate = self._gates.get(ep)
                if gate is None:
                    gate = self._gates[ep] = _Gate(self.config.max_in_flight_per_endpoint)
                if not await gate.acquire(lease_end - self.config.claim_idle_s + self._max_wait - time.time(),
                                          WAITERS_PER_SLOT * self.config.max_in_flight_per_endpoint):
                    await self._settle(p, member, event["id"], "defer", time.time() + BUSY_DEFER_S)
                    return
                try:
                    ok, gone, wait = await self._post(ep, doc, event["id"], head)
                finally:
                    gate.release()
                if ok:
                    self.delivered += 1
                    head, tries = await self._settle(p, member, event["id"], "ok", lease_end), 0
                elif gone:
                    log.warning("endpoint %s answered 410 Gone: disabled", ep)
                    await self._disable(int(shop), ep)
                    head, tries = await self._settle(p, member, event["id"], "dead", lease_end,
                                                     _recorded_ms(event), "gone_410"), 0
                elif tries >= len(self.config.retry_schedule):
                    log.warning("giving up on %s for endpoint %s after %d attempts", event["id"], ep, tries + 1)
                    head, tries = await self._settle(p, member, event["id"], "dead", lease_end,
                                                     _recorded_ms(event), "retries_exhausted"), 0
                else:
                    await self._settle(p, member, event["id"], "retry", time.time() + self._delay(tries, wait))
                    return
        except asyncio.CancelledError:
            raise
        except Exception:  # the lease runs out and the head is retried; never let one task take the rest down
            log.exception("delivery of %s", member)

    def _delay(self, tries: int, retry_after: float | None) -> float:
        cfg = self.config
        if retry_after is not None:
            return min(retry_after, cfg.max_retry_after_s) * cfg.time_scale
        base = cfg.retry_schedule[tries] * cfg.time_scale
        return base * random.uniform(1 - cfg.retry_jitter, 1 + cfg.retry_jitter)

    async def _post(self, ep: str, doc: dict[str, Any], event_id: str, body: bytes
                    ) -> tuple[bool, bool, float | None]:
        """(delivered, gone, Retry-After seconds) of one attempt."""
        assert self._session is not None
        now = time.time()
        headers = {"content-type": "application/json", "webhook-id": event_id,
                   "webhook-timestamp": str(int(now)),
                   "webhook-signature": sign(self._signing_keys(ep, doc, now), event_id, int(now), body)}
        try:
            async with self._sem:
                url = self._urls.get(doc["url"])
                if url is None:
                    if len(self._urls) > 10_000:
                        self._urls.clear()
                    url = self._urls[doc["url"]] = check_url(doc["url"], self.config.webhook_allow_hosts)
                async with self._session.post(url, data=body, headers=headers, allow_redirects=False,
                                              timeout=self._timeout) as resp:
                    await resp.read()
                    if 200 <= resp.status < 300:
                        return True, False, None
                    log.info("endpoint %s answered %d for %s", ep, resp.status, event_id)
                    if resp.status == 410:
                        return False, True, None
                    wait = retry_after_s(resp.headers.get("Retry-After")) if resp.status in (429, 503) else None
                    return False, False, wait
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValidationFailed) as exc:
            log.info("delivery of %s to %s failed: %r", event_id, ep, exc)
            return False, False, None

    def _signing_keys(self, ep: str, doc: dict[str, Any], now: float) -> list[bytes]:
        """The endpoint's live secrets, decoded once per doc version and until the next secret expiry."""
        secrets_ = doc["secrets"]
        hit = self._keys.get(ep)
        if hit is not None and hit[0] is secrets_ and now * 1000 < hit[1]:  # the cache holds the list: no id reuse
            return hit[2]
        now_ms = int(now * 1000)
        live = live_keys(doc, now_ms)
        expiries = [s["expires_ms"] for s in secrets_ if s["expires_ms"] is not None and s["expires_ms"] > now_ms]
        if len(self._keys) > 10_000:
            self._keys.clear()
        self._keys[ep] = (secrets_, min(expiries, default=float("inf")), live)
        return live

    async def _disable(self, shop_id: int, ep: str) -> None:
        try:
            doc = await self.registry.set_status(shop_id, ep, "disabled", "endpoint answered 410 Gone")
        except BaridError:  # deleted meanwhile
            return
        cached = self._docs.get(str(shop_id), {}).get(ep)
        if cached is not None:
            cached["status"] = doc["status"]

    # -- retention ---------------------------------------------------------------------------------------
    async def _trim_loop(self) -> None:
        while True:
            try:
                await asyncio.sleep(self.config.trim_interval_s)
                await self.trim()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("trim")

    async def trim(self) -> None:
        """Apply the retention rules of the module docstring to every partition."""
        now_ms = int(time.time() * 1000)
        cutoff = (now_ms - int(self.config.outbox_retention_s * 1000), 0)
        for p in range(keys.PARTITIONS):
            stream = keys.partition_events(p)
            try:
                groups = await self.redis.xinfo_groups(stream)
            except ResponseError:  # no stream yet
                continue
            safe = cutoff
            for g in groups:
                if g["pending"]:
                    oldest = (await self.redis.xpending(stream, g["name"]))["min"]
                    safe = min(safe, _sid(oldest))
                else:
                    ms, seq = _sid(g["last-delivered-id"])
                    safe = min(safe, (ms, seq + 1))
            await self.redis.xtrim(stream, minid=f"{safe[0]}-{safe[1]}", approximate=False)
            await self.redis.zremrangebyscore(keys.webhook_dead(p), "-inf",
                                              now_ms - int(self.config.dead_retention_s * 1000))


def serve(redis_url: str, config: TrackingConfig, *, burst: bool = False, cluster: bool = False) -> int:
    """Run one dispatcher process (uvloop) until SIGINT/SIGTERM; returns how many webhooks it delivered."""
    import uvloop

    dispatcher = Dispatcher(redis_url, config, cluster=cluster)
    try:
        uvloop.run(dispatcher.run(burst=burst))
    except KeyboardInterrupt:
        pass
    return dispatcher.delivered


def _recorded_ms(event: dict[str, Any]) -> int:
    return int(parse_iso(event["recorded_at"]) * 1000)
