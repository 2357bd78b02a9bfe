"""Prometheus text metrics: requests and latencies per route, bookings, errors by code.

Updating them is a few dict operations per request, cheap enough for the hot path. Several workers share one
port, so a scrape reaches any one of them; each worker therefore publishes a snapshot of its counters to a
directory its supervisor gives them all (``MetricsShare``), and ``/metrics`` answers the sum over every worker
the supervisor has run, its own counters live. A worker that died keeps its last snapshot in the sum, so
counters never go backwards because a worker was restarted (up to the counts of its last two seconds).
"""

from __future__ import annotations

import asyncio
import bisect
import os
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import orjson
from aiohttp import web

PUBLISH_INTERVAL_S = 2.0

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Histogram:
    __slots__ = ("counts", "total", "n")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0
        self.n = 0


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[tuple[str, str], Histogram] = defaultdict(Histogram)
        self.errors: dict[str, int] = defaultdict(int)
        self.bookings: dict[tuple[str, str], int] = defaultdict(int)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests[(route, method, status)] += 1
        h = self.latency[(route, method)]  # the histogram updated here: once per request, no call of its own
        h.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        h.total += seconds
        h.n += 1

    def count_error(self, code: str) -> None:
        self.errors[code] += 1

    def count_booking(self, service: str, payment: str) -> None:
        self.bookings[(service, payment)] += 1

    def snapshot(self) -> bytes:
        return orjson.dumps({
            "requests": [[*k, n] for k, n in self.requests.items()],
            "latency": [[*k, h.counts, h.total, h.n] for k, h in self.latency.items()],
            "errors": list(self.errors.items()),
            "bookings": [[*k, n] for k, n in self.bookings.items()],
        })

    def add_snapshot(self, raw: bytes) -> None:
        data = orjson.loads(raw)
        for route, method, status, n in data["requests"]:
            self.requests[(route, method, status)] += n
        for route, method, counts, total, n in data["latency"]:
            h = self.latency[(route, method)]
            h.counts = [a + b for a, b in zip(h.counts, counts)]
            h.total += total
            h.n += n
        for code, n in data["errors"]:
            self.errors[code] += n
        for service, payment, n in data["bookings"]:
            self.bookings[(service, payment)] += n

    @classmethod
    def combined(cls, snapshots: Iterable[bytes]) -> Metrics:
        total = cls()
        for raw in snapshots:
            total.add_snapshot(raw)
        return total

    def render(self, workers: int = 1) -> str:
        out = [
            "# HELP barid_gateway_workers Gateway worker processes counted in these metrics (live and past).",
            "# TYPE barid_gateway_workers gauge",
            f"barid_gateway_workers {workers}",
            "# HELP barid_http_requests_total HTTP requests by route, method and status.",
            "# TYPE barid_http_requests_total counter",
        ]
        for (route, method, status), n in sorted(self.requests.items()):
            out.append(f'barid_http_requests_total{{route="{route}",method="{method}",status="{status}"}} {n}')
        out += ["# HELP barid_http_request_duration_seconds Request latency by route.",
                "# TYPE barid_http_request_duration_seconds histogram"]
        for (route, method), h in sorted(self.latency.items()):
            labels = f'route="{route}",method="{method}"'
            cumulative = 0
            for bound, c in zip((*BUCKETS, "+Inf"), h.counts):
                cumulative += c
                out.append(f'barid_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {cumulative}')
            out.append(f"barid_http_request_duration_seconds_sum{{{labels}}} {h.total:.6f}")
            out.append(f"barid_http_request_duration_seconds_count{{{labels}}} {h.n}")
        out += ["# HELP barid_bookings_total Parcels booked by service and payment type.",
                "# TYPE barid_bookings_total counter"]
        for (service, payment), n in sorted(self.bookings.items()):
            out.append(f'barid_bookings_total{{service="{service}",payment="{payment}"}} {n}')
        out += ["# HELP barid_errors_total Error answers by stable problem code.",
                "# TYPE barid_errors_total counter"]
        for code, n in sorted(self.errors.items()):
            out.append(f'barid_errors_total{{code="{code}"}} {n}')
        return "\n".join(out) + "\n"


class MetricsShare:
    """One worker's view of the workers' shared metrics directory."""

    def __init__(self, directory: Path, metrics: Metrics) -> None:
        self.directory = directory
        self.metrics = metrics
        self.own = directory / f"{os.getpid()}-{time.time_ns()}.json"  # unique even if a pid comes back

    def publish(self) -> None:
        tmp = self.own.with_suffix(".tmp")
        tmp.write_bytes(self.metrics.snapshot())
        tmp.replace(self.own)  # readers never see half a file

    def render(self) -> str:
        """Every worker's counters summed: this one's live, the others' as last published."""
        others = [p for p in self.directory.glob("*.json") if p != self.own]
        total = Metrics.combined(_read_all(others))
        total.add_snapshot(self.metrics.snapshot())
        return total.render(workers=len(others) + 1)

    async def run(self) -> AsyncIterator[None]:
        """cleanup_ctx body: publish every PUBLISH_INTERVAL_S while the app runs, and once more at the end."""
        self.directory.mkdir(parents=True, exist_ok=True)

        async def loop() -> None:
            while True:
                self.publish()
                await asyncio.sleep(PUBLISH_INTERVAL_S)

        task = asyncio.ensure_future(loop())
        yield
        task.cancel()
        self.publish()


def _read_all(paths: Iterable[Path]) -> Iterable[bytes]:
    for path in paths:
        try:
            yield path.read_bytes()
        except FileNotFoundError:  # a supervisor cleaning up; nothing to count
            continue


METRICS_SHARE = web.AppKey("metrics_share", MetricsShare)  # set when the workers of a supervisor share snapshots
