"""The ledger's invariants, enforced by the real PostgreSQL itself; the migrations, from empty and from the
previous version."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import asyncpg
import pytest

from money import ledger
from money.migrate import available, current_version, migrate
from money.rules import Posting


def _posting(event_id: str, amount: int = 1000, **kw) -> Posting:
    return Posting("cod_collected", datetime.now(timezone.utc),
                   [("office:DLV1:cash", amount, None), ("shop:7:payable", -amount, None)],
                   event_id=event_id, shop_id=7, tracking_number="EP123456785IR", office="DLV1", **kw)


async def test_migrations_from_empty_and_from_the_previous_version(pg_dsn: str) -> None:
    conn = await asyncpg.connect(pg_dsn)
    try:
        assert await current_version(conn) == 0
        latest = len(available())
        assert (await migrate(conn, target=2))["version"] == 2  # before the remittances (and what followed)
        assert await conn.fetchval("SELECT to_regclass('remittances')") is None
        # rows written under the previous version survive the upgrade
        await conn.execute("INSERT INTO deliveries (tracking_number, event_id, shop_id, office, business_date) "
                           "VALUES ('EP123456785IR', 'e-1', 7, 'DLV1', '2026-12-07')")
        done = await migrate(conn)
        assert done == {"applied": list(range(3, latest + 1)), "version": latest}
        assert await conn.fetchval("SELECT to_regclass('remittances')") is not None
        assert await conn.fetchval("SELECT shop_id FROM deliveries WHERE event_id = 'e-1'") == 7
        assert (await migrate(conn))["applied"] == []  # applied once
    finally:
        await conn.close()


async def test_many_workers_migrating_at_once_apply_each_migration_once(pg_dsn: str) -> None:
    conns = [await asyncpg.connect(pg_dsn) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in conns))
        applied = sorted(v for r in results for v in r["applied"])
        assert applied == [m.version for m in available()]
        assert await conns[0].fetchval("SELECT count(*) FROM schema_migrations") == len(available())
    finally:
        for c in conns:
            await c.close()


async def test_an_unbalanced_posting_is_refused_by_the_database(db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.CheckViolationError, match="does not balance"):
        async with db.transaction():
            pid = await db.fetchval("INSERT INTO postings (kind, occurred_at, business_date, reason, made_by) "
                                    "VALUES ('adjustment', now(), current_date, 'test', 'tester') RETURNING id")
            await db.execute("INSERT INTO entries (posting_id, line, account, amount) VALUES ($1, 1, 'post:clearing', 500),"
                             " ($1, 2, 'vat:payable', -499)", pid)
    # a posting with a single entry, or none, is no posting either
    with pytest.raises(asyncpg.CheckViolationError):
        async with db.transaction():
            await db.execute("INSERT INTO postings (kind, occurred_at, business_date, reason, made_by) "
                             "VALUES ('adjustment', now(), current_date, 'test', 'tester')")
    assert await db.fetchval("SELECT count(*) FROM postings") == 0
    assert await db.fetchval("SELECT count(*) FROM entries") == 0


async def test_one_unbalanced_posting_among_many_fails_the_whole_transaction(db: asyncpg.Connection) -> None:
    good = [_posting(f"evt_M_{i}") for i in range(50)]
    bad = _posting("evt_M_bad")
    bad.entries[1] = ("shop:7:payable", -999, None)
    bad.entries.append(("post:clearing", -2, None))  # three entries summing to -1
    bad.balanced = lambda: True  # past the writer's own check: the database must refuse it
    with pytest.raises(asyncpg.CheckViolationError, match="does not balance"):
        await ledger.write(db, [*good[:25], bad, *good[25:]])
    assert await db.fetchval("SELECT count(*) FROM postings") == 0


async def test_a_checked_posting_takes_no_more_entries_even_in_its_transaction(db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.CheckViolationError, match="committed posting"):
        async with db.transaction():
            pid = await db.fetchval("INSERT INTO postings (kind, occurred_at, business_date, reason, made_by) "
                                    "VALUES ('adjustment', now(), current_date, 'test', 'tester') RETURNING id")
            await db.execute("INSERT INTO entries (posting_id, line, account, amount) VALUES ($1, 1, 'post:clearing', 5),"
                             " ($1, 2, 'vat:payable', -5)", pid)
            await db.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the balance check runs now...
            await db.execute("INSERT INTO entries (posting_id, line, account, amount) VALUES ($1, 3, 'post:clearing', 7)",
                             pid)  # ... and an entry after it would unbalance the posting unseen
    assert await db.fetchval("SELECT count(*) FROM entries") == 0


async def test_entries_may_arrive_in_several_statements_before_commit(db: asyncpg.Connection) -> None:
    async with db.transaction():
        pid = await db.fetchval("INSERT INTO postings (kind, occurred_at, business_date, reason, made_by) "
                                "VALUES ('adjustment', now(), current_date, 'test', 'tester') RETURNING id")
        await db.execute("INSERT INTO entries (posting_id, line, account, amount) VALUES ($1, 1, 'post:clearing', 500)", pid)
        await db.execute("INSERT INTO entries (posting_id, line, account, amount) VALUES ($1, 2, 'vat:payable', -500)", pid)
    # ... of a posting that exists ...
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("INSERT INTO entries (posting_id, line, account, amount) VALUES (424242, 1, 'post:clearing', 5), "
                         "(424242, 2, 'vat:payable', -5)")
    # ... and never join a committed posting later, even balanced
    with pytest.raises(asyncpg.CheckViolationError, match="committed posting"):
        await db.execute("INSERT INTO entries (posting_id, line, account, amount) VALUES ($1, 3, 'post:clearing', 5), "
                         "($1, 4, 'vat:payable', -5)", pid)


async def test_entries_and_postings_are_never_updated_or_deleted(db: asyncpg.Connection) -> None:
    await ledger.write(db, [_posting("evt_A_1")])
    for sql in ("UPDATE entries SET amount = amount * 2", "DELETE FROM entries", "UPDATE postings SET reason = 'x'",
                "DELETE FROM postings", "TRUNCATE entries CASCADE", "TRUNCATE postings CASCADE"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await db.execute(sql)
    assert await db.fetchval("SELECT sum(abs(amount)) FROM entries") == 2000


async def test_the_same_event_twice_posts_once(db: asyncpg.Connection) -> None:
    assert await ledger.write(db, [_posting("evt_B_1"), _posting("evt_B_1")]) == 1
    assert await ledger.write(db, [_posting("evt_B_1"), _posting("evt_B_2")]) == 1
    assert await db.fetchval("SELECT count(*) FROM postings") == 2
    assert await ledger.balance(db, "shop:7:payable") == -2000


async def test_a_refused_posting_writes_nothing_of_its_batch(db: asyncpg.Connection) -> None:
    bad = Posting("cod_collected", datetime.now(timezone.utc), [("nobody:cash", 5, None), ("shop:7:payable", -5, None)],
                  event_id="evt_C_2")
    with pytest.raises(asyncpg.CheckViolationError):
        await ledger.write(db, [_posting("evt_C_1"), bad])
    assert await db.fetchval("SELECT count(*) FROM postings") == 0
    with pytest.raises(asyncpg.CheckViolationError, match="amount"):  # an entry of zero rials means nothing
        await ledger.write(db, [_posting("evt_C_3", 0)])


async def test_a_correction_is_a_new_posting_with_reason_and_author(db: asyncpg.Connection) -> None:
    await ledger.write(db, [_posting("evt_D_1")])
    fix = await ledger.adjust(db, debit="shop:7:payable", credit="post:clearing", amount=300,
                              reason="duplicate counter receipt", made_by="finance:maryam")
    row = await db.fetchrow("SELECT kind, reason, made_by FROM postings WHERE id = $1", fix["posting_id"])
    assert tuple(row) == ("adjustment", "duplicate counter receipt", "finance:maryam")
    assert await ledger.balance(db, "shop:7:payable") == -700
    with pytest.raises(ledger.LedgerRefused):
        await ledger.adjust(db, debit="shop:7:payable", credit="post:clearing", amount=300, reason=" ", made_by="x")
    with pytest.raises(asyncpg.CheckViolationError):  # the database asks the same of a hand-written one
        async with db.transaction():
            pid = await db.fetchval("INSERT INTO postings (kind, occurred_at, business_date) "
                                    "VALUES ('adjustment', now(), current_date) RETURNING id")
            await db.execute("INSERT INTO entries (posting_id, line, account, amount) VALUES ($1, 1, 'post:clearing', 1),"
                             " ($1, 2, 'vat:payable', -1)", pid)
