"""Remittance run benchmark: 10,000 shops with 100 delivered, collected COD parcels each, remitted in one run.

    .venv/bin/python bench/remittance_bench.py [--shops 10000] [--parcels 100] [--dir DIR]

``--dir`` keeps the servers' data there: a second bench with the same sizes reuses the filled ledger (its
remittance tables emptied first) instead of filling it again.

Real and on this machine: the embedded store (the shops' records, read by the run as in production) and the
embedded PostgreSQL (money.pg) in a temporary directory, migrated. The ledger is filled directly with COPY (the
setup is not what is measured): per parcel its booking posting (five entries: the shop's payable, shipping, COD
fee, insurance, VAT), its cod_collected posting (two entries), its ``parcels`` and ``deliveries`` rows, as the
ledger workers write them. Triggers are off for the setup only (``session_replication_role = replica``).

Then, timed: the run (``money.payouts.run``: the settled-lines query, make_remittance per shop, the remittances,
lines and history written), a second run on the same day (nothing new: idempotent), and the run's pain.001 file
(built, validated against the XSD, its remittances marked sent). Target (issue 23): the run within 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from kernel.postal.timeutil import IRAN_TIME  # noqa: E402
from kernel.store import keys  # noqa: E402
from money import payout_ops, payouts  # noqa: E402
from money.accounts import example_bank  # noqa: E402
from money.migrate import migrate  # noqa: E402

OFFICE = "IFN-01"
FEES = (("revenue:shipping", 450_000), ("revenue:cod_fee", 120_000), ("revenue:insurance", 25_000),
        ("vat:payable", 59_500))
TOTAL_FEES = sum(a for _, a in FEES)
VALUE = 12_000_000
CHUNK = 50_000  # parcels per COPY round (memory stays small)


async def fill(conn: asyncpg.Connection, shops: int, per_shop: int, delivered: datetime) -> None:
    await conn.execute("SET session_replication_role = replica")
    n = shops * per_shop
    for start in range(0, n, CHUNK):
        postings, entries, parcels, deliveries = [], [], [], []
        for i in range(start, min(n, start + CHUNK)):
            shop = 1 + i // per_shop
            tn = f"EB{i:09d}IR"
            at = delivered + timedelta(seconds=i % 3600)
            book_id, cod_id = 2 * i + 1, 2 * i + 2
            postings.append((book_id, f"evt_{tn}_1", "booking", shop, tn, None, None, at - timedelta(days=2),
                             (at - timedelta(days=2)).astimezone(IRAN_TIME).date()))
            postings.append((cod_id, f"evt_{tn}_9", "cod_collected", shop, tn, OFFICE, f"p-{i % 40}", at,
                             at.astimezone(IRAN_TIME).date()))
            entries.append((book_id, 1, f"shop:{shop}:payable", TOTAL_FEES))
            entries.extend((book_id, line, acc, -amt) for line, (acc, amt) in enumerate(FEES, 2))
            entries.append((cod_id, 1, f"postman:{OFFICE}:p-{i % 40}:cash", VALUE))
            entries.append((cod_id, 2, f"shop:{shop}:payable", -VALUE))
            parcels.append((tn, shop, "cod", VALUE, OFFICE))
            deliveries.append((tn, f"evt_{tn}_8", shop, OFFICE, at.astimezone(IRAN_TIME).date(), VALUE, at))
        await conn.copy_records_to_table("postings", records=postings, columns=(
            "id", "event_id", "kind", "shop_id", "tracking_number", "office", "postman", "occurred_at",
            "business_date"))
        await conn.copy_records_to_table("entries", records=entries,
                                         columns=("posting_id", "line", "account", "amount"))
        await conn.copy_records_to_table("parcels", records=parcels, columns=(
            "tracking_number", "shop_id", "payment_type", "cod_amount", "delivering_office"))
        await conn.copy_records_to_table("deliveries", records=deliveries, columns=(
            "tracking_number", "event_id", "shop_id", "office", "business_date", "cod_amount", "delivered_at"))
    await conn.execute("SELECT setval('postings_id_seq', $1)", 2 * n)
    await conn.execute("SET session_replication_role = origin")
    # as autovacuum leaves a live ledger: statistics, and the new rows' hint bits and visibility map set (else
    # the first query to read them pays for writing them)
    await conn.execute("VACUUM (ANALYZE)")


async def shops_in_store(redis, shops: int) -> None:
    bank = example_bank()
    pipe = redis.pipeline(transaction=False)
    for sid in range(1, shops + 1):
        pipe.hset(keys.shop(sid), mapping={"name": f"فروشگاه {sid}", "status": "active", **bank})
    await pipe.execute()


async def bench(url: str, dsn: str, shops: int, per_shop: int) -> dict:
    from kernel.store.client import async_client

    redis = async_client(url)
    conn = await asyncpg.connect(dsn)
    await migrate(conn)
    as_of = payouts.today() + timedelta(days=14)
    t = time.perf_counter()
    if await conn.fetchval("SELECT count(*) FROM deliveries") != shops * per_shop:
        await fill(conn, shops, per_shop, datetime.now(IRAN_TIME) - timedelta(days=1))
    await conn.execute("TRUNCATE remittance_history, remittance_lines, remittances, remittance_runs")
    await shops_in_store(redis, shops)
    setup_s = time.perf_counter() - t
    await conn.close()
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        t = time.perf_counter()
        first = await payouts.run(pool, payouts.store_payees(redis), as_of)
        run_s = time.perf_counter() - t
        print(f"run: {run_s:.1f} s, {first['lines']:,} lines, {first['remittances']:,} remittances, phases "
              f"{first['phase_seconds']}", flush=True)
        t = time.perf_counter()
        second = await payouts.run(pool, payouts.store_payees(redis), as_of)
        again_s = time.perf_counter() - t
        t = time.perf_counter()
        body, summary = await payout_ops.payout_file(pool, first["run_id"], "pain001", payouts.store_names(redis), "bench")
        file_s = time.perf_counter() - t
    finally:
        await pool.close()
        await redis.aclose()
    assert first["lines"] == shops * per_shop and first["remittances"] == shops and second["lines"] == 0
    assert first["total"] == shops * per_shop * (VALUE - TOTAL_FEES) == summary["total"]
    return {"setup_s": setup_s, "run_s": run_s, "again_s": again_s, "file_s": file_s, "file_bytes": len(body),
            "first": first}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shops", type=int, default=10_000)
    ap.add_argument("--parcels", type=int, default=100, help="delivered COD parcels per shop")
    ap.add_argument("--dir", type=Path, help="keep the servers' data here (default: a temporary directory)")
    args = ap.parse_args()

    from kernel.store.client import EmbeddedStore
    from money.pg import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="barid-remit-bench-") as tmp:
        base = args.dir or Path(tmp)
        store = EmbeddedStore(base / "store", appendfsync="everysec")
        url = store.start()
        pg = EmbeddedPostgres(base / "pg", "nobody")
        pg.start()
        try:
            admin = await asyncpg.connect(pg.dsn(pg.port, "postgres"))
            if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = 'bench_remit'"):
                await admin.execute("CREATE DATABASE bench_remit")
            await admin.close()
            r = await bench(url, pg.dsn(pg.port, "bench_remit"), args.shops, args.parcels)
        finally:
            pg.stop()
            store.stop()
    f = r["first"]
    print(f"setup (COPY, not timed): {r['setup_s']:.1f} s")
    print("| shops x parcels | lines | run | second run (nothing new) | pain.001 file (build + XSD + sent) |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    print(f"| {args.shops:,} x {args.parcels} | {f['lines']:,} | {r['run_s']:.1f} s | {r['again_s']:.1f} s | "
          f"{r['file_s']:.1f} s ({r['file_bytes'] / 1e6:.1f} MB) |")


if __name__ == "__main__":
    asyncio.run(main())
