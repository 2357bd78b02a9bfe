"""The ledger workers: outbox events of real bookings and scans, posted into the real PostgreSQL exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import datetime

import asyncpg

from kernel.postal.timeutil import IRAN_TIME
from money import ledger
from money.rules import CARD, COD_FEE, INSURANCE, SHIPPING, VAT, office_cash, postman_cash, shop_payable
from tests.money.conftest import OFFICE, book, isfahan, scan


async def _postings(pool, tn: str) -> list[tuple[str, dict[str, int]]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT p.id, p.kind, e.account, e.amount, e.rrn FROM postings p JOIN entries e "
                                "ON e.posting_id = p.id WHERE p.tracking_number = $1 ORDER BY p.id, e.line", tn)
    out: dict[int, tuple[str, dict[str, int]]] = {}
    for r in rows:
        out.setdefault(r["id"], (r["kind"], {}))[1][r["account"] + (f"|{r['rrn']}" if r["rrn"] else "")] = r["amount"]
    return list(out.values())


async def test_a_booking_posts_its_quoted_fees_to_the_shop(client, shop, worker, pool) -> None:
    (doc,) = await book(client, shop, [isfahan(0)])
    await worker.drain()
    price = doc["price"]
    assert price["cod_fee"] and price["insurance"] and price["vat"]
    assert await _postings(pool, doc["tracking_number"]) == [("booking", {
        shop_payable(shop.id): price["total"], SHIPPING: -price["base"], COD_FEE: -price["cod_fee"],
        INSURANCE: -price["insurance"], VAT: -price["vat"]})]


async def test_cash_and_card_collections_and_the_shop_is_credited(client, shop, staff, worker, pool,
                                                                   delivered) -> None:
    cash, card, unnamed = await delivered(3)
    value = cash["payment"]["goods_value"]
    await scan(client, staff, cash["tracking_number"], "cod_collected", OFFICE, amount=value, method="cash",
               postman="p-17")
    await scan(client, staff, card["tracking_number"], "cod_collected", OFFICE, amount=value, method="card",
               rrn="123456789012", postman="p-17")
    await scan(client, staff, unnamed["tracking_number"], "cod_collected", OFFICE, amount=value, method="cash")
    await worker.drain()
    assert (await _postings(pool, cash["tracking_number"]))[1] == (
        "cod_collected", {postman_cash(OFFICE, "p-17"): value, shop_payable(shop.id): -value})
    assert (await _postings(pool, card["tracking_number"]))[1] == (
        "cod_collected", {f"{CARD}|123456789012": value, shop_payable(shop.id): -value})
    assert (await _postings(pool, unnamed["tracking_number"]))[1][1][office_cash(OFFICE)] == value
    fees = sum(d["price"]["total"] for d in (cash, card, unnamed))
    async with pool.acquire() as conn:
        assert await ledger.balance(conn, shop_payable(shop.id)) == fees - 3 * value
        assert await conn.fetchval("SELECT count(*) FROM deliveries WHERE office = $1", OFFICE) == 3


async def test_a_cancellation_reverses_the_booking(client, shop, worker, pool) -> None:
    (doc,) = await book(client, shop, [isfahan(0)])
    resp = await client.post(f"/v1/shipments/{doc['tracking_number']}/cancel", headers=shop.headers)
    assert resp.status == 200, await resp.text()
    await worker.drain()
    (booking, booked), (kind, reversal) = await _postings(pool, doc["tracking_number"])
    assert kind == "cancellation" and reversal == {acc: -amt for acc, amt in booked.items()}
    async with pool.acquire() as conn:
        assert await ledger.balance(conn, shop_payable(shop.id)) == 0


async def test_a_return_to_sender_charges_the_return_fee_and_collects_nothing(client, shop, staff, worker,
                                                                              pool) -> None:
    (doc,) = await book(client, shop, [isfahan(0)])
    origin = doc["route"][0]
    await scan(client, staff, doc["tracking_number"], "accepted", origin)
    await scan(client, staff, doc["tracking_number"], "returned_to_sender", origin)
    await worker.drain()
    (_, _), (kind, fee) = await _postings(pool, doc["tracking_number"])
    price = doc["price"]
    net = price["base"] + price["cod_fee"] + price["insurance"]
    vat = price["vat"] * price["base"] // net
    assert kind == "return"
    assert fee == {shop_payable(shop.id): price["base"] + vat, SHIPPING: -price["base"], VAT: -vat}


async def test_the_same_events_read_again_post_nothing_more(client, shop, redis, pool, group, worker) -> None:
    await book(client, shop, [isfahan(i) for i in range(5)])
    # a consumer posts them and dies after its commit, before its XACK: the entries stay pending
    from money.worker import LedgerWorker

    class DiesBeforeAck(LedgerWorker):
        async def _ack(self, taken):
            pass

    assert await DiesBeforeAck(redis, pool, "dead", group=group).step() >= 1
    await LedgerWorker(redis, pool, "dead-twin", group=group, claim_idle_ms=0).drain()
    async with pool.acquire() as conn:
        first = await conn.fetchval("SELECT count(*) FROM postings")
    assert first == 5
    assert await LedgerWorker(redis, pool, "third", group=group, claim_idle_ms=0).drain() == 0
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM postings") == 5


KILLED_WORKER = """
import asyncio, sys
import asyncpg
from kernel.store.client import async_client
from money.worker import LedgerWorker

async def main():
    pool = await asyncpg.create_pool(sys.argv[2], min_size=1, max_size=2)
    worker = LedgerWorker(async_client(sys.argv[1]), pool, "doomed", group=sys.argv[3], read_count=5)
    while True:
        await worker.step()
        print(worker.posted, flush=True)

asyncio.run(main())
"""


async def test_a_worker_killed_mid_stream_loses_nothing_and_counts_nothing_twice(
        client, shop, redis, pool, pg_dsn, store_url, group, worker) -> None:
    n = 300
    for start in range(0, n, 100):
        await book(client, shop, [isfahan(i) for i in range(start, start + 100)])
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WORKER, store_url, pg_dsn, group], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:  # kill -9 once it has posted some, not all
            line = proc.stdout.readline()
            assert line and time.monotonic() < deadline, "the worker posted nothing"
            if int(line) >= 20:
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    async with pool.acquire() as conn:
        before = await conn.fetchval("SELECT count(*) FROM postings")
    assert 20 <= before < n
    worker.claim_idle_ms = 0  # the dead consumer's pending entries are taken over at once
    await worker.drain()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM postings WHERE kind = 'booking'") == n
        assert await conn.fetchval("SELECT count(DISTINCT event_id) FROM postings") == n
    pending = sum([(await redis.xpending(f"{{p{p}}}:events", group))["pending"] for p in range(64)])
    assert pending == 0


async def test_a_database_restart_mid_stream_loses_nothing(client, shop, pool, worker, pg_server) -> None:
    if pg_server is None:
        return  # an external server is not ours to restart
    await book(client, shop, [isfahan(i) for i in range(10)])
    pg_server.kill()  # kill -9 of the postmaster: the worker's batch fails, stays pending
    try:
        await asyncio.wait_for(worker.step(), 10)
        raise AssertionError("posted with the database down")
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncio.TimeoutError):
        pass
    await asyncio.sleep(0.5)
    pg_server.start()  # the stale postmaster.pid is recognised; WAL recovery
    await pool.expire_connections()
    worker.claim_idle_ms = 0
    await worker.drain()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM postings") == 10


async def test_a_cod_collected_scan_names_its_postman_in_a_checked_form(client, staff, delivered) -> None:
    (doc,) = await delivered(1)
    value = doc["payment"]["goods_value"]
    resp = await client.post("/v1/scans", headers=await staff(OFFICE), json={
        "tracking_number": doc["tracking_number"], "event": "cod_collected", "office": OFFICE, "scan_id": "pm-bad-1",
        "occurred_at": datetime.now(IRAN_TIME).isoformat(), "amount": value, "method": "cash",
        "postman": "<script>"})
    body = await resp.json()
    assert resp.status == 422 and [e["field"] for e in body["errors"]] == ["postman"]
    assert body["errors"][0]["code"] == "postman_invalid"
    got = await scan(client, staff, doc["tracking_number"], "cod_collected", OFFICE, amount=value, method="cash",
                     postman="p.7")
    assert got["duplicate"] is False
