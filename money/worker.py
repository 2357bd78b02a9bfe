"""The ledger workers: the ``ledger`` consumer group on every partition outbox, into PostgreSQL.

Like the NDR case workers (returns.cases) and the webhook dispatchers: any number of workers share the group.
A worker reads a batch from each partition (first the entries a dead consumer left pending past
``claim_idle_ms``: XAUTOCLAIM, then new ones), reads the booking documents the batch's postings are priced from,
writes all of its postings in one PostgreSQL transaction (each event's posting with its UNIQUE event id), and
only then acknowledges the entries. Killed before the commit: nothing was written and the entries are reclaimed.
Killed after it: the reclaimed events find their ids posted and post nothing. PostgreSQL down: the batch stays
pending and is retried. So every event posts exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

import asyncpg
import orjson
import redis.asyncio as aioredis

from kernel.store import keys
from kernel.store.batcher import Batcher, Script
from kernel.store.jobs import ensure_outbox_group
from tracking.events import outbox_entry

from . import ledger
from .rules import BOOKS, NEEDS_DOC, posting_for

log = logging.getLogger("barid.money.ledger")

GROUP = "ledger"
CLAIM_IDLE_MS = 30_000  # an entry read but not acknowledged this long belonged to a consumer that died
READ_COUNT = 200  # outbox entries one read takes per partition (each holds up to keys.OUTBOX_RUN events)

# Raw entries for the caller's consumer: first those of a dead consumer, else new ones. A script, so the reply
# keeps an entry's repeated fields (redis-py's parser folds them into a dict: tracking.events.OUTBOX_RANGE).
READ = Script(r"""
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], '0-0', 'COUNT', ARGV[4])
if #claimed[2] > 0 then return claimed[2] end
local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[4], 'STREAMS', KEYS[1], '>')
if not r then return {} end
return r[1][2]
""")

# The booking documents of parcels of one partition (KEYS), in order; a parcel gone is nil.
DOCS = Script(r"""
local out = {}
for i, k in ipairs(KEYS) do out[i] = redis.call('HGET', k, 'doc') or false end
return out
""")


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


async def ensure_groups(redis: aioredis.Redis, group: str = GROUP, start: str = "0") -> None:
    """The ``ledger`` group on every outbox, from its first entry: created at start, before any event can be
    trimmed (the dispatchers trim only below what every group has acknowledged)."""
    await ensure_outbox_group(redis, group, start)


class LedgerWorker:
    def __init__(self, redis: aioredis.Redis, pool: asyncpg.Pool, consumer: str | None = None, *,
                 claim_idle_ms: int = CLAIM_IDLE_MS, read_count: int = READ_COUNT, group: str = GROUP,
                 url: str | None = None) -> None:
        self.redis = redis
        # a step's script calls (one per partition) go out together: one round trip, not one redis-py call each
        # (on a plain server given its ``url``, down the batcher's lean connection)
        self.batcher = Batcher(redis, url)
        self.group = group  # another name only for tests, which each read their own events
        self.pool = pool
        self.consumer = consumer or consumer_name()
        self.claim_idle_ms = claim_idle_ms
        self.read_count = read_count
        self.posted = 0

    async def _read(self, p: int) -> list:
        return await self._eval(READ, [keys.partition_events(p)],
                                [self.group, self.consumer, self.claim_idle_ms, self.read_count])

    async def _eval(self, script: Script, script_keys: list[str], args: list) -> list:
        return await self.batcher.evalsha(script, script_keys, args)

    def close(self) -> None:
        self.batcher.close()

    async def step(self) -> int:
        """One batch from every partition that has one: posted and acknowledged. How many entries it took."""
        return await self._post(await self._fetch())

    async def _fetch(self) -> tuple[dict[int, list], list]:
        """The next batch: the entries taken from each partition and their postings (priced, not yet written)."""
        replies = await asyncio.gather(*(self._read(p) for p in range(keys.PARTITIONS)))
        events, taken = [], {}
        for p, entries in enumerate(replies):
            if not entries:
                continue
            taken[p] = [e[0] for e in entries]
            for _entry_id, fields in entries:
                if not fields:  # trimmed away while pending
                    continue
                _shop, runs = outbox_entry(fields)
                events.extend(orjson.loads(raw) for _tn, raw in runs if any(t in raw for t in BOOKS))
        if not taken:
            return taken, []
        return taken, await self._postings(events)

    async def _post(self, batch: tuple[dict[int, list], list]) -> int:
        taken, postings = batch
        if not taken:
            return 0
        async with self.pool.acquire() as conn:
            self.posted += await ledger.write(conn, postings)
        await self._ack(taken)
        return sum(len(ids) for ids in taken.values())

    async def _steps(self):
        """Batches posted one after another, the next one read from the store while PostgreSQL commits the
        current one. Each batch is acknowledged only after its own commit, so a failure or a cancellation leaves
        at most the batch being written and the one read ahead pending, to be claimed again (as a dead
        consumer's entries are). Yields how many entries each batch took (0: the outboxes were empty)."""
        ahead = asyncio.ensure_future(self._fetch())
        try:
            while True:
                batch = await ahead
                ahead = asyncio.ensure_future(self._fetch()) if batch[0] else None
                yield await self._post(batch)
                if ahead is None:
                    ahead = asyncio.ensure_future(self._fetch())
        finally:
            if ahead is not None and not ahead.done():
                ahead.cancel()

    async def _ack(self, taken: dict[int, list]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for p, ids in taken.items():
            pipe.xack(keys.partition_events(p), self.group, *ids)
        await pipe.execute()

    async def _postings(self, events: list[dict]) -> list:
        by_partition: dict[int, list[dict]] = {}
        for e in events:
            if e["type"] in NEEDS_DOC:
                by_partition.setdefault(keys.partition_of(int(e["shop_id"])), []).append(e)
        docs: dict[str, dict | None] = {}
        # One call per partition for all of its documents (a parcel's hash shares its partition's slot): a reply
        # per document costs the client more than the store's work.
        replies = await asyncio.gather(*(self._eval(DOCS, [keys.parcel(int(e["shop_id"]), e["tracking_number"])
                                                           for e in evs], []) for evs in by_partition.values()))
        for evs, raws in zip(by_partition.values(), replies):
            for e, raw in zip(evs, raws):
                docs[e["tracking_number"]] = orjson.loads(raw) if raw else None
        out = []
        for e in events:
            posting = posting_for(e, docs.get(e["tracking_number"]))
            if posting is not None:
                out.append(posting)
        return out

    async def drain(self) -> int:
        """Post everything the outboxes hold for this group now (tests, the bench, the CLI)."""
        await ensure_groups(self.redis, self.group)
        total = 0
        steps = self._steps()
        try:
            async for n in steps:
                if not n:
                    break
                total += n
        finally:
            await steps.aclose()
        return total

    async def run(self, idle_sleep_s: float = 0.2) -> None:
        """Post until cancelled; a failure (PostgreSQL or the store away) leaves the batch pending and retries."""
        await ensure_groups(self.redis, self.group)
        while True:
            steps = self._steps()
            try:
                async for n in steps:
                    if not n:
                        await asyncio.sleep(idle_sleep_s)
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, aioredis.RedisError) as exc:
                log.warning("ledger batch not posted (%s: %s); retrying", type(exc).__name__, exc)
                await asyncio.sleep(1.0)
            finally:
                await steps.aclose()


async def serve_async(redis_url: str, dsn: str, cluster: bool = False) -> None:
    from kernel.store.client import async_client

    redis = async_client(redis_url, cluster=cluster)
    while True:  # the database may still be starting (or restarting) when the worker comes up
        try:
            pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
            break
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("ledger: PostgreSQL not reachable (%s); retrying", exc)
            await asyncio.sleep(1.0)
    worker = LedgerWorker(redis, pool, url=redis_url if not cluster else None)
    try:
        await worker.run()
    finally:
        worker.close()
        await pool.close()
        await redis.aclose()


def serve(redis_url: str, dsn: str, cluster: bool = False) -> None:
    """One ledger worker process (uvloop) until SIGTERM."""
    import uvloop

    try:
        uvloop.run(serve_async(redis_url, dsn, cluster))
    except KeyboardInterrupt:
        pass


async def prepare(redis_url: str, dsn: str, cluster: bool = False) -> dict:
    """At system start, before any worker: the schema migrated and the ``ledger`` group on every outbox."""
    from kernel.store.client import async_client

    from .migrate import migrate_dsn

    done = await migrate_dsn(dsn)
    redis = async_client(redis_url, cluster=cluster)
    try:
        await ensure_groups(redis)
    finally:
        await redis.aclose()
    return done
