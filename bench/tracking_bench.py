"""Tracking benchmark: scan ingest through POST /v1/scans/batch, and scan-to-webhook latency at a steady rate.

    .venv/bin/python bench/tracking_bench.py [--parcels 20000] [--rate 1000] [--seconds 15] [--per-request 10]
        [--workers 2] [--in-flight 16] [--dispatchers 1] [--profile DIR] [--store-stats]

Everything is real and on this machine: an embedded store (appendfsync always, as the gateway runs it), the
gateway (``--workers`` worker processes sharing the port, each run as ``python -m gateway serve`` runs it),
``--dispatchers`` webhook dispatcher processes, and in this process the load generator and a storefront (aiohttp on
loopback, every delivery checked with ``standardwebhooks``).

Per phase it also prints the CPU time each process spent per scan (from /proc, so a busy machine does not skew
it) and how much of the phase the store was busy (the single-threaded store is the limit); ``--store-stats``
adds the store's INFO commandstats per scan, ``--profile DIR`` records py-spy profiles (collapsed stacks) of the
gateway and dispatcher processes per phase.

1. Ingest: 3 scans per parcel (accepted, sorting_in, sorting_out) in batches of 1,000, ``--in-flight`` requests
   at once (offices' devices upload concurrently; with 4 the store sat idle a third of the time between
   batches), into ``--workers`` gateway processes (default 2, one per core here).
2. Latency: ``arrived_delivery_office`` scans at ``--rate`` scans/s, in requests of ``--per-request`` scans
   (``--per-request 1`` uses POST /v1/scans), each parcel's webhook timed from just before its request is
   sent until the storefront has verified it. Targets: ingest >= 20,000 scans/s; p99 < 100 ms at 1,000/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import orjson
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.proc import cpu_seconds  # noqa: E402

ORIGIN, HUB, DEST = "THR-01", "THR-HUB", "IFN-01"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(redis_url: str, port: int) -> None:  # one gateway worker
    """A gateway worker exactly as ``python -m gateway serve`` runs one (uvloop, the app with its tracking routes,
    the garbage-collector settings), with the shops' rate limit out of the way."""
    from gateway.supervisor import run_worker
    from kernel.settings import Config

    run_worker(Config(host="127.0.0.1", port=port, access_log=False, rate_per_s=1e6, rate_burst=10**6), redis_url)


def iso(offset_s: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=offset_s)).isoformat(timespec="milliseconds")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def setup_data(redis_url: str, base: str, parcels: int) -> tuple[dict, dict[str, dict], list[str]]:
    import redis.asyncio as aioredis

    from booking.shops import ShopRegistry
    from kernel.postal.offices import load_registry
    from money.accounts import example_bank
    from tests.conftest import TEHRAN_SENDER, shipment_body
    from tracking.staff import create_staff

    redis = aioredis.Redis.from_url(redis_url)
    shop, key = await ShopRegistry(redis).create("bench", sender=TEHRAN_SENDER, rate_per_s=1e6, rate_burst=10**6,
                                                  bank=example_bank())
    staff = {}
    for office in (ORIGIN, HUB, DEST):
        made = await create_staff(redis, load_registry(), office, "bench")
        staff[office] = {"Authorization": f"Bearer {made['token']}"}
    await redis.aclose()
    headers = {"Authorization": f"Bearer {key}"}
    tns: list[str] = []
    async with aiohttp.ClientSession(base) as http:
        for start in range(0, parcels, 100):
            body = {"shipments": [shipment_body(client_order_id=f"B{start + i}") for i in range(100)]}
            async with http.post("/v1/shipments/batch", json=body, headers=headers) as resp:
                data = await resp.json()
                assert resp.status == 200, data
                tns += [r["shipment"]["tracking_number"] for r in data["results"]]
    return headers, staff, tns


async def ingest(base: str, staff: dict[str, dict], tns: list[str], in_flight: int) -> float:
    plan = [(ORIGIN, "accepted", 0), (HUB, "sorting_in", 1), (HUB, "sorting_out", 2)]
    batches = []
    for office, event, offset in plan:
        when = iso(offset - 60)
        items = [{"tracking_number": tn, "event": event, "office": office, "occurred_at": when,
                  "scan_id": f"{event}-{tn}"} for tn in tns]
        batches += [(office, orjson.dumps({"scans": items[i:i + 1000]})) for i in range(0, len(items), 1000)]
    async with aiohttp.ClientSession(base) as http:
        async def send(office: str, body: bytes) -> None:
            async with http.post("/v1/scans/batch", data=body, headers={
                    **staff[office], "Content-Type": "application/json"}) as resp:
                data = orjson.loads(await resp.read())  # the load generator shares the machine: parse cheaply
                assert resp.status == 200 and data["rejected"] == 0, data

        start = time.perf_counter()
        for office, _, _ in plan:  # one event kind at a time: sorting needs the acceptance recorded
            todo = [b for o, b in batches if o == office]
            batches = [(o, b) for o, b in batches if o != office]
            sem = asyncio.Semaphore(in_flight)

            async def limited(body: bytes, office: str = office) -> None:
                async with sem:
                    await send(office, body)

            await asyncio.gather(*(limited(b) for b in todo))
        elapsed = time.perf_counter() - start
    return 3 * len(tns) / elapsed


async def latency(base: str, shop_headers: dict, staff: dict[str, dict], tns: list[str], rate: float,
                  seconds: float, per_request: int) -> tuple[list[float], int]:
    from standardwebhooks import Webhook

    sent: dict[str, float] = {}
    lat: list[float] = []
    after_record: list[float] = []
    verifier: list[Webhook] = []

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        payload = verifier[0].verify(body, dict(request.headers))
        t0 = sent.get(payload["tracking_number"])
        if payload["type"] == "arrived_delivery_office" and t0 is not None:
            lat.append(time.perf_counter() - t0)
            # the part after the gateway recorded the scan (recorded_at is the gateway's wall clock)
            after_record.append(time.time() - datetime.fromisoformat(payload["recorded_at"]).timestamp())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    async with aiohttp.ClientSession(base) as http:
        async with http.post("/v1/webhooks", json={"url": f"http://127.0.0.1:{port}/hook",
                                                   "events": ["arrived_delivery_office"]},
                             headers=shop_headers) as resp:
            verifier.append(Webhook((await resp.json())["secret"]))
        count = int(rate * seconds)
        interval = per_request / rate
        start = time.perf_counter()
        tasks = []

        async def send(chunk: list[str]) -> None:
            now = time.perf_counter()
            for tn in chunk:
                sent[tn] = now
            items = [{"tracking_number": tn, "event": "arrived_delivery_office", "office": DEST,
                      "occurred_at": iso(0), "scan_id": f"adoc-{tn}"} for tn in chunk]
            if per_request == 1:
                async with http.post("/v1/scans", json=items[0], headers=staff[DEST]) as resp:
                    assert resp.status == 201, await resp.text()
            else:
                async with http.post("/v1/scans/batch", json={"scans": items}, headers=staff[DEST]) as resp:
                    assert resp.status == 200 and (await resp.json())["rejected"] == 0

        for i, at in enumerate(range(0, count, per_request)):
            delay = start + i * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(tns[at:at + per_request])))
        await asyncio.gather(*tasks)
        deadline = time.perf_counter() + 10
        while len(lat) < count and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        achieved = count / (time.perf_counter() - start)
    await runner.cleanup()
    if after_record:
        ms = [x * 1000 for x in after_record]
        print(f"  recorded -> webhook (dispatcher and storefront): p50 {pct(ms, 50):.1f} ms, p99 {pct(ms, 99):.1f} ms")
    return lat, int(achieved)


class Probe:
    """CPU time per process (from /proc), the store's commandstats and optional py-spy profiles, per phase."""

    def __init__(self, procs: dict[str, list[int]], redis_url: str, profile: str | None, store_stats: bool) -> None:
        self.procs = procs
        self.redis_url = redis_url
        self.profile = Path(profile) if profile else None
        self.store_stats = store_stats
        self._spies: list[subprocess.Popen] = []

    def _cpu(self) -> dict[str, float]:
        out = {name: cpu_seconds(pids) for name, pids in self.procs.items()}
        out["bench"] = time.process_time()
        return out

    def _commandstats(self) -> dict[str, tuple[int, int]]:
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            stats = client.info("commandstats")
        finally:
            client.close()
        return {k.removeprefix("cmdstat_"): (v["calls"], v["usec"]) for k, v in stats.items()}

    def start(self, phase: str, seconds: float) -> None:
        self._phase = phase
        self._cpu0, self._t0 = self._cpu(), time.perf_counter()
        self._cs0 = self._commandstats() if self.store_stats else {}
        if self.profile:
            self.profile.mkdir(parents=True, exist_ok=True)
            for name, pids in self.procs.items():
                if name == "store":
                    continue
                for n, pid in enumerate(pids):
                    out = self.profile / f"{phase}-{name}{n}.txt"
                    self._spies.append(subprocess.Popen(
                        [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--format", "raw",
                         "--rate", "250", "--duration", str(int(seconds) + 1), "--nonblocking", "-o", str(out)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def stop(self, scans: int) -> dict[str, float]:
        cpu1, wall = self._cpu(), time.perf_counter() - self._t0
        for spy in self._spies:
            spy.send_signal(signal.SIGINT)  # py-spy writes what it has on Ctrl-C
            spy.wait(30)
        self._spies = []
        per = {name: (cpu1[name] - self._cpu0[name]) * 1e6 / scans for name in cpu1}
        self.store_busy = (cpu1["store"] - self._cpu0["store"]) / wall
        print(f"  [{self._phase}] wall {wall:.1f} s, store busy {self.store_busy:.0%} of it; CPU us per scan: "
              + ", ".join(f"{name} {us:.0f}" for name, us in per.items()))
        if self.store_stats:
            cs1 = self._commandstats()
            rows = []
            for cmd, (calls, usec) in cs1.items():
                c0, u0 = self._cs0.get(cmd, (0, 0))
                if calls - c0:
                    rows.append((usec - u0, cmd, calls - c0))
            rows.sort(reverse=True)
            print("  store usec per scan: " + ", ".join(
                f"{cmd} {usec / scans:.1f} ({calls / scans:.2f} calls)" for usec, cmd, calls in rows[:8]))
        return per


async def main_async(args: argparse.Namespace, redis_url: str, base: str, probe: Probe) -> dict:
    shop_headers, staff, tns = await setup_data(redis_url, base, args.parcels)
    probe.start("ingest", 3 * len(tns) / 2000)
    rate = await ingest(base, staff, tns, args.in_flight)
    store_us = probe.stop(3 * len(tns))["store"]
    store_busy = probe.store_busy
    print(f"scan ingest (POST /v1/scans/batch, 1,000 per request, {args.in_flight} in flight): {rate:,.0f} scans/s "
          f"({3 * len(tns):,} scans)")
    need = int(args.rate * args.seconds)
    if need > len(tns):
        raise SystemExit(f"--parcels must be at least rate*seconds = {need}")
    await asyncio.sleep(2)  # the dispatcher drains the ingest's events (no endpoint wanted them)
    probe.start("latency", args.seconds)
    lat, _ = await latency(base, shop_headers, staff, tns, args.rate, args.seconds, args.per_request)
    per = probe.stop(need)
    if lat:
        print(f"  CPU us per delivered webhook: dispatcher {per['dispatcher'] * need / len(lat):.0f}")
    lat_ms = [x * 1000 for x in lat] or [float("nan")]
    print(f"scan-to-webhook latency at {args.rate:,.0f} scans/s for {args.seconds:.0f} s "
          f"({'single scans' if args.per_request == 1 else f'{args.per_request} scans per request'}): "
          f"p50 {pct(lat_ms, 50):.1f} ms, p99 {pct(lat_ms, 99):.1f} ms, max {max(lat_ms):.1f} ms, "
          f"{len(lat):,}/{need:,} delivered")
    return {"ingest": rate, "store_us": store_us, "store_busy": store_busy, "p50": pct(lat_ms, 50),
            "p99": pct(lat_ms, 99), "delivered": len(lat), "need": need}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parcels", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--per-request", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="gateway processes sharing the port")
    parser.add_argument("--in-flight", type=int, default=16, help="ingest requests (1,000 scans each) at once")
    parser.add_argument("--dispatchers", type=int, default=1, help="webhook dispatcher processes")
    parser.add_argument("--profile", metavar="DIR", help="py-spy profiles (collapsed stacks) per phase and process")
    parser.add_argument("--store-stats", action="store_true", help="the store's commandstats per scan")
    parser.add_argument("--store-allocator", choices=("auto", "libc"), default="auto",
                        help="auto: jemalloc preloaded where the system has it (as the gateway runs it); "
                        "libc: the built-in one")
    parser.add_argument("--serve", nargs=2, metavar=("REDIS_URL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    from kernel.store.client import EmbeddedStore

    with tempfile.TemporaryDirectory(prefix="barid-bench-") as tmp:
        store = EmbeddedStore(Path(tmp), allocator=args.store_allocator)
        redis_url = store.start()
        malloc = store.read_state()["malloc"]
        port = _free_port()
        env = {**os.environ, "REDIS_URL": redis_url, "BARID_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
               "PYTHONPATH": str(ROOT)}
        gateways = [subprocess.Popen([sys.executable, __file__, "--serve", redis_url, str(port)], env=env)
                    for _ in range(args.workers)]
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
        logs = [open(Path(args.profile) / f"dispatcher{n}.log", "wb") if args.profile else subprocess.DEVNULL
                for n in range(args.dispatchers)]
        dispatchers = [subprocess.Popen([sys.executable, "-m", "tracking", "dispatch"], env=env, cwd=ROOT,
                                        stderr=log) for log in logs]
        procs = gateways + dispatchers
        probe = Probe({"gateway": [p.pid for p in gateways], "dispatcher": [p.pid for p in dispatchers],
                       "store": [store.pid or 0]}, redis_url, args.profile, args.store_stats)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                        break
                except OSError:
                    time.sleep(0.1)
            time.sleep(0.5 * args.workers)  # every worker bound the port
            import uvloop

            res = uvloop.run(main_async(args, redis_url, base, probe))
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(10)
            store.stop()
    print()
    print("| workers | in flight | dispatchers | store malloc | ingest scans/s | store µs/scan | store busy "
          "| rate/s | p50 ms | p99 ms | delivered |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.workers} | {args.in_flight} | {args.dispatchers} | {malloc} | {res['ingest']:,.0f} | "
          f"{res['store_us']:.0f} | {res['store_busy']:.0%} | {args.rate:,.0f} | "
          f"{res['p50']:.1f} | {res['p99']:.1f} | {res['delivered']:,}/{res['need']:,} |")


if __name__ == "__main__":
    main()
