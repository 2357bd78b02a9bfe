"""Prometheus text metrics: requests and latencies per route, bookings, errors by code.

Each worker process keeps its own counters (label ``worker``); scrape each worker, or sum in the query.
Updating them is a few dict operations per request, cheap enough for the hot path.
"""

from __future__ import annotations

import bisect
import os
from collections import defaultdict

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Histogram:
    __slots__ = ("counts", "total", "n")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0
        self.n = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds
        self.n += 1


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[tuple[str, str], Histogram] = defaultdict(Histogram)
        self.errors: dict[str, int] = defaultdict(int)
        self.bookings: dict[tuple[str, str], int] = defaultdict(int)
        self.worker = str(os.getpid())

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests[(route, method, status)] += 1
        self.latency[(route, method)].observe(seconds)

    def count_error(self, code: str) -> None:
        self.errors[code] += 1

    def count_booking(self, service: str, payment: str) -> None:
        self.bookings[(service, payment)] += 1

    def render(self) -> str:
        w = self.worker
        out = [
            "# HELP barid_http_requests_total HTTP requests by route, method and status.",
            "# TYPE barid_http_requests_total counter",
        ]
        for (route, method, status), n in sorted(self.requests.items()):
            out.append(f'barid_http_requests_total{{worker="{w}",route="{route}",method="{method}",'
                       f'status="{status}"}} {n}')
        out += ["# HELP barid_http_request_duration_seconds Request latency by route.",
                "# TYPE barid_http_request_duration_seconds histogram"]
        for (route, method), h in sorted(self.latency.items()):
            labels = f'worker="{w}",route="{route}",method="{method}"'
            cumulative = 0
            for bound, c in zip((*BUCKETS, "+Inf"), h.counts):
                cumulative += c
                out.append(f'barid_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {cumulative}')
            out.append(f"barid_http_request_duration_seconds_sum{{{labels}}} {h.total:.6f}")
            out.append(f"barid_http_request_duration_seconds_count{{{labels}}} {h.n}")
        out += ["# HELP barid_bookings_total Parcels booked by service and payment type.",
                "# TYPE barid_bookings_total counter"]
        for (service, payment), n in sorted(self.bookings.items()):
            out.append(f'barid_bookings_total{{worker="{w}",service="{service}",payment="{payment}"}} {n}')
        out += ["# HELP barid_errors_total Error answers by stable problem code.",
                "# TYPE barid_errors_total counter"]
        for code, n in sorted(self.errors.items()):
            out.append(f'barid_errors_total{{worker="{w}",code="{code}"}} {n}')
        return "\n".join(out) + "\n"
