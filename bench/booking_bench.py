"""Booking throughput against the ceiling of the stack, measured in one run on this machine.

For each worker count it measures (a) a bare aiohttp hello-world served exactly like the gateway (same
supervisor, uvloop, SO_REUSEPORT workers) and (b) sustained ``POST /v1/shipments`` on a fresh embedded store
with AOF ``appendfsync always`` (``--appendfsync`` to compare), both driven by ``wrk`` (C, ~0.1 core at 20k
requests/s, so the generator is not the bottleneck). Then it paces bookings at 80 % of the measured maximum
and reports p50/p99 there.

This machine's speed drifts by a third between minutes, so (a) and (b) alternate ``--rounds`` times and the
table gives medians (with the range of the ratio), plus the CPU time per request that the gateway workers and
the store spent, read from /proc: the steadier measure of what a request costs.

With ``--floor`` each round also measures what aiohttp alone costs for a booking-shaped request (``bench/hello.py
floor``: the same body read and parsed, an answer of the same size): the most any booking could reach. With
``--stored`` each round also measures that plus the store's part of a booking (``bench/hello.py stored``: a
booking's writes, made ready at start, through the gateway's batcher): the most a booking could reach with a handler
that cost nothing beyond its store round trip, on the same store as the bookings.

    .venv/bin/python bench/booking_bench.py [--workers 1 2] [--duration 10] [--rounds 3] [--connections 64]
        [--appendfsync always] [--store-allocator auto] [--aof-rewrite-min-mb 16384] [--access-log] [--floor]
        [--stored]

Needs ``wrk`` (Debian package ``wrk``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.proc import children, cpu_seconds  # noqa: E402
from kernel.store.client import EmbeddedStore  # noqa: E402

# wrk, the 500 bodies and the process tools are shared with the load-test kit, which ships them.
from loadtests.wrk import (  # noqa: E402, F401  (the other benchmarks import them from here)
    BODIES,
    WRK_SCRIPT,
    free_port,
    make_shop,
    start,
    stop,
    wait_port,
    wrk,
)


def measured(proc: subprocess.Popen, store_pid: int, run) -> tuple[dict, float, float]:
    """run()'s wrk result, and the CPU µs per request its workers and the store spent meanwhile."""
    pids = children(proc.pid)
    w0, s0 = cpu_seconds(pids), cpu_seconds([store_pid])
    res = run()
    n = max(1, res["requests"])
    return res, (cpu_seconds(pids) - w0) / n * 1e6, (cpu_seconds([store_pid]) - s0) / n * 1e6


def serve_and_measure(store_pid: int, duration: int, connections: int, cmd: list[str], env: dict, port: int,
                      url: str, *, warm: bool = False, **request) -> tuple[dict, float, float]:
    """Start ``cmd``, drive it with wrk for ``duration`` seconds (after 2 seconds' warm-up with ``warm``), stop it:
    ``measured``'s result."""
    proc = start(cmd, env, port)
    try:
        if warm:
            wrk(url, duration=2, connections=connections, **request)
        return measured(proc, store_pid, partial(wrk, url, duration=duration, connections=connections, **request))
    finally:
        stop(proc)


def paced_run(target: str, key: str, goal_per_s: float, duration: int, conns: int) -> dict:
    """Bookings at about goal_per_s. wrk's connections are a closed loop (each waits for its answer, then for
    its pace), so the pace that gives the goal depends on the latency at that load: found in short runs."""
    cycle_ms = conns / goal_per_s * 1000  # each connection's time per request at the goal
    pace = cycle_ms
    for _ in range(3):
        probe = wrk(target, method="POST", key=key, bodies=BODIES, duration=2, connections=conns,
                    pace_ms=round(pace, 2))
        latency_ms = conns / probe["rate"] * 1000 - pace
        pace = max(0.0, cycle_ms - latency_ms)
    return wrk(target, method="POST", key=key, bodies=BODIES, duration=duration, connections=conns,
               pace_ms=round(pace, 2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3,
                    help="hello-world and bookings measured alternately this many times; medians reported")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--appendfsync", choices=("always", "everysec", "no"), default="always",
                    help="the store's AOF fsync policy (the gateway's default is always)")
    ap.add_argument("--store-allocator", choices=("auto", "libc"), default="auto",
                    help="auto: jemalloc preloaded where the system has it (as the gateway runs it); libc: built-in")
    # A booking appends about 2.7 kB to the AOF, so at 15,000 bookings/s the gateway's default threshold lets a
    # rewrite (a forked child serialising the whole store, on the same two cores) land in whichever round passes
    # it. The bench measures bookings; what a rewrite costs is measured on its own (bench/rewrite_cost.py).
    ap.add_argument("--aof-rewrite-min-mb", type=int, default=16384,
                    help="the store rewrites its AOF once the appended part is this big (the gateway's default: "
                         f"{EmbeddedStore.aof_rewrite_min_mb}; Valkey's: 64)")
    ap.add_argument("--access-log", action="store_true",
                    help="keep the gateway's access log on (to /dev/null); off by default, like the ceiling's")
    ap.add_argument("--floor", action="store_true",
                    help="also measure aiohttp alone answering a booking-shaped request (bench/hello.py floor)")
    ap.add_argument("--stored", action="store_true",
                    help="also measure the floor plus a booking's store writes (bench/hello.py stored)")
    ap.add_argument("--json", help="write the rows here too")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    py = sys.executable
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = EmbeddedStore(Path(tmp) / "store", appendfsync=args.appendfsync, allocator=args.store_allocator,
                              aof_rewrite_min_mb=args.aof_rewrite_min_mb)
        url = store.start()
        malloc = store.read_state()["malloc"]
        try:
            key = asyncio.run(make_shop(url))
            for workers in args.workers:
                port = free_port()
                env = {**os.environ, "BARID_WORKERS": str(workers), "BARID_PORT": str(port), "REDIS_URL": url,
                       "BARID_ACCESS_LOG": "1" if args.access_log else "0", "BARID_LOG_LEVEL": "WARNING"}
                target = f"http://127.0.0.1:{port}/v1/shipments"
                booking = {"method": "POST", "key": key, "bodies": BODIES}
                served = partial(serve_and_measure, store.pid, args.duration, args.connections)
                rounds = []
                # Alternating rounds: this machine's speed drifts, and each ratio compares neighbours in time.
                for _ in range(args.rounds):
                    ceiling, hello_us, _ = served([py, "-m", "bench.hello", str(port), str(workers)], env, port,
                                                  f"http://127.0.0.1:{port}/", method="GET")
                    floor = floor_us = None
                    if args.floor:
                        floor, floor_us, _ = served([py, "-m", "bench.hello", str(port), str(workers), "floor"],
                                                    env, port, target, **booking)
                    bound = bound_us = bound_store_us = None
                    if args.stored:
                        bound, bound_us, bound_store_us = served(
                            [py, "-m", "bench.hello", str(port), str(workers), "stored"],
                            {**env, "BENCH_API_KEY": key}, port, target, warm=True, **booking)
                    peak, book_us, store_us = served([py, "-m", "gateway", "serve"], env, port, target, warm=True,
                                                      **booking)
                    rounds.append({"hello": ceiling["rate"], "book": peak["rate"],
                                   "ratio": peak["rate"] / ceiling["rate"], "p50": peak["p50_ms"],
                                   "p99": peak["p99_ms"], "hello_us": hello_us, "book_us": book_us,
                                   "store_us": store_us, "errors": peak["errors"],
                                   "floor": floor and floor["rate"] / ceiling["rate"], "floor_us": floor_us,
                                   "stored": bound and bound["rate"] / ceiling["rate"], "stored_us": bound_us,
                                   "stored_store_us": bound_store_us,
                                   "stored_errors": bound and bound["errors"]})
                rate = median([r["book"] for r in rounds])
                gw = start([py, "-m", "gateway", "serve"], env, port)
                try:
                    wrk(target, method="POST", key=key, bodies=BODIES, duration=2, connections=args.connections)
                    paced = paced_run(target, key, 0.8 * rate, args.duration, args.connections)
                finally:
                    stop(gw)
                ratios = [r["ratio"] for r in rounds]
                rows.append({
                    "workers": workers, "rounds": rounds,
                    "hello_per_s": round(median([r["hello"] for r in rounds])), "bookings_per_s": round(rate),
                    "ratio": round(median(ratios), 3), "ratio_min": round(min(ratios), 3),
                    "ratio_max": round(max(ratios), 3),
                    "peak_p50_ms": round(median([r["p50"] for r in rounds]), 2),
                    "peak_p99_ms": round(median([r["p99"] for r in rounds]), 2),
                    "hello_cpu_us": round(median([r["hello_us"] for r in rounds])),
                    "booking_cpu_us": round(median([r["book_us"] for r in rounds])),
                    "store_cpu_us": round(median([r["store_us"] for r in rounds])),
                    "paced_per_s": round(paced["rate"]), "paced_p50_ms": round(paced["p50_ms"], 2),
                    "paced_p99_ms": round(paced["p99_ms"], 2),
                    "errors": sum(r["errors"] for r in rounds) + paced["errors"],
                    "floor_ratio": round(median([r["floor"] for r in rounds]), 3) if args.floor else None,
                    "floor_cpu_us": round(median([r["floor_us"] for r in rounds])) if args.floor else None,
                    **({"stored_ratio": round(median([r["stored"] for r in rounds]), 3),
                        "stored_ratio_max": round(max(r["stored"] for r in rounds), 3),
                        "stored_cpu_us": round(median([r["stored_us"] for r in rounds])),
                        "stored_store_cpu_us": round(median([r["stored_store_us"] for r in rounds])),
                        "stored_errors": sum(r["stored_errors"] for r in rounds)} if args.stored else {})})
        finally:
            store.stop()
    print(f"\nbookings vs. aiohttp hello-world, AOF appendfsync {args.appendfsync} (rewrite from "
          f"{args.aof_rewrite_min_mb} MB), store malloc {malloc}, "
          f"wrk -c{args.connections}, {args.duration}s each, medians of {args.rounds} alternating rounds, "
          f"{os.cpu_count()} cores")
    print(f"{'workers':>7} {'hello/s':>8} {'book/s':>7} {'ratio':>6} {'(range)':>9} {'p50':>7} {'p99':>7} | "
          f"{'@80%/s':>6} {'p50':>6} {'p99':>6} | {'CPU µs/req: hello':>17} {'gateway':>7} {'store':>5} {'errors':>6}")
    for r in rows:
        spread = f"{r['ratio_min']:.0%}-{r['ratio_max']:.0%}"
        print(f"{r['workers']:>7} {r['hello_per_s']:>8} {r['bookings_per_s']:>7} {r['ratio']:>6.0%} {spread:>9} "
              f"{r['peak_p50_ms']:>5.1f}ms {r['peak_p99_ms']:>5.1f}ms | {r['paced_per_s']:>6} "
              f"{r['paced_p50_ms']:>4.1f}ms {r['paced_p99_ms']:>4.1f}ms | {r['hello_cpu_us']:>17} "
              f"{r['booking_cpu_us']:>7} {r['store_cpu_us']:>5} {r['errors']:>6}")
    if args.floor:
        print("aiohttp alone on a booking-shaped request (bench/hello.py floor), against hello-world: "
              + ", ".join(f"{r['workers']} worker(s) {r['floor_ratio']:.0%} at {r['floor_cpu_us']} µs CPU/request"
                          for r in rows))
    if args.stored:
        print("the floor plus a booking's store writes (bench/hello.py stored), against hello-world: "
              + ", ".join(f"{r['workers']} worker(s) {r['stored_ratio']:.0%} (best round {r['stored_ratio_max']:.0%}) "
                          f"at {r['stored_cpu_us']} µs CPU/request, store {r['stored_store_cpu_us']} µs, "
                          f"{r['stored_errors']} errors" for r in rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
