"""Writing the ledger: a batch of postings in one PostgreSQL transaction, each at most once.

A posting's ``event_id`` is UNIQUE, so an event read twice (a worker killed after the commit and before its
XACK; a reclaim) never posts twice. The batch first asks, in one query, which of its events are posted already
and which of its parcels are known, and reserves the ids of its new postings; postings, entries and parcels
then go in with COPY (no per-row conflict handling, no RETURNING). Two writers racing on one event: the second's
COPY meets the UNIQUE index, its transaction rolls back, and the batch is written again the slow way (``INSERT
... ON CONFLICT DO NOTHING``). The database checks every rule itself whatever the client (migrations 0001 and
0004): the balance check runs at commit once per statement that wrote postings, the closed-posting and account
checks once per statement or row.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import asyncpg

from kernel.errors import BaridError

from .rules import Posting

INSERT_POSTINGS = """
INSERT INTO postings (event_id, kind, shop_id, tracking_number, office, postman, occurred_at, business_date,
                      reason, made_by, reverses)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                     $7::timestamptz[], $8::date[], $9::text[], $10::text[], $11::bigint[])
ON CONFLICT (event_id) DO NOTHING
RETURNING id, event_id"""

INSERT_PARCELS = """
INSERT INTO parcels (tracking_number, shop_id, payment_type, cod_amount, delivering_office)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[])
ON CONFLICT (tracking_number) DO NOTHING"""

INSERT_DELIVERIES = """
INSERT INTO deliveries (tracking_number, event_id, shop_id, office, business_date, cod_amount, delivered_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::date[], $6::bigint[],
                     $7::timestamptz[])
ON CONFLICT DO NOTHING"""


# In one round trip: the batch's events already posted, its parcels already known, and
# the ids of its new postings (a sequence hands out gaps freely: ids of events found posted are simply unused).
PREPARE = """
SELECT ARRAY(SELECT event_id FROM postings WHERE event_id = ANY ($1::text[])) AS posted,
       ARRAY(SELECT tracking_number FROM parcels WHERE tracking_number = ANY ($2::text[])) AS known,
       ARRAY(SELECT nextval('postings_id_seq') FROM generate_series(1, $3::int)) AS ids"""

POSTING_COLUMNS = ("id", "event_id", "kind", "shop_id", "tracking_number", "office", "postman", "occurred_at",
                   "business_date", "reason", "made_by")
ENTRY_COLUMNS = ("posting_id", "line", "account", "amount", "rrn")
PARCEL_COLUMNS = ("tracking_number", "shop_id", "payment_type", "cod_amount", "delivering_office")


class LedgerRefused(ValueError):
    """A posting the ledger does not take (unbalanced, an unknown account): nothing of it was written."""


class AdjustmentRefused(BaridError):
    code = "ledger_adjustment_refused"
    title = "The ledger refused the adjustment"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, "دفتر کل این اصلاحیه را نپذیرفت؛ حساب‌ها، مبلغ مثبت، علت و نام ثبت‌کننده را بررسی کنید")


async def write(conn: asyncpg.Connection, postings: list[Posting]) -> int:
    """Post ``postings`` (and their parcel facts) in one transaction; how many postings were new."""
    seen: set[str] = set()
    batch, parcels, deliveries = [], {}, []
    for p in postings:
        if p.event_id is not None:
            if p.event_id in seen:
                continue
            seen.add(p.event_id)
        if p.kind == "booking" and p.tracking_number:
            parcels[p.tracking_number] = (p.shop_id, p.facts["payment_type"], p.facts["cod_amount"],
                                          p.facts["delivering_office"])
        if p.kind == "delivered":
            deliveries.append(p)
            continue
        if not p.balanced():
            raise LedgerRefused(f"posting of {p.event_id or p.kind} does not balance")
        batch.append(p)
    try:
        async with conn.transaction():
            new = await _copy(conn, batch, parcels)
            await _deliveries(conn, deliveries)
    except asyncpg.UniqueViolationError:  # another writer posted one of these events (or parcels) meanwhile
        async with conn.transaction():
            new = await _insert(conn, batch)
            if parcels:
                tns = list(parcels)
                await conn.execute(INSERT_PARCELS, tns, [parcels[t][0] for t in tns], [parcels[t][1] for t in tns],
                                   [parcels[t][2] for t in tns], [parcels[t][3] for t in tns])
            await _deliveries(conn, deliveries)
    return new


async def _copy(conn: asyncpg.Connection, batch: list[Posting], parcels: dict[str, tuple]) -> int:
    if not batch and not parcels:
        return 0
    events = [p.event_id for p in batch if p.event_id is not None]
    ready = await conn.fetchrow(PREPARE, events, list(parcels), len(batch))
    posted = set(ready["posted"])
    rows, records = [], []
    for p, pid in zip((p for p in batch if p.event_id not in posted), ready["ids"]):
        rows.append((pid, p.event_id, p.kind, p.shop_id, p.tracking_number, p.office, p.postman, p.occurred_at,
                     p.business_date, p.reason, p.made_by))
        records.extend((pid, line, acc, amt, rrn) for line, (acc, amt, rrn) in enumerate(p.entries, 1))
    if rows:
        await conn.copy_records_to_table("postings", records=rows, columns=POSTING_COLUMNS)
        await conn.copy_records_to_table("entries", records=records, columns=ENTRY_COLUMNS)
    known = set(ready["known"])
    new_parcels = [(tn, *facts) for tn, facts in parcels.items() if tn not in known]
    if new_parcels:
        await conn.copy_records_to_table("parcels", records=new_parcels, columns=PARCEL_COLUMNS)
    return len(rows)


async def _deliveries(conn: asyncpg.Connection, deliveries: list[Posting]) -> None:
    if deliveries:
        await conn.execute(INSERT_DELIVERIES, [d.tracking_number for d in deliveries],
                           [d.event_id for d in deliveries], [d.shop_id for d in deliveries],
                           [d.office for d in deliveries], [d.business_date for d in deliveries],
                           [d.facts["cod_amount"] for d in deliveries], [d.occurred_at for d in deliveries])


async def _insert(conn: asyncpg.Connection, batch: list[Posting], reverses: list[int | None] | None = None) -> int:
    if not batch:
        return 0
    rows = await conn.fetch(
        INSERT_POSTINGS, [p.event_id for p in batch], [p.kind for p in batch], [p.shop_id for p in batch],
        [p.tracking_number for p in batch], [p.office for p in batch], [p.postman for p in batch],
        [p.occurred_at for p in batch], [p.business_date for p in batch], [p.reason for p in batch],
        [p.made_by for p in batch], reverses or [None] * len(batch))
    if not rows:
        return 0
    # RETURNING gives no order; event ids map rows back (postings without one are inserted alone: adjust()).
    by_event = {r["event_id"]: r["id"] for r in rows}
    records = []
    for p in batch:
        pid = by_event.get(p.event_id) if p.event_id is not None else rows[0]["id"]
        if pid is not None:
            records.extend((pid, line, acc, amt, rrn) for line, (acc, amt, rrn) in enumerate(p.entries, 1))
    await conn.copy_records_to_table("entries", records=records,
                                     columns=("posting_id", "line", "account", "amount", "rrn"))
    return len(rows)


async def adjust(conn: asyncpg.Connection, *, debit: str, credit: str, amount: int, reason: str, made_by: str,
                 shop_id: int | None = None, tracking_number: str | None = None,
                 reverses: int | None = None) -> dict[str, Any]:
    """A manual correction: ``amount`` rials from ``credit`` to ``debit``, with who made it and why."""
    if amount <= 0 or debit == credit:
        raise LedgerRefused("an adjustment moves a positive amount between two different accounts")
    if not reason.strip() or not made_by.strip():
        raise LedgerRefused("an adjustment needs a reason and who made it")
    now = datetime.now(timezone.utc)
    p = Posting("adjustment", now, [(debit, amount, None), (credit, -amount, None)], shop_id=shop_id,
                tracking_number=tracking_number, reason=reason.strip(), made_by=made_by.strip())
    async with conn.transaction():
        await _insert(conn, [p], [reverses])
        row = await conn.fetchrow("SELECT id, recorded_at FROM postings WHERE xact = pg_current_xact_id() "
                                  "AND kind = 'adjustment' ORDER BY id DESC LIMIT 1")
    return {"posting_id": row["id"], "kind": "adjustment", "debit": debit, "credit": credit, "amount": amount,
            "reason": p.reason, "made_by": p.made_by, "recorded_at": row["recorded_at"].isoformat()}


async def balance(conn: asyncpg.Connection, account: str) -> int:
    return await conn.fetchval("SELECT coalesce(sum(amount), 0)::bigint FROM entries WHERE account = $1", account)


async def posting_of(conn: asyncpg.Connection, event_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT p.id, p.kind, e.account, e.amount, e.rrn FROM postings p JOIN entries e "
                            "ON e.posting_id = p.id WHERE p.event_id = $1 ORDER BY e.line", event_id)
    return [dict(r) for r in rows]
