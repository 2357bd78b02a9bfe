"""wrk and the small process tools the load-test kit and the benchmarks share.

They live in the shipped ``loadtests`` package (the benchmarks in ``bench/`` import them from here), so that
``python -m loadtests run`` works from an installed copy, which has no ``bench``. ``wrk`` itself is a C program:
``apt-get install wrk``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import orjson
import redis.asyncio as aioredis

from booking.shops import ShopRegistry
from kernel.postal.offices import load_registry
from money.accounts import example_bank

from .bodies import shipment

# The directory holding the packages: the checkout, or site-packages in an installed copy (``-m`` children
# started from here find ``loadtests`` and, in a checkout, ``bench``).
ROOT = Path(__file__).resolve().parent.parent

# What shops send, as the load-test kit makes it (loadtests/bodies.py): receivers at real addresses all over the
# country, 60 % cash on delivery, 0.2-8 kg, a fifth of the phones in Persian digits. Fixed seed: every run and
# every tool books the same 500 bodies, round robin.
# Each says it is another parcel of its order: the same order ids are booked again and again, which the gateway
# refuses otherwise (docs/booking.md).
BODIES = [{**shipment(random.Random(i), registry, f"B-{i}"), "another_parcel_of_order": True}
          for registry in [load_registry()] for i in range(500)]

WRK_SCRIPT = r"""
local bodies = {%(bodies)s}
local i = 0
local pace_ms = %(pace_ms)s
wrk.method = "%(method)s"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"
-- wrk shares the two cores with what it measures, so it does as little as it can: without bodies it sends one
-- static request, and with them each is formatted once, at start, not once per request.
local formatted = {}
if #bodies > 0 then
  init = function(args)
    for k, body in ipairs(bodies) do formatted[k] = wrk.format(nil, nil, nil, body) end
  end
  request = function()
    i = i + 1
    return formatted[(i %% #formatted) + 1]
  end
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
        "city": "تهران", "address": "خیابان آزادی"}, rate_per_s=1e6, rate_burst=1_000_000,
        bank=example_bank())
    await client.aclose()
    return key
