"""Money facts for the shop-side tests: a COD parcel's booking, delivery and collection posted through the real
ledger writer, and remittances written as the shared schema (migration 0003) defines them, as the remittance run
writes them."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import asyncpg

from kernel.postal.timeutil import IRAN_TIME
from money import ledger
from money.remittance import remittance_id
from money.rules import COD_FEE, INSURANCE, SHIPPING, VAT, Posting, office_cash, shop_payable

OFFICE = "IFN-01"
VALUE = 1_000_000
FEES = {"shipping": 100_000, "cod_fee": 20_000, "insurance": 5_000, "vat": 12_500}
NET = VALUE - sum(FEES.values())


def tn_of(i: int) -> str:
    return f"EP{i:09d}IR"


async def post_parcel(conn: asyncpg.Connection, shop_id: int, tn: str, delivered_at: datetime,
                      value: int = VALUE) -> None:
    """Booked two days before ``delivered_at``, delivered and its COD collected in cash then."""
    facts = {"payment_type": "cod", "cod_amount": value, "delivering_office": OFFICE}
    booked = Posting("booking", delivered_at - timedelta(days=2), [
        (shop_payable(shop_id), sum(FEES.values()), None), (SHIPPING, -FEES["shipping"], None),
        (COD_FEE, -FEES["cod_fee"], None), (INSURANCE, -FEES["insurance"], None), (VAT, -FEES["vat"], None)],
        event_id=f"b-{tn}", shop_id=shop_id, tracking_number=tn, office="THR-01", facts=facts)
    delivered = Posting("delivered", delivered_at, [], event_id=f"d-{tn}", shop_id=shop_id, tracking_number=tn,
                        office=OFFICE, facts=facts)
    collected = Posting("cod_collected", delivered_at, [(office_cash(OFFICE), value, None),
                                                        (shop_payable(shop_id), -value, None)],
                        event_id=f"c-{tn}", shop_id=shop_id, tracking_number=tn, office=OFFICE)
    await ledger.write(conn, [booked, delivered, collected])


async def add_remittance(conn: asyncpg.Connection, shop_id: int, period: date, status: str,
                         parcels: list[tuple[str, datetime]], hold_reason: str | None = None,
                         sheba: str | None = None) -> str:
    """A remittance of ``parcels`` (each at VALUE less FEES), as a run on ``period`` writes it; its id."""
    rid = remittance_id(shop_id, period)
    n = len(parcels)
    run = await conn.fetchval("INSERT INTO remittance_runs (as_of, made_by, shops, remittances, total) "
                              "VALUES ($1, 'test', 1, 1, $2) RETURNING id", period, n * NET)
    await conn.execute(
        "INSERT INTO remittances (id, run_id, shop_id, period, status, hold_reason, sheba, count, collected, "
        "shipping, cod_fee, insurance, vat, total, bank_ref) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        rid, run, shop_id, period, status, hold_reason, sheba, n, n * VALUE, *(n * FEES[k] for k in FEES), n * NET,
        "BANKREF-1" if status == "paid" else None)
    await conn.copy_records_to_table(
        "remittance_lines", records=[(tn, at, rid, VALUE, *FEES.values(), NET) for tn, at in parcels],
        columns=("tracking_number", "delivered_at", "remittance_id", "collected", "shipping", "cod_fee",
                 "insurance", "vat", "net"))
    await conn.execute("INSERT INTO remittance_history (remittance_id, status, made_by) VALUES ($1, 'scheduled', "
                       "'run:test')", rid)
    if status != "scheduled":
        await conn.execute("INSERT INTO remittance_history (remittance_id, status, made_by, bank_ref) "
                           "VALUES ($1, $2, 'operator:test', $3)", rid, status,
                           "BANKREF-1" if status == "paid" else None)
    return rid


def ago(days: int) -> datetime:
    """A Tehran time ``days`` before now, to the second."""
    return datetime.now(IRAN_TIME).replace(microsecond=0) - timedelta(days=days)
