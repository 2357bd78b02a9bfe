"""What a booking and a scan cost the store, in instructions: a figure this machine's drifting speed cannot move.

The store is single-threaded, so its work per scan bounds scan ingest (see tracking_bench). Timings here swing by
a third between minutes; callgrind counts the instructions the server executes instead, which repeat to within a
fraction of a percent. The store runs under ``valgrind --tool=callgrind`` with the gateway's settings (AOF,
``appendfsync always``; valgrind brings its own view of the allocator, so allocator choices do not show here),
and this process drives it through the gateway's own code (BookingService, ScanService, the micro-batcher)
without HTTP. Three runs, each counted whole: start and stop only, bookings, bookings plus scans; the
differences give instructions per booking and per scan.

    .venv/bin/python bench/store_cost.py [--parcels 2000]

Needs valgrind (Debian package ``valgrind``). Takes about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import redis
import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.callgrind import require_valgrind, total_instructions
from booking.auth import ShopDirectory
from booking.service import BookingService
from booking.shops import ShopRegistry
from booking.validation import RequestValidator
from kernel.postal.network import ParcelNetwork
from kernel.postal.offices import load_registry
from kernel.postal.tariff import Limits, Tariff
from kernel.postal.timeutil import iso_ms
from kernel.settings import Config, TrackingConfig
from kernel.store.batcher import Batcher
from kernel.store.client import find_server_binary
from money.accounts import example_bank
from tests.conftest import TEHRAN_SENDER, shipment_body
from tracking.scans import Scan, ScanService
from tracking.staff import Staff

SCAN_ROUNDS = (("THR-01", "accepted"), ("THR-HUB", "sorting_in"), ("THR-HUB", "sorting_out"))


class _Headers:
    def __init__(self, key: str) -> None:
        self.headers = {"Authorization": f"Bearer {key}"}


async def drive(url: str, parcels: int, scans: bool) -> None:
    """Book ``parcels`` one per request, 64 at a time (as the gateway's batcher sees them); then scan each
    through SCAN_ROUNDS in requests of 1,000."""
    client = aioredis.Redis.from_url(url)
    config = Config()
    limits = Limits.load(config.limits_path)
    batcher = Batcher(client, url)
    booking = BookingService(client, batcher, limits, Tariff.load(config.tariff_path, limits), ParcelNetwork(),
                             default_rate=1e6, default_burst=10**6, idempotency_ttl_s=3600, serial_block=1000)
    _, key = await ShopRegistry(client).create("cost", sender=TEHRAN_SENDER, rate_per_s=1e6, rate_burst=10**6,
                                              bank=example_bank())
    caller = await ShopDirectory(client).caller(_Headers(key))
    validator = RequestValidator(limits)
    sem = asyncio.Semaphore(64)

    async def book(i: int) -> str:
        req, _ = validator.shipment(shipment_body(client_order_id=f"C{i}"), caller.shop.sender)
        async with sem:
            views, _ = await booking.book(caller, [req], idempotency_key=None, request_fp="", render=None)
        return orjson.loads(views[0])["tracking_number"]

    tns = await asyncio.gather(*(book(i) for i in range(parcels)))
    if scans:
        service = ScanService(client, load_registry(), TrackingConfig(), batcher)
        start = time.time()
        for n, (office, event) in enumerate(SCAN_ROUNDS):
            when = start + n
            batch = [Scan(tn, event, office, int(when * 1000), iso_ms(when), f"{event}-{tn}",
                          {"scan_id": f"{event}-{tn}", "emsevt": None}) for tn in tns]
            for i in range(0, len(batch), 1000):
                results = await service.record(Staff(1, office, "cost"), batch[i:i + 1000])
                assert all(isinstance(r, dict) for r in results), results[:1]
    batcher.close()
    await client.aclose()


def counted_run(parcels: int, scans: bool) -> int:
    """Instructions the store executed from start to shutdown while ``drive`` ran against it."""
    with tempfile.TemporaryDirectory(prefix="barid-cost-") as tmp:
        sock, out = f"{tmp}/store.sock", f"{tmp}/callgrind.out"
        server = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", find_server_binary(), "--dir", tmp,
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--port", "0", "--unixsocket", sock],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"unix://{sock}"
        deadline = time.monotonic() + 60
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except (redis.ConnectionError, FileNotFoundError):
                if time.monotonic() > deadline or server.poll() is not None:
                    server.kill()
                    raise SystemExit("the store did not start under valgrind") from None
                time.sleep(0.2)
        try:
            if parcels:
                asyncio.run(drive(url, parcels, scans))
        finally:
            server.terminate()  # SIGTERM: the server shuts down cleanly and callgrind writes its counts
            server.wait(120)
        return total_instructions(Path(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=2000)
    args = ap.parse_args()
    require_valgrind()
    idle = counted_run(0, scans=False)
    booked = counted_run(args.parcels, scans=False)
    scanned = counted_run(args.parcels, scans=True)
    n_scans = args.parcels * len(SCAN_ROUNDS)
    print(f"\nstore instructions (callgrind), {args.parcels:,} single bookings, then {n_scans:,} scans "
          f"in batches of 1,000")
    print(f"{'per booking':>12} {'per scan':>9}")
    print(f"{(booked - idle) / args.parcels:>12,.0f} {(scanned - booked) / n_scans:>9,.0f}")


if __name__ == "__main__":
    main()
