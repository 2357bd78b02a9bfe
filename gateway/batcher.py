"""Micro-batching of store calls: everything the event loop asks for in one turn goes in one pipeline.

Under load many requests are in flight at once; sending their scripts one round trip each costs a syscall and
a redis-py command dispatch apiece. Here each caller gets a future, and one flush per loop turn (plus whatever
piles up while a flush is in flight) sends them all as a single non-transactional pipeline. At low load a call
still goes out on the next loop turn, so latency does not suffer.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, RedisError


class Script:
    """A Lua script addressed by SHA; loaded lazily and again after a store restart (NOSCRIPT)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()


class Batcher:
    def __init__(self, redis: aioredis.Redis, max_batch: int = 256, max_in_flight: int = 2) -> None:
        self.redis = redis
        self.max_batch = max_batch
        self._pending: list[tuple[Script, tuple, asyncio.Future]] = []
        self._flush_scheduled = False
        self._in_flight = 0
        self._max_in_flight = max_in_flight

    def evalsha(self, script: Script, keys: list[str], args: list[Any]) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self._pending.append((script, (script.sha, len(keys), *keys, *args), fut))
        if not self._flush_scheduled and self._in_flight < self._max_in_flight:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._start_flush)
        return fut

    def _start_flush(self) -> None:
        self._flush_scheduled = False
        if not self._pending or self._in_flight >= self._max_in_flight:
            return
        batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch:]
        self._in_flight += 1
        asyncio.ensure_future(self._flush(batch))

    async def _flush(self, batch: list) -> None:
        try:
            results = await self._send(batch)
            retry = [item for item, res in zip(batch, results) if isinstance(res, NoScriptError)]
            if retry:
                for script in {item[0].sha: item[0] for item in retry}.values():
                    await self.redis.script_load(script.source)
                again = await self._send(retry)
                results = [again.pop(0) if isinstance(res, NoScriptError) else res for res in results]
            for (_, _, fut), res in zip(batch, results):
                if fut.done():
                    continue
                if isinstance(res, Exception):
                    fut.set_exception(res)
                else:
                    fut.set_result(res)
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            for _, _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
        finally:
            self._in_flight -= 1
            if self._pending and not self._flush_scheduled:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_soon(self._start_flush)

    async def _send(self, batch: list) -> list:
        pipe = self.redis.pipeline(transaction=False)
        for _, args, _ in batch:
            pipe.execute_command("EVALSHA", *args)
        return await pipe.execute(raise_on_error=False)
