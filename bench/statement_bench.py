"""Statement streaming benchmark: a remittance of 100,000 lines read over HTTP as CSV and as JSON, time to the last
byte, against the issue's target of 2 s (issue 23: "a 100,000-line statement streams within 2 s").

    .venv/bin/python bench/statement_bench.py [--lines 100000] [--runs 3]

Real and on this machine: the embedded store and the embedded PostgreSQL (money.pg) in a temporary directory, the
whole gateway app (gateway.web_app.create_app) on a loopback port, a shop's API key, and an aiohttp client that
reads the body as it arrives. The remittance and its lines are written as the remittance run writes them
(migration 0003's tables, lines COPYed in). Each run reports the time to the first and the last byte and the bytes;
the process's peak RSS before and after the runs shows the rows are not all held at once.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from aiohttp import web  # noqa: E402

from booking.shops import ShopRegistry  # noqa: E402
from gateway.web_app import create_app  # noqa: E402
from kernel.postal.timeutil import IRAN_TIME  # noqa: E402
from kernel.settings import Config  # noqa: E402
from kernel.store.client import async_client  # noqa: E402
from money.migrate import migrate  # noqa: E402
from money.remittance import remittance_id  # noqa: E402

FEES = (350_000, 62_500, 5_000, 37_350)
COLLECTED = 12_500_000


async def fill(dsn: str, shop_id: int, n: int) -> str:
    period = date.today()
    rid = remittance_id(shop_id, period)
    net = COLLECTED - sum(FEES)
    start = datetime.now(IRAN_TIME) - timedelta(days=10)
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
        run = await conn.fetchval("INSERT INTO remittance_runs (as_of, made_by) VALUES ($1, 'bench') RETURNING id",
                                  period)
        await conn.execute(
            "INSERT INTO remittances (id, run_id, shop_id, period, status, count, collected, shipping, cod_fee, "
            "insurance, vat, total) VALUES ($1, $2, $3, $4, 'paid', $5, $6, $7, $8, $9, $10, $11)",
            rid, run, shop_id, period, n, n * COLLECTED, *(n * f for f in FEES), n * net)
        await conn.copy_records_to_table(
            "remittance_lines", records=[(f"EB{i:09d}IR", rid, start + timedelta(seconds=i), COLLECTED, *FEES, net)
                                         for i in range(n)],
            columns=("tracking_number", "remittance_id", "delivered_at", "collected", "shipping", "cod_fee",
                     "insurance", "vat", "net"))
        await conn.execute("ANALYZE remittance_lines")
    finally:
        await conn.close()
    return rid


async def read(session: aiohttp.ClientSession, url: str, headers: dict) -> tuple[float, float, int, int]:
    t0 = time.perf_counter()
    first = None
    size = 0
    async with session.get(url, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        async for chunk in resp.content.iter_any():
            if first is None:
                first = time.perf_counter() - t0
            size += len(chunk)
        lines = int(resp.headers["X-Line-Count"])
    return first or 0.0, time.perf_counter() - t0, size, lines


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    from kernel.store.client import EmbeddedStore
    from money.pg import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="barid-statement-bench-") as tmp:
        store = EmbeddedStore(Path(tmp) / "store", appendfsync="everysec")
        url = store.start()
        pg = EmbeddedPostgres(Path(tmp) / "pg", "nobody")
        dsn = pg.start()
        try:
            redis = async_client(url)
            shop, key = await ShopRegistry(redis).create("statement-bench")
            await redis.aclose()
            t = time.perf_counter()
            rid = await fill(dsn, shop.id, args.lines)
            print(f"wrote a remittance of {args.lines:,} lines in {time.perf_counter() - t:.1f} s")
            runner = web.AppRunner(create_app(Config(data_dir=Path(tmp), access_log=False, database_dsn=dsn), url))
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            base = f"http://127.0.0.1:{runner.addresses[0][1]}"
            headers = {"Authorization": f"Bearer {key}"}
            try:
                async with aiohttp.ClientSession() as session:
                    await read(session, f"{base}/v1/remittances/{rid}/lines?format=csv", headers)  # warm: pool, plan
                    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                    for fmt in ("csv", "json"):
                        runs = [await read(session, f"{base}/v1/remittances/{rid}/lines?format={fmt}", headers)
                                for _ in range(args.runs)]
                        total = [r[1] for r in runs]
                        print(f"{fmt}: {runs[0][3]:,} lines, {runs[0][2] / 1e6:.1f} MB; first byte "
                              f"{statistics.median(r[0] for r in runs) * 1000:.0f} ms; last byte median "
                              f"{statistics.median(total):.2f} s (best {min(total):.2f}, worst {max(total):.2f}; "
                              f"target 2 s)")
                    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                    print(f"peak RSS of the process (server and client): {rss0 / 1024:.0f} MB before the timed runs, "
                          f"{rss1 / 1024:.0f} MB after")
            finally:
                await runner.cleanup()
        finally:
            pg.stop()
            store.stop()


if __name__ == "__main__":
    asyncio.run(main())
