"""One job queue shape for every feature's background work: a store stream read by a consumer group.

Any number of workers (processes or tasks) share a group; each takes one entry at a time, and an entry a worker
took and held longer than ``claim_idle_ms`` is claimed by another, so a killed worker loses nothing. The
subclass says what one entry means (``handle``); it acknowledges the entry when the job's outcome is stored.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from kernel.store import keys

log = logging.getLogger("barid.jobs")


async def ensure_outbox_group(redis: aioredis.Redis, group: str, start: str = "0") -> None:
    """Consumer group ``group`` on every partition's outbox (from ``start``), made once in one round trip; one
    that exists already is left as it is. Every feature that reads the outbox (webhooks, failed-delivery cases,
    SMS, the ledger) reads it through its own group."""
    pipe = redis.pipeline(transaction=False)
    for p in range(keys.PARTITIONS):
        pipe.xgroup_create(keys.partition_events(p), group, id=start, mkstream=True)
    for res in await pipe.execute(raise_on_error=False):
        if isinstance(res, Exception) and "BUSYGROUP" not in str(res):
            raise res


class OutboxReader:
    """Mixed into a service that reads the outbox through its own consumer group (``outbox_group``): the group is
    made on every partition the first time the service reads, once per instance."""

    redis: aioredis.Redis
    outbox_group: str
    _outbox_group_made = False

    async def ensure_groups(self) -> None:
        if not self._outbox_group_made:
            await ensure_outbox_group(self.redis, self.outbox_group)
            self._outbox_group_made = True


class StreamWorker:
    """Takes entries of ``stream`` through ``group`` and hands each to ``handle``."""

    stream: str
    group: str
    name = "worker"  # the consumer's prefix, and what the log calls a job

    def __init__(self, redis: aioredis.Redis, consumer: str | None = None, block_ms: int = 1000,
                 claim_idle_ms: int = 60_000) -> None:
        self.redis = redis
        self.consumer = consumer or f"{self.name}-{uuid.uuid4().hex[:8]}"
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms

    async def handle(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        raise NotImplementedError

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def ack(self, entry_id: bytes) -> None:
        await self.redis.xack(self.stream, self.group, entry_id)

    async def run(self, *, burst: bool = False) -> int:
        """Handle entries until cancelled; with ``burst`` return once none is waiting. Returns entries handled."""
        await self.ensure_group()
        done = 0
        while True:
            entries = await self._claim_stale() or await self._read_new(0 if burst else self.block_ms)
            if not entries:
                if burst:
                    return done
                continue
            for entry_id, fields in entries:
                try:
                    await self.handle(entry_id, fields)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the store went away mid-job: the entry stays pending and is claimed again
                    log.exception("%s job %s interrupted", self.name, fields.get(b"id"))
                    await asyncio.sleep(1)
                done += 1

    async def _read_new(self, block_ms: int) -> list:
        reply = await self.redis.xreadgroup(self.group, self.consumer, {self.stream: ">"}, count=1,
                                            block=block_ms or None)
        return reply[0][1] if reply else []

    async def _claim_stale(self) -> list:
        """Entries another worker took and has held longer than any job may run: it died."""
        _, entries, *_ = await self.redis.xautoclaim(self.stream, self.group, self.consumer, self.claim_idle_ms,
                                                      start_id="0-0", count=1)
        return [e for e in entries if e[1]]
