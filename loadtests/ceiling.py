"""The ceiling of the stack and bookings alone, measured in the same run with the lead's wrk bench.

A bare aiohttp hello-world served exactly like the gateway (``loadtests.hello``: same supervisor, uvloop,
SO_REUSEPORT, same number of workers) and sustained ``POST /v1/shipments`` against the
system under test, both driven by ``wrk`` (C; it is not the bottleneck at these rates).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys

from .wrk import BODIES, free_port, make_shop, start, stop, wrk

WRK_MISSING = ("wrk is not installed; it measures the ceiling: apt-get install wrk "
               "(or pass --ceiling-seconds 0 to skip the ceiling)")


def measure(base_url: str, redis_url: str, workers: int, seconds: int, connections: int = 64) -> dict:
    if not shutil.which("wrk"):  # the runner refuses to start without it; a direct caller gets told too
        raise RuntimeError(WRK_MISSING)
    port = free_port()
    env = {**os.environ, "BARID_WORKERS": str(workers), "BARID_PORT": str(port)}
    hello = start([sys.executable, "-m", "loadtests.hello", str(port), str(workers)], env, port)
    try:
        ceiling = wrk(f"http://127.0.0.1:{port}/", method="GET", duration=seconds, connections=connections)
    finally:
        stop(hello)
    key = asyncio.run(make_shop(redis_url))
    target = base_url.rstrip("/") + "/v1/shipments"
    wrk(target, method="POST", key=key, bodies=BODIES, duration=2, connections=connections)  # warm-up
    book = wrk(target, method="POST", key=key, bodies=BODIES, duration=seconds, connections=connections)
    return {"workers": workers, "connections": connections, "seconds": seconds,
            "hello_per_s": round(ceiling["rate"]), "bookings_per_s": round(book["rate"]),
            "ratio": round(book["rate"] / ceiling["rate"], 3),
            "bookings_p50_ms": round(book["p50_ms"], 2), "bookings_p99_ms": round(book["p99_ms"], 2),
            "errors": ceiling["errors"] + book["errors"]}
