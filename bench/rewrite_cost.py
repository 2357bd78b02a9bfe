"""What an AOF rewrite costs bookings, measured against the same gateway and store just before it.

The store appends every write to its AOF and, once the file has grown by ``aof_rewrite_min_mb`` and doubled
since the last rewrite, forks a child that writes the whole dataset anew. On a two-core machine that child takes
a core from the gateway and the store for as long as it runs. Here: a store filled by ``--fill`` seconds of
bookings at full speed, then bookings in 2-second slices: ``--before`` slices as they are, then a rewrite
(``BGREWRITEAOF``) and slices until it has finished and one more. Prints each slice and the medians.

    .venv/bin/python bench/rewrite_cost.py [--workers 1] [--fill 30] [--before 4] [--connections 64]

Needs ``wrk`` (Debian package ``wrk``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path
from statistics import median

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.booking_bench import BODIES, free_port, make_shop, start, stop, wrk  # noqa: E402
from kernel.store.client import EmbeddedStore  # noqa: E402

SLICE_S = 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--fill", type=int, default=30, help="seconds of bookings before measuring")
    ap.add_argument("--before", type=int, default=4, help="slices measured before the rewrite")
    ap.add_argument("--connections", type=int, default=64)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        # Only the rewrite this bench asks for: none of the store's own while it fills.
        store = EmbeddedStore(Path(tmp) / "store", aof_rewrite_min_mb=1 << 20)
        url = store.start()
        client = redis.Redis.from_url(url)
        try:
            key = asyncio.run(make_shop(url))
            port = free_port()
            env = {**os.environ, "BARID_WORKERS": str(args.workers), "BARID_PORT": str(port), "REDIS_URL": url,
                   "BARID_ACCESS_LOG": "0", "BARID_LOG_LEVEL": "WARNING"}
            target = f"http://127.0.0.1:{port}/v1/shipments"
            gw = start([sys.executable, "-m", "gateway", "serve"], env, port)

            def booked(seconds: int) -> dict:
                return wrk(target, method="POST", key=key, bodies=BODIES, duration=seconds,
                           connections=args.connections)

            try:
                filled = booked(args.fill)
                memory = client.info("memory")["used_memory"] / 2**20
                print(f"filled: {filled['requests']:,} bookings, {memory:,.0f} MiB in the store")
                before = [booked(SLICE_S) for _ in range(args.before)]
                client.bgrewriteaof()
                during = []
                while True:
                    during.append(booked(SLICE_S))
                    if not client.info("persistence")["aof_rewrite_in_progress"]:
                        break
                seconds = client.info("persistence")["aof_last_rewrite_time_sec"]
                after = booked(SLICE_S)
            finally:
                stop(gw)
        finally:
            client.close()
            store.stop()
    rows = [("before", r) for r in before] + [("rewrite", r) for r in during] + [("after", after)]
    print(f"\n{'slice':>8} {'bookings/s':>10} {'p50':>7} {'p99':>8}")
    for name, r in rows:
        print(f"{name:>8} {r['rate']:>10,.0f} {r['p50_ms']:>5.1f}ms {r['p99_ms']:>6.1f}ms")
    base, hit = median(r["rate"] for r in before), median(r["rate"] for r in during)
    print(f"\nrewrite of {memory:,.0f} MiB took {seconds} s; bookings/s during it {hit:,.0f} against {base:,.0f} "
          f"before ({hit / base:.0%}), p99 {median(r['p99_ms'] for r in during):.1f} against "
          f"{median(r['p99_ms'] for r in before):.1f} ms (medians of {SLICE_S}-second slices)")


if __name__ == "__main__":
    main()
