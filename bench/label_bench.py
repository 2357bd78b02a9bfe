"""Label benchmark: one 100x150 PDF label over HTTP (p50, p99), a bulk job of A4 2-up labels over HTTP (from
POST to the file downloaded), and labels rendered per second on one core.

    .venv/bin/python bench/label_bench.py [--requests 200] [--labels 300] [--job 500]

Real and on this machine: an embedded store, the gateway app on a loopback port (aiohttp, as the tests run it),
a shop and a booked parcel; the HTTP phase asks for the same parcel's label ``--requests`` times, one at a time,
without If-None-Match (every answer is rendered). The rendering phase draws ``--labels`` labels per format in this
process, each with its own tracking number and receiver (so no text is served from a cache), and, as the floor, the
same PDF page with only the barcode drawn (what the PDF library costs with no text at all).
The job phase books ``--job`` parcels in one batch, posts a label job for them (A4 2-up PDF) and times it until the
file is downloaded: the gateway process's own label worker renders it.
Targets (issue 22): 200 PDF and 1,000 ZPL labels a second per core; a 500-label A4 job within 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handover.labels import Label, render_pdf, render_zpl  # noqa: E402
from tests.conftest import TEHRAN_SENDER, shipment_body  # noqa: E402


def _pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


async def http_phase(n: int, job_size: int) -> tuple[float, float, float]:
    import aiohttp
    import redis.asyncio as aioredis
    from aiohttp import web

    from booking.shops import ShopRegistry
    from gateway.web_app import create_app
    from kernel.settings import Config
    from kernel.store.client import EmbeddedStore
    from money.accounts import example_bank

    with tempfile.TemporaryDirectory() as tmp:
        store = EmbeddedStore(Path(tmp) / "store")
        url = store.start()
        try:
            r = aioredis.Redis.from_url(url)
            _, key = await ShopRegistry(r).create("bench", sender=TEHRAN_SENDER, rate_per_s=10_000,
                                                  rate_burst=10_000, bank=example_bank())
            await r.aclose()
            runner = web.AppRunner(create_app(Config(data_dir=Path(tmp), access_log=False), url))
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]
            base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {key}"}
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{base}/v1/shipments", json=shipment_body(), headers=headers) as resp:
                    tn = (await resp.json())["tracking_number"]
                times = []
                for i in range(n + 10):
                    t = time.perf_counter()
                    async with http.get(f"{base}/v1/shipments/{tn}/label?format=pdf&size=100x150",
                                        headers=headers) as resp:
                        assert resp.status == 200, await resp.text()
                        await resp.read()
                    if i >= 10:  # the first few warm the font and code paths
                        times.append(time.perf_counter() - t)
                job_s = await job_phase(http, base, headers, job_size) if job_size else float("nan")
            await runner.cleanup()
        finally:
            store.stop()
    return _pct(times, 50) * 1000, _pct(times, 99) * 1000, job_s


async def job_phase(http, base: str, headers: dict, n: int) -> float:
    tns: list[str] = []
    while len(tns) < n:
        items = [shipment_body() for _ in range(min(500, n - len(tns)))]
        async with http.post(f"{base}/v1/shipments/batch", json={"shipments": items}, headers=headers) as resp:
            assert resp.status in (200, 201, 207), await resp.text()
            tns += [r["shipment"]["tracking_number"] for r in (await resp.json())["results"] if r["result"] == "booked"]
    t = time.perf_counter()
    async with http.post(f"{base}/v1/label-jobs", json={"tracking_numbers": tns, "size": "a4-2up"},
                         headers=headers) as resp:
        assert resp.status == 202, await resp.text()
        job = await resp.json()
    while job["status"] not in ("done", "failed"):
        await asyncio.sleep(0.02)
        async with http.get(f"{base}/v1/label-jobs/{job['job_id']}", headers=headers) as resp:
            job = await resp.json()
    assert job["status"] == "done" and job["printed"] == n, job
    async with http.get(f"{base}/v1/label-jobs/{job['job_id']}/file", headers=headers) as resp:
        size = len(await resp.read())
    elapsed = time.perf_counter() - t
    print(f"label job: {n} labels, A4 2-up PDF of {size / 1e6:.1f} MB")
    return elapsed


def _labels(n: int) -> list[Label]:
    doc = {**shipment_body(), "tracking_number": "", "sender": {**TEHRAN_SENDER},
           "created_at": "2026-12-01T10:00:00.000Z", "delivering_office": "IFN-01"}
    doc["receiver"] = {**doc["receiver"], "phone": "09131234567", "postal_code": "8138634561"}
    base = Label.from_shipment(doc, "", "اداره پست مرکزی اصفهان", ("THR-06", "THR-HUB", "IFN-HUB", "IFN-01"))
    return [replace(base, tracking_number=f"EP{i:09d}IR", tracking_url=f"https://barid.example/track/EP{i:09d}IR",
                    receiver_name=f"گیرنده شماره {i}", receiver_address=f"خیابان چهارباغ، کوچه {i}، پلاک {i % 97}")
            for i in range(n)]


def per_second(render, labels: list[Label]) -> float:
    for lb in labels[:5]:
        render(lb)
    t = time.process_time()
    for lb in labels:
        render(lb)
    return len(labels) / (time.process_time() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--labels", type=int, default=300)
    ap.add_argument("--job", type=int, default=500)
    args = ap.parse_args()
    p50, p99, job_s = asyncio.run(http_phase(args.requests, args.job))
    print(f"HTTP 100x150 PDF label: p50 {p50:.1f} ms, p99 {p99:.1f} ms ({args.requests} requests)")
    if args.job:
        print(f"HTTP label job, {args.job} labels A4 2-up, POST to file downloaded: {job_s:.2f} s")
    labels = _labels(args.labels)
    rates = {
        "PDF 100x150": per_second(lambda lb: render_pdf([lb], "100x150"), labels),
        "ZPL 100x150": per_second(lambda lb: render_zpl([lb], "100x150"), _labels(args.labels * 2)[args.labels:]),
        "floor: PDF page, barcode only": per_second(lambda lb: render_pdf([lb], "100x150", barcode_only=True),
                                                    labels),
        # every text field served from the cache: what assembling a ZPL label costs at best
        "floor: ZPL of one same label": per_second(lambda lb: render_zpl([labels[0]], "100x150"), labels),
    }
    for name, rate in rates.items():
        print(f"{name}: {rate:,.0f} labels/s per core (CPU time)")


if __name__ == "__main__":
    main()
