"""How far the ledger workers are behind the outboxes: the ``ledger`` consumer group's lag.

The lag is the age of the oldest outbox entry the group has not acknowledged: either pending (read by a worker,
not yet committed and acknowledged; a killed worker's entries stay pending until reclaimed) or not read at all.
An outbox entry's stream id is the store's clock in milliseconds when it was added, so its age is read from the
id against the store's own clock (``TIME``): no clock of this machine is compared with another's.

``LagSampler`` samples it every second during the load; ``wait_drained`` waits until nothing is left.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import redis

from kernel.store import keys

from .report import pct

GROUP = "ledger"
UNCOUNTED_MAX = 10_000  # unread entries counted one by one (where the server keeps no count), at most


@dataclass(frozen=True)
class Lag:
    waiting: int  # entries pending or unread by the group, over every partition
    age_s: float  # age of the oldest of them (0 when none)
    groups: int  # partitions that have the group (0: no ledger in this system)


def _ms(stream_id: bytes | str) -> int:
    raw = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
    return int(raw.partition("-")[0])


def _next_id(stream_id: bytes | str) -> str:
    """The id just after ``stream_id`` (XRANGE's exclusive start, spelled for every server version)."""
    raw = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
    ms, _, seq = raw.partition("-")
    return f"{ms}-{int(seq or 0) + 1}"


def measure(r: redis.Redis, group: str = GROUP) -> Lag:
    """The group's lag now: two pipelined round trips over every partition."""
    streams = [keys.partition_events(p) for p in range(keys.PARTITIONS)]
    pipe = r.pipeline(transaction=False)
    for s in streams:
        pipe.xinfo_groups(s)
        pipe.xpending(s, group)
    pipe.time()
    replies = pipe.execute(raise_on_error=False)
    now_s, now_us = replies[-1]
    now_ms = now_s * 1000 + now_us // 1000
    oldest: list[int] = []
    waiting, found = 0, 0
    tails: list[tuple[str, str, int | None]] = []
    for i, s in enumerate(streams):
        info, pending = replies[2 * i], replies[2 * i + 1]
        if isinstance(info, Exception) or isinstance(pending, Exception):
            continue  # no stream yet (no event in this partition), hence no group either
        mine = next((g for g in info if _name(g) == group), None)
        if mine is None:
            continue
        found += 1
        if pending and pending.get("pending"):
            waiting += int(pending["pending"])
            oldest.append(_ms(pending["min"]))
        lag = mine.get("lag")
        if lag is None or int(lag):  # unread entries (lag None: the server cannot tell, after deletions)
            tails.append((s, _next_id(mine["last-delivered-id"]), None if lag is None else int(lag)))
    if tails:
        pipe = r.pipeline(transaction=False)
        for s, start, lag in tails:  # the first unread entry; all of them (up to a bound) when not counted
            pipe.xrange(s, min=start, max="+", count=1 if lag is not None else UNCOUNTED_MAX)
        for (_s, _start, lag), unread in zip(tails, pipe.execute()):
            if unread:
                oldest.append(_ms(unread[0][0]))
                waiting += lag if lag is not None else len(unread)
    age = max(0.0, (now_ms - min(oldest)) / 1000) if oldest else 0.0
    return Lag(waiting, age, found)


def _name(g: dict) -> str:
    name = g.get("name")
    return name.decode() if isinstance(name, bytes) else str(name)


def wait_drained(r: redis.Redis, timeout_s: float, group: str = GROUP) -> tuple[float, Lag]:
    """Seconds until the group had nothing pending or unread (or the timeout), and the last measure."""
    start = time.monotonic()
    while True:
        lag = measure(r, group)
        if lag.waiting == 0 or time.monotonic() - start > timeout_s:
            return round(time.monotonic() - start, 1), lag
        time.sleep(0.25)


class LagSampler:
    """Samples the ledger's lag every ``every_s`` seconds in a thread, until ``stop()``."""

    def __init__(self, redis_url: str, every_s: float = 1.0) -> None:
        self.redis_url = redis_url
        self.every_s = every_s
        self.samples: list[dict[str, float]] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = 0.0

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._thread.start()

    def _run(self) -> None:
        r = redis.Redis.from_url(self.redis_url, socket_timeout=5)
        try:
            while not self._stop.wait(max(0.0, self.every_s - (time.monotonic() - self._t0) % self.every_s)):
                try:
                    lag = measure(r)
                except redis.RedisError:  # the store restarting (fault runs): that second is not measured
                    self.errors += 1
                    continue
                if not lag.groups:  # no ledger in this system: nothing to measure
                    continue
                self.samples.append({"t": round(time.monotonic() - self._t0, 1), "age_s": round(lag.age_s, 3),
                                     "waiting": lag.waiting})
        finally:
            r.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def summary(self) -> dict[str, Any]:
        ages = [s["age_s"] for s in self.samples]
        return {"samples": len(ages), "unmeasured": self.errors,
                "p50_s": round(pct(ages, 50), 3), "p99_s": round(pct(ages, 99), 3),
                "max_s": round(max(ages, default=0.0), 3),
                "max_waiting": max((s["waiting"] for s in self.samples), default=0)}
