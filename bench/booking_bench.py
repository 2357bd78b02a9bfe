"""Booking throughput against the ceiling of the stack, measured in one run on this machine.

For each worker count it measures (a) a bare aiohttp hello-world served exactly like the gateway (same
supervisor, uvloop, SO_REUSEPORT workers) and (b) sustained ``POST /v1/shipments`` on a fresh embedded store
with AOF ``appendfsync always`` (``--appendfsync`` to compare), both driven by ``wrk`` (C, ~0.1 core at 20k
requests/s, so the generator is not the bottleneck). Then it paces bookings at 80 % of the measured maximum and reports p50/p99 there.

    .venv/bin/python bench/booking_bench.py [--workers 1 2] [--duration 10] [--connections 64] [--appendfsync always]

Needs ``wrk`` (Debian package ``wrk``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.shops import ShopRegistry  # noqa: E402
from gateway.store import EmbeddedStore  # noqa: E402

BODIES = [
    {"client_order_id": f"B-{i}", "service": ("pishtaz", "sefareshi")[i % 2],
     "payment": {"type": "cod", "goods_value": 1_000_000 * (i + 1)} if i % 3 else {"type": "prepaid"},
     "receiver": {"name": "علی رضایی", "phone": "09131234567", "postal_code": pc, "province": prov, "city": city,
                  "address": "خیابان اصلی، پلاک ۱۲"},
     "parcel": {"weight_g": 300 + 400 * i}}
    for i, (pc, prov, city) in enumerate([
        ("8138634561", "اصفهان", "اصفهان"), ("1916753411", "تهران", "تهران"), ("9178934561", "خراسان رضوی", "مشهد"),
        ("7134873411", "فارس", "شیراز"), ("5166715331", "آذربایجان شرقی", "تبریز"), ("6135733911", "خوزستان", "اهواز")])
]

WRK_SCRIPT = r"""
local bodies = {%(bodies)s}
local i = 0
local pace_ms = %(pace_ms)s
wrk.method = "%(method)s"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"
request = function()
  i = i + 1
  if #bodies == 0 then return wrk.format(nil, nil) end
  return wrk.format(nil, nil, nil, bodies[(i %% #bodies) + 1])
end
if pace_ms > 0 then delay = function() return pace_ms end end
done = function(summary, latency, requests)
  io.write(string.format('{"requests":%%d,"seconds":%%f,"errors":%%d,"p50_ms":%%f,"p99_ms":%%f}\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def wrk(url: str, *, method: str, key: str = "", bodies: list | None = None, duration: int, connections: int,
        pace_ms: float = 0) -> dict:
    lua_bodies = ",".join("[==[" + orjson.dumps(b).decode() + "]==]" for b in bodies or [])
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT % {"bodies": lua_bodies, "method": method, "key": key, "pace_ms": pace_ms})
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-s", f.name, url],
                         capture_output=True, text=True, check=True).stdout
    os.unlink(f.name)
    res = json.loads(out.strip().splitlines()[-1])
    res["rate"] = res["requests"] / res["seconds"]
    return res


def start(cmd: list[str], env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    wait_port(port)
    time.sleep(0.5 + 0.3 * int(env.get("BARID_WORKERS", "1")))  # every worker bound
    return proc


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)


async def make_shop(url: str) -> str:
    client = aioredis.Redis.from_url(url)
    _, key = await ShopRegistry(client).create("bench", sender={
        "name": "فروشگاه", "phone": "09121234567", "postal_code": "1458973311", "province": "تهران",
        "city": "تهران", "address": "خیابان آزادی"}, rate_per_s=1e6, rate_burst=1_000_000)
    await client.aclose()
    return key


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--appendfsync", choices=("always", "everysec", "no"), default="always",
                    help="the store's AOF fsync policy (the gateway's default is always)")
    ap.add_argument("--store-allocator", choices=("auto", "libc"), default="auto",
                    help="auto: jemalloc preloaded where the system has it (as the gateway runs it); libc: built-in")
    ap.add_argument("--json", help="write the rows here too")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    py = sys.executable
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = EmbeddedStore(Path(tmp) / "store", appendfsync=args.appendfsync, allocator=args.store_allocator)
        url = store.start()
        malloc = store.read_state()["malloc"]
        try:
            key = asyncio.run(make_shop(url))
            for workers in args.workers:
                port = free_port()
                env = {**os.environ, "BARID_WORKERS": str(workers), "BARID_PORT": str(port), "REDIS_URL": url,
                       "BARID_ACCESS_LOG": "0", "BARID_LOG_LEVEL": "WARNING"}
                hello = start([py, "-m", "bench.hello", str(port), str(workers)], env, port)
                try:
                    ceiling = wrk(f"http://127.0.0.1:{port}/", method="GET", duration=args.duration,
                                  connections=args.connections)
                finally:
                    stop(hello)
                gw = start([py, "-m", "gateway", "serve"], env, port)
                try:
                    target = f"http://127.0.0.1:{port}/v1/shipments"
                    wrk(target, method="POST", key=key, bodies=BODIES, duration=2, connections=args.connections)
                    peak = wrk(target, method="POST", key=key, bodies=BODIES, duration=args.duration,
                               connections=args.connections)
                    # Pace each connection so the total is ~80 % of the peak (closed loop: delay + latency).
                    conns = 32
                    pace = max(0.0, conns / (0.8 * peak["rate"]) * 1000 - peak["p50_ms"] * conns / args.connections)
                    paced = wrk(target, method="POST", key=key, bodies=BODIES, duration=args.duration,
                                connections=conns, pace_ms=round(pace, 2))
                finally:
                    stop(gw)
                rows.append({"workers": workers, "hello_per_s": round(ceiling["rate"]),
                             "bookings_per_s": round(peak["rate"]), "ratio": round(peak["rate"] / ceiling["rate"], 3),
                             "peak_p50_ms": round(peak["p50_ms"], 2), "peak_p99_ms": round(peak["p99_ms"], 2),
                             "paced_per_s": round(paced["rate"]), "paced_p50_ms": round(paced["p50_ms"], 2),
                             "paced_p99_ms": round(paced["p99_ms"], 2),
                             "errors": peak["errors"] + paced["errors"]})
        finally:
            store.stop()
    print(f"\nbookings vs. aiohttp hello-world, AOF appendfsync {args.appendfsync}, store malloc {malloc}, "
          f"wrk -c{args.connections}, "
          f"{args.duration}s each, {os.cpu_count()} cores")
    print(f"{'workers':>7} {'hello/s':>9} {'book/s':>8} {'ratio':>6} {'p50':>7} {'p99':>7} | "
          f"{'@80%/s':>7} {'p50':>6} {'p99':>6} {'errors':>6}")
    for r in rows:
        print(f"{r['workers']:>7} {r['hello_per_s']:>9} {r['bookings_per_s']:>8} {r['ratio']:>6.0%} "
              f"{r['peak_p50_ms']:>6.1f}ms {r['peak_p99_ms']:>5.1f}ms | {r['paced_per_s']:>7} "
              f"{r['paced_p50_ms']:>4.1f}ms {r['paced_p99_ms']:>4.1f}ms {r['errors']:>6}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
