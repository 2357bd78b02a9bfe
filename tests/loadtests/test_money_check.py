"""The load kit's money check on the real PostgreSQL: it passes on exact books and names each way they go wrong."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import asyncpg
import pytest

from loadtests.money_check import books_check, check, ledger_acks, shop_books
from money import ledger
from money.migrate import migrate
from money.rules import CARD, SHIPPING, Posting, postman_cash, shop_payable

NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
STATUSES = ("scheduled", "sent", "paid", "failed", "held")
FEE = 500_000


@pytest.fixture
async def conn(pg_dsn: str):
    conn = await asyncpg.connect(pg_dsn)
    await migrate(conn)
    yield conn
    await conn.close()


def _booked(shop: int, tn: str, cod: int) -> Posting:
    return Posting("booking", NOW, [(shop_payable(shop), FEE, None), (SHIPPING, -FEE, None)],
                   event_id=f"evt_{tn}_1", shop_id=shop, tracking_number=tn,
                   facts={"payment_type": "cod" if cod else "prepaid", "cod_amount": cod,
                          "delivering_office": "IFN-01"})


def _delivered(shop: int, tn: str, cod: int) -> Posting:
    return Posting("delivered", NOW, [], event_id=f"evt_{tn}_8", shop_id=shop, tracking_number=tn, office="IFN-01",
                   facts={"cod_amount": cod})


def _collected(shop: int, tn: str, amount: int, card: bool = False) -> Posting:
    debit = (CARD, amount, "123456789012") if card else (postman_cash("IFN-01", "p-1"), amount, None)
    return Posting("cod_collected", NOW, [debit, (shop_payable(shop), -amount, None)], event_id=f"evt_{tn}_9",
                   shop_id=shop, tracking_number=tn, office="IFN-01", postman=None if card else "p-1")


async def _parcels(conn, shop: int, amounts: list[int]) -> list[str]:
    tns = [f"EP{shop:03d}{i:05d}IR" for i in range(len(amounts))]
    postings = [p for tn, a in zip(tns, amounts)
                for p in (_booked(shop, tn, a), _delivered(shop, tn, a), _collected(shop, tn, a, card=a % 2 == 0))]
    await ledger.write(conn, postings)
    return tns


async def _remit(conn, shop: int, status: str, lines: dict[str, int], rid: str = "") -> None:
    run = await conn.fetchval("INSERT INTO remittance_runs (as_of, made_by) VALUES ($1, 'test') RETURNING id",
                              date(2026, 12, 9))
    rid = rid or f"rem_{shop}_{status}"
    await conn.execute("INSERT INTO remittances (id, run_id, shop_id, period, status, count, collected, shipping, "
                       "cod_fee, insurance, vat, total) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0, 0, $7::bigint - $8::bigint)",
                       rid, run, shop, date(2026, 12, 9 + STATUSES.index(status)), status, len(lines), sum(lines.values()),
                       FEE * len(lines))
    for tn, amount in lines.items():  # each line as the ledger has it: the COD collected, the booking's shipping
        await conn.execute("INSERT INTO remittance_lines VALUES ($1, $2, $3, $4, $5, 0, 0, 0, $4::bigint - $5::bigint)", tn, rid,
                           NOW, amount, FEE)


async def test_exact_books_are_consistent_in_every_bucket(conn) -> None:
    a = await _parcels(conn, 7, [1_000_000, 2_000_001, 3_000_000, 4_000_000, 5_000_000, 6_000_000])
    await _remit(conn, 7, "paid", {a[0]: 1_000_000})
    await _remit(conn, 7, "sent", {a[1]: 2_000_001})
    await _remit(conn, 7, "held", {a[2]: 3_000_000})
    await _remit(conn, 7, "scheduled", {a[3]: 4_000_000})
    # a dispute holds its parcel (shown net of fees); the parcel's collected COD is what it keeps out
    await conn.execute("INSERT INTO disputes (shop_id, tracking_number, kind, held_amount) "
                       "VALUES (7, $1, 'not_remitted', 4500000)", a[4])
    (books,) = await shop_books(conn)
    assert books == {"shop_id": 7, "collected": 21_000_001, "remitted": 3_000_001, "held": 8_000_000,
                     "due": 10_000_000, "gap": 0}
    result = await books_check(conn, [f"evt_{tn}_9" for tn in a], a, [])
    assert result["consistent"], result
    assert result["cod_acked"] == 6 and result["postings"] == 12


async def test_each_way_the_books_go_wrong_is_found(conn) -> None:
    a = await _parcels(conn, 8, [1_000_000, 2_000_000])
    # a remittance line that says less than the ledger collected: the shop is a rial-exact 1,000 short
    await _remit(conn, 8, "paid", {a[0]: 999_000})
    # the same parcel's COD posted again under another event id: counted twice
    await ledger.write(conn, [Posting("cod_collected", NOW, [(CARD, 5, "123456789012"), (shop_payable(8), -5, None)],
                                      event_id="evt_again", shop_id=8, tracking_number=a[1])])
    result = await books_check(conn, [f"evt_{a[0]}_9", "evt_EP_never_posted_9"], [*a, "EP_NEVER_BOOKED"],
                               ["EP_NEVER_CANCELLED"])
    assert not result["consistent"]
    assert result["cod_missing"] == 1 and result["examples"]["cod_missing"] == ["evt_EP_never_posted_9"]
    assert result["bookings_unposted"] == 1 and result["cancels_unposted"] == 1
    assert result["posted_twice"] == 1 and result["examples"]["posted_twice"] == [f"{a[1]} cod_collected x2"]
    assert result["lines_stale"] == 1 and result["examples"]["lines_stale"] == [f"{a[0]} in rem_8_paid"]
    (off,) = result["examples"]["shops_off"]
    assert off["shop_id"] == 8 and off["gap"] == 1_000
    assert result["unbalanced"] == 0  # the database itself refuses an unbalanced posting


def test_acknowledged_cod_collections_are_read_from_the_scan_acks() -> None:
    acks = {"scan": [{"tn": "A", "eid": "evt_A_9", "ev": "cod_collected"}, {"tn": "A", "eid": "evt_A_8",
                                                                               "ev": "delivered"},
                     {"tn": "A", "eid": "evt_A_9", "ev": "cod_collected"}],
            "book": [{"tn": "A"}, {"tn": "A"}], "cancel": [{"tn": "B"}]}
    assert ledger_acks(acks) == (["evt_A_9"], ["A"], ["B"])


def test_a_ledger_not_drained_fails_the_check_loudly(pg_dsn: str) -> None:
    async def prepare() -> None:
        conn = await asyncpg.connect(pg_dsn)
        try:
            await migrate(conn)
        finally:
            await conn.close()

    asyncio.run(prepare())
    result = check(pg_dsn, {}, False, "3 outbox entries still pending or unread by the ledger group after 120 s")
    assert not result["consistent"] and result["checked"]
    assert result["line"].startswith("money INCONSISTENT: ledger NOT DRAINED (3 outbox entries")
    assert check(pg_dsn, {}, True, "")["consistent"]
