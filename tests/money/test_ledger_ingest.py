"""The ledger's fast ingest path (migration 4, money.ledger.write with COPY) keeps every rule for any client:
balances checked at commit once per statement, postings only of their own transaction, accounts of the known
set, each event posted once even when two writers race."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timezone

import asyncpg
import pytest

from money import ledger
from money.rules import Posting
from money.worker import LedgerWorker
from tests.money.conftest import book, isfahan

# the account pattern of migration 0003, which ledger_account_ok replaced
PATTERN = (r"^(shop:[0-9]+:payable|postman:[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:cash|office:[A-Za-z0-9_.-]+:cash|"
           r"card_settlement:shaparak|revenue:(shipping|cod_fee|insurance)|vat:payable|post:clearing|bank:payouts)$")
ACCOUNTS = [
    "shop:1:payable", "shop:0042:payable", "postman:IFN-01:p_3.x:cash", "office:IFN-01:cash", "office:a:cash",
    "revenue:shipping", "revenue:cod_fee", "revenue:insurance", "vat:payable", "card_settlement:shaparak",
    "post:clearing", "bank:payouts",
    # refused
    "", "shop::payable", "shop:1a:payable", "shop:-1:payable", "shop:1:payable ", "xshop:1:payable",
    "shop:1:payablex", "postman::x:cash", "postman:a::cash", "postman:a:b:c:cash", "postman:a b:c:cash",
    "postman:a:cash", "postman:a:b:cash:", "postman:%:b:cash", "office::cash", "office:a:b:cash", "office:ä:cash",
    "office:a%:cash", "nobody:cash", "revenue:other", "REVENUE:SHIPPING", "vat:payable\n", "bank:payouts:x",
]
NEW_POSTING = ("INSERT INTO postings (kind, occurred_at, business_date, reason, made_by) "
               "VALUES ('adjustment', now(), current_date, 'test', 'tester') RETURNING id")
ENTRY = "INSERT INTO entries (posting_id, line, account, amount) VALUES ($1, $2, $3, $4)"


def _posting(event_id: str, amount: int = 1000) -> Posting:
    return Posting("cod_collected", datetime.now(timezone.utc),
                   [("office:DLV1:cash", amount, None), ("shop:7:payable", -amount, None)],
                   event_id=event_id, shop_id=7, tracking_number="EP123456785IR", office="DLV1")


async def test_the_account_check_takes_exactly_the_accounts_the_pattern_took(db: asyncpg.Connection) -> None:
    for account in ACCOUNTS:
        pattern = await db.fetchval("SELECT $1::text ~ $2", account, PATTERN)
        assert await db.fetchval("SELECT ledger_account_ok($1)", account) is pattern, account
    # and it is the constraint on every entry, whoever writes it
    with pytest.raises(asyncpg.CheckViolationError, match="entries_account_check"):
        async with db.transaction():
            pid = await db.fetchval(NEW_POSTING)
            await db.executemany(ENTRY, [(pid, 1, "postman:a::cash", 5), (pid, 2, "vat:payable", -5)])


async def test_each_statement_of_postings_is_checked_at_commit(db: asyncpg.Connection) -> None:
    # several statements of postings and entries in one transaction: fine when each posting balances at commit
    async with db.transaction():
        first = await db.fetchval(NEW_POSTING)
        second = await db.fetchval(NEW_POSTING)
        await db.execute(ENTRY, first, 1, "post:clearing", 5)
        await db.executemany(ENTRY, [(second, 1, "post:clearing", 7), (second, 2, "vat:payable", -7)])
        await db.execute(ENTRY, first, 2, "vat:payable", -5)
    # the second statement's posting is the unbalanced one: the first statement's check does not cover for it
    with pytest.raises(asyncpg.CheckViolationError, match="does not balance"):
        async with db.transaction():
            ok = await db.fetchval(NEW_POSTING)
            await db.executemany(ENTRY, [(ok, 1, "post:clearing", 5), (ok, 2, "vat:payable", -5)])
            bad = await db.fetchval(NEW_POSTING)
            await db.execute(ENTRY, bad, 1, "post:clearing", 5)
    assert await db.fetchval("SELECT count(*) FROM postings") == 2
    assert await db.fetchval("SELECT count(*) FROM ledger_balance_checks") == 0  # nothing outlives its transaction


async def test_the_pending_check_cannot_be_removed_or_edited(db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.CheckViolationError, match="does not balance"):
        async with db.transaction():
            pid = await db.fetchval(NEW_POSTING)
            await db.execute(ENTRY, pid, 1, "post:clearing", 5)
            await db.execute("DELETE FROM ledger_balance_checks")  # the check was queued when its row was written
    for sql in ("UPDATE ledger_balance_checks SET high = low", "TRUNCATE ledger_balance_checks"):
        # (PostgreSQL itself refuses to truncate a table with a queued trigger event)
        with pytest.raises((asyncpg.InsufficientPrivilegeError, asyncpg.ObjectInUseError)):
            async with db.transaction():
                pid = await db.fetchval(NEW_POSTING)
                await db.execute(sql)
    assert await db.fetchval("SELECT count(*) FROM postings") == 0


async def test_a_posting_claiming_another_transaction_is_refused(db: asyncpg.Connection) -> None:
    # a committed transaction's xact would let entries join this posting later, unseen by any balance check
    older = await db.fetchval("SELECT pg_current_xact_id()")
    with pytest.raises(asyncpg.CheckViolationError, match="xact"):
        await db.execute("INSERT INTO postings (kind, occurred_at, business_date, reason, made_by, xact) "
                         "VALUES ('adjustment', now(), current_date, 'test', 'tester', $1::text::xid8)", str(older))
    assert await db.fetchval("SELECT count(*) FROM postings") == 0


async def test_a_writer_racing_another_on_one_event_posts_it_once(db: asyncpg.Connection, pg_dsn: str) -> None:
    other = await asyncpg.connect(pg_dsn)
    try:
        # the other writer has posted evt_R_1 but not committed yet: the batch cannot see it ...
        tx = other.transaction()
        await tx.start()
        await ledger._insert(other, [_posting("evt_R_1")])
        write = asyncio.create_task(ledger.write(db, [_posting("evt_R_1"), _posting("evt_R_2")]))
        await asyncio.sleep(0.5)
        assert not write.done()  # ... its COPY waits on the UNIQUE event id ...
        await tx.commit()
        assert await write == 1  # ... then meets it and writes the batch again, skipping the posted event
    finally:
        await other.close()
    assert await db.fetchval("SELECT count(*) FROM postings WHERE event_id = 'evt_R_1'") == 1
    assert await ledger.balance(db, "shop:7:payable") == -2000
    assert await ledger.write(db, [_posting("evt_R_1"), _posting("evt_R_2")]) == 0  # read again: nothing new


async def test_a_worker_reading_ahead_and_cancelled_mid_stream_loses_nothing(client, shop, redis, pool, group,
                                                                             store_url) -> None:
    n = 200
    for start in range(0, n, 100):
        await book(client, shop, [isfahan(i) for i in range(start, start + 100)])
    # (its store calls go down the batcher's own connection, as a worker process's do)
    ahead = LedgerWorker(redis, pool, "reads-ahead", group=group, read_count=2, url=store_url)
    task = asyncio.create_task(ahead.run())
    while ahead.posted < 20:  # it has posted a batch, and read the next one while committing it
        await asyncio.sleep(0.01)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    ahead.close()
    # what it read and did not acknowledge is pending: another consumer takes it over, even from a store that
    # has forgotten the scripts since (a restart): they are loaded again
    await redis.script_flush()
    heir = LedgerWorker(redis, pool, "heir", group=group, claim_idle_ms=0, url=store_url)
    await heir.drain()
    heir.close()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM postings WHERE kind = 'booking'") == n
        assert await conn.fetchval("SELECT count(DISTINCT event_id) FROM postings") == n
    assert sum([(await redis.xpending(f"{{p{p}}}:events", group))["pending"] for p in range(64)]) == 0
