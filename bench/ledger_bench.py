"""Ledger ingest benchmark: outbox events posted into PostgreSQL per second, against the raw ceiling of the same
rows written with COPY, in the same run and on the same server.

    .venv/bin/python bench/ledger_bench.py [--events 100000] [--batch 200] [--workers 2]

Real and on this machine: the embedded store and the embedded PostgreSQL (money.pg) in a temporary directory.
Half of the events are bookings (each needs its parcel's booking document from the store, as in production: the
documents are written first), half cod_collected scans (cash, each to one of 40 postmen). They are appended to the
partition outboxes in the gateway's own entry format (runs of ``keys.OUTBOX_RUN`` events), then:

* ledger: ``--workers`` ledger workers (asyncio tasks of one process each, as separate processes would share the
  server's cores anyway) drain the ``ledger`` group: read, price, one transaction per batch with the UNIQUE event
  ids, the deferred balance trigger and the append-only triggers, XACK;
* write only: the same postings through ``money.ledger.write`` alone (no store), one transaction per batch;
* COPY ceiling: the same posting and entry rows COPYed into tables of the same columns with no index, trigger or
  constraint (what PostgreSQL can take at all on this machine).

Target (issue 23): at least 20,000 events/s. Each rate is printed with its share of the same run's ceiling (in
brackets): the machine's other load moves every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import orjson  # noqa: E402

from kernel.store import keys  # noqa: E402
from money import ledger  # noqa: E402
from money.migrate import migrate  # noqa: E402
from money.rules import posting_for  # noqa: E402
from money.worker import LedgerWorker, ensure_groups  # noqa: E402

OFFICE = "IFN-01"
PRICE = {"base": 450_000, "cod_fee": 120_000, "insurance": 25_000, "vat": 59_500, "total": 654_500,
         "currency": "IRR"}


SERVERS: list[int] = []  # the store's and PostgreSQL's pids, set once they run
CPU: dict[str, float] = {}  # phase -> CPU microseconds per event


def cpu_seconds() -> float:
    """CPU time used so far by this process, the store and PostgreSQL (with its backends, live or exited): the
    work a phase costs, which other load on the machine moves far less than its wall-clock rate."""
    tick = os.sysconf("SC_CLK_TCK")
    ru = resource.getrusage(resource.RUSAGE_SELF)
    total = ru.ru_utime + ru.ru_stime
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            f = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) in SERVERS:  # with its exited children's (cutime, cstime)
            total += sum(int(x) for x in f[11:15]) / tick
        elif int(f[1]) in SERVERS:
            total += (int(f[11]) + int(f[12])) / tick
    return total


def make_events(n: int) -> tuple[list[dict], dict[tuple[int, str], bytes]]:
    """n events (bookings and collections of n/2 parcels over 640 shops) and the bookings' documents."""
    now = datetime.now(timezone.utc) - timedelta(hours=1)
    events, docs = [], {}
    for i in range(n // 2):
        shop = 1 + i % 640
        tn = f"EB{i:09d}IR"
        at = (now + timedelta(milliseconds=i)).isoformat()
        docs[(shop, tn)] = orjson.dumps({"tracking_number": tn, "shop_id": shop, "price": PRICE,
                                         "payment": {"type": "cod", "goods_value": 12_000_000},
                                         "delivering_office": OFFICE})
        events.append({"id": f"evt_{tn}_1", "type": "booked", "tracking_number": tn, "shop_id": shop,
                       "status": "pre_transit", "occurred_at": at, "recorded_at": at, "office": None, "data": {}})
        events.append({"id": f"evt_{tn}_9", "type": "cod_collected", "tracking_number": tn, "shop_id": shop,
                       "status": "delivered", "occurred_at": at, "recorded_at": at, "office": OFFICE,
                       "data": {"amount": 12_000_000, "method": "cash", "postman": f"p-{i % 40}"}})
    return events, docs


async def fill_store(redis, events: list[dict], docs: dict) -> None:
    pipe = redis.pipeline(transaction=False)
    for (shop, tn), doc in docs.items():
        pipe.hset(keys.parcel(shop, tn), "doc", doc)
    await pipe.execute()
    by_partition: dict[int, list[dict]] = {}
    for e in events:
        by_partition.setdefault(keys.partition_of(e["shop_id"]), []).append(e)
    pipe = redis.pipeline(transaction=False)
    for p, evs in by_partition.items():
        run: list = []
        for e in evs:  # runs of one shop's events, as the scan script writes them
            if run and (len(run) // 4 == keys.OUTBOX_RUN or run[1] != e["shop_id"]):
                pipe.execute_command("XADD", keys.partition_events(p), "*", *run)
                run = []
            if not run:
                run = ["s", e["shop_id"]]
            run += ["t", e["tracking_number"], "e", orjson.dumps(e)]
        if run:
            pipe.execute_command("XADD", keys.partition_events(p), "*", *run)
    await pipe.execute()


async def ledger_phase(url: str, dsn: str, events: list[dict], docs: dict, workers: int, batch: int) -> float:
    from kernel.store.client import async_client

    redis = async_client(url)
    pool = await asyncpg.create_pool(dsn, min_size=workers, max_size=workers + 1)
    async with pool.acquire() as conn:
        await migrate(conn)
    await ensure_groups(redis)
    await fill_store(redis, events, docs)
    ws = [LedgerWorker(redis, pool, f"bench-{i}", read_count=max(1, batch // keys.OUTBOX_RUN // 8), url=url)
          for i in range(workers)]
    cpu0, start = cpu_seconds(), time.perf_counter()
    await asyncio.gather(*(w.drain() for w in ws))
    elapsed = time.perf_counter() - start
    CPU["ledger"] = (cpu_seconds() - cpu0) / len(events) * 1e6
    async with pool.acquire() as conn:
        posted = await conn.fetchval("SELECT count(*) FROM postings")
    assert posted == len(events), (posted, len(events))
    for w in ws:
        w.close()
    await pool.close()
    await redis.aclose()
    return len(events) / elapsed


async def write_phase(dsn: str, events: list[dict], docs: dict, batch: int) -> float:
    postings = [posting_for(e, orjson.loads(docs[(e["shop_id"], e["tracking_number"])])
                            if e["type"] == "booked" else None) for e in events]
    conn = await asyncpg.connect(dsn)
    await migrate(conn)
    cpu0, start = cpu_seconds(), time.perf_counter()
    for i in range(0, len(postings), batch):
        await ledger.write(conn, postings[i:i + batch])
    elapsed = time.perf_counter() - start
    CPU["write"] = (cpu_seconds() - cpu0) / len(events) * 1e6
    await conn.close()
    return len(events) / elapsed


async def copy_phase(dsn: str, events: list[dict], docs: dict) -> float:
    postings = [posting_for(e, orjson.loads(docs[(e["shop_id"], e["tracking_number"])])
                            if e["type"] == "booked" else None) for e in events]
    conn = await asyncpg.connect(dsn)
    await conn.execute("CREATE TABLE raw_postings (id bigint, event_id text, kind text, shop_id bigint, "
                       "tracking_number text, office text, postman text, occurred_at timestamptz, "
                       "business_date date, reason text, made_by text)")
    await conn.execute("CREATE TABLE raw_entries (posting_id bigint, account text, amount bigint, rrn text)")
    rows = [(i, p.event_id, p.kind, p.shop_id, p.tracking_number, p.office, p.postman, p.occurred_at,
             p.business_date, p.reason, p.made_by) for i, p in enumerate(postings)]
    entries = [(i, acc, amt, rrn) for i, p in enumerate(postings) for acc, amt, rrn in p.entries]
    cpu0, start = cpu_seconds(), time.perf_counter()
    async with conn.transaction():
        await conn.copy_records_to_table("raw_postings", records=rows)
        await conn.copy_records_to_table("raw_entries", records=entries)
    elapsed = time.perf_counter() - start
    CPU["copy"] = (cpu_seconds() - cpu0) / len(events) * 1e6
    await conn.close()
    return len(events) / elapsed


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=2000, help="events per transaction (about)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from kernel.store.client import EmbeddedStore
    from money.pg import EmbeddedPostgres

    events, docs = make_events(args.events)
    with tempfile.TemporaryDirectory(prefix="barid-ledger-bench-") as tmp:
        store = EmbeddedStore(Path(tmp) / "store", appendfsync="everysec")
        url = store.start()
        pg = EmbeddedPostgres(Path(tmp) / "pg", "nobody")
        pg.start()
        SERVERS.extend([store.pid, int((pg.pgdata / "postmaster.pid").read_text().split()[0])])
        try:
            admin = await asyncpg.connect(pg.dsn(pg.port, "postgres"))
            for name in ("bench_ledger", "bench_write", "bench_copy"):
                await admin.execute(f"CREATE DATABASE {name}")
            await admin.close()
            ledger_rate = await ledger_phase(url, pg.dsn(pg.port, "bench_ledger"), events, docs, args.workers,
                                             args.batch)
            write_rate = await write_phase(pg.dsn(pg.port, "bench_write"), events, docs, args.batch)
            copy_rate = await copy_phase(pg.dsn(pg.port, "bench_copy"), events, docs)
        finally:
            pg.stop()
            store.stop()
    print("| events | ledger workers (outbox -> PostgreSQL) | ledger.write alone | COPY ceiling |")
    print("| ---: | ---: | ---: | ---: |")
    print(f"| {args.events:,} | {ledger_rate:,.0f} events/s ({ledger_rate / copy_rate:.0%}) "
          f"| {write_rate:,.0f} events/s ({write_rate / copy_rate:.0%}) | {copy_rate:,.0f} events/s |")
    print(f"| CPU per event (all processes) | {CPU['ledger']:.0f} µs | {CPU['write']:.0f} µs | {CPU['copy']:.0f} µs |")

if __name__ == "__main__":
    asyncio.run(main())
