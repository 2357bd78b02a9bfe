"""S10 serial allocation: unique across processes and restarts, never reused.

Each process reserves a block with one INCRBY and hands serials out locally; a crash leaves a gap in the
sequence (allowed: S10 numbers need to be unique, not dense) but never a repeat.
"""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from kernel.errors import BaridError
from kernel.postal.s10 import SERIAL_MAX
from kernel.store import keys


class SerialsExhausted(BaridError):
    code = "serials_exhausted"
    title = "No tracking numbers left for this service"


class SerialAllocator:
    def __init__(self, redis: aioredis.Redis, indicator: str, block: int = 1000) -> None:
        self.redis = redis
        self.key = keys.serial_counter(indicator)
        self.block = block
        self._next = 0
        self._end = 0  # exclusive
        self._lock = asyncio.Lock()

    def take_reserved(self) -> int | None:
        """One serial from the reserved block without a store round trip (or an await), if one is left."""
        if self._next < self._end:
            self._next += 1
            return self._next - 1
        return None

    async def take(self, n: int) -> list[int]:
        if self._end - self._next >= n:  # the common case: no store round trip, no lock
            first = self._next
            self._next += n
            return list(range(first, first + n))
        out: list[int] = []
        while len(out) < n:
            if self._next >= self._end:
                async with self._lock:
                    if self._next >= self._end:
                        size = max(self.block, n - len(out))
                        end = int(await self.redis.incrby(self.key, size))
                        if end > SERIAL_MAX:
                            raise SerialsExhausted(f"serial counter {self.key} passed {SERIAL_MAX}")
                        self._next, self._end = end - size + 1, end + 1
                continue
            take = min(n - len(out), self._end - self._next)
            out.extend(range(self._next, self._next + take))
            self._next += take
        return out
