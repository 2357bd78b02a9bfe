"""What a booking costs a gateway worker against an aiohttp hello-world, in instructions.

booking_bench times both on this machine, whose speed drifts by a third between minutes, so a change worth a
few percent drowns in it. Here one worker (the supervisor forks it, as in production) runs under ``valgrind
--tool=callgrind`` and serves a fixed number of requests from a client outside valgrind; the instructions it
executed, less those of a run that served none but lasted as long, divided by the requests, repeat to 0.1 % for
hello-world and to about 3 % for a booking (whose store round trips still vary with timing). hello/booking is
the ratio a CPU-bound worker's throughput would show.

    .venv/bin/python bench/gateway_cost.py [--requests 1000]

Needs valgrind (Debian package ``valgrind``); about four minutes, mostly interpreter start-up under valgrind.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.booking_bench import BODIES, free_port, make_shop, wait_port
from bench.callgrind import require_valgrind, total_instructions
from kernel.store.client import EmbeddedStore

WARM_UP = 20  # requests before counting starts, in both runs, so imports done on first use cancel out


async def drive(port: int, key: str, n: int, booking: bool) -> None:
    """n requests, one at a time: how the worker batches store calls under load depends on timing, which
    valgrind distorts (16 at a time varied by 5 % between runs), so each booking pays its own round trip."""
    sem = asyncio.Semaphore(1)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
        async def one(i: int) -> None:
            async with sem:
                if booking:
                    resp = await http.post("/v1/shipments", data=orjson.dumps(BODIES[i % len(BODIES)]), headers=headers)
                else:
                    resp = await http.get("/")
                async with resp:
                    await resp.read()
                    assert resp.status == (201 if booking else 200), resp.status

        await asyncio.gather(*(one(i) for i in range(n)))


def worker_instructions(store_url: str, key: str, booking: bool, requests: int, idle_s: float = 0.0
                        ) -> tuple[int, float]:
    """Instructions one worker executed from start to exit, having served WARM_UP + requests requests and then
    idled idle_s seconds; and how long the requests took."""
    port = free_port()
    env = {**os.environ, "BARID_WORKERS": "1", "BARID_PORT": str(port), "REDIS_URL": store_url,
           "BARID_ACCESS_LOG": "0", "BARID_LOG_LEVEL": "WARNING", "PYTHONHASHSEED": "0"}
    app = ["-m", "gateway", "serve"] if booking else ["-m", "bench.hello", str(port), "1"]
    with tempfile.TemporaryDirectory(prefix="barid-cost-") as tmp:
        proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.%p",
                                 sys.executable, *app], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_port(port, timeout=600)
            asyncio.run(drive(port, key, WARM_UP, booking))
            start = time.monotonic()
            asyncio.run(drive(port, key, requests, booking))
            took = time.monotonic() - start
            time.sleep(idle_s)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(600)
        workers = [f for f in Path(tmp).glob("cg.*") if f.name != f"cg.{proc.pid}"]  # not the supervisor
        if len(workers) != 1:
            raise SystemExit(f"expected one worker's counts, found {len(workers)}")
        return total_instructions(workers[0]), took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=1000)
    args = ap.parse_args()
    require_valgrind()
    per: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="barid-cost-") as tmp:
        store = EmbeddedStore(Path(tmp) / "store")
        url = store.start()
        try:
            key = asyncio.run(make_shop(url))
            for name, booking in (("hello", False), ("booking", True)):
                # The idle run lasts as long as the busy one: what a worker does on timers (its metrics
                # snapshot every 2 s) grows with time, and valgrind stretches time fifty-fold.
                busy, took = worker_instructions(url, key, booking, args.requests)
                idle, _ = worker_instructions(url, key, booking, 0, idle_s=took)
                per[name] = (busy - idle) / args.requests
        finally:
            store.stop()
    print(f"\ngateway worker instructions per request (callgrind, {args.requests:,} requests, one at a time)")
    print(f"{'hello-world':>12} {'booking':>9} {'ratio':>6}")
    print(f"{per['hello']:>12,.0f} {per['booking']:>9,.0f} {per['hello'] / per['booking']:>6.1%}")


if __name__ == "__main__":
    main()
