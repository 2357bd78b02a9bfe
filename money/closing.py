"""The postman's daily cash close, against the ledger.

The office's staff declare what a postman hands in for a day (and, if they list them, the parcels he collected
for). The expected total is what the ledger booked to that postman's cash account from that day's
``cod_collected`` postings; the variance is declared minus expected. Listed parcels are checked one by one and
every exception is named (``CASES``). The close is itself a posting: the office's cash is debited what was
handed in, the postman's cash credited what was expected, and a difference goes to the post's clearing account
(a shortage the post claims from the postman, or a surplus it owes). One close per (office, postman, day): the
database's UNIQUE constraint refuses a second, so two clerks pressing the button at once cannot close twice.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import asyncpg
import orjson

from kernel.errors import BaridError, Conflict, Forbidden

from .rules import CLEARING, office_cash, postman_cash

CASES = {
    "cod_delivered_not_collected": "مرسولهٔ پس‌کرایه تحویل شده اما دریافت وجه آن ثبت نشده است",
    "collected_on_prepaid": "برای مرسولهٔ پیش‌کرایه وجه دریافت شده است",
    "amount_differs": "مبلغ دریافتی با مبلغ ثبت‌شده در رزرو برابر نیست",
    "collected_twice": "وجه این مرسوله دو بار اعلام شده است",
}


class CloseForbidden(Forbidden):
    code = "cash_close_forbidden"
    title = "Only the office's own staff close its cash"


class AlreadyClosed(Conflict):
    code = "cash_close_already_closed"
    title = "This postman's cash is already closed for that day"


class LedgerUnavailable(BaridError):
    code = "ledger_unavailable"
    title = "The ledger database is not available"


class CloseNotFound(BaridError):
    code = "cash_close_not_found"
    title = "No such cash close"


def _exception(case: str, tn: str, **extra: Any) -> dict[str, Any]:
    return {"case": case, "case_fa": CASES[case], "tracking_number": tn, **extra}


async def _collected(conn: asyncpg.Connection, office: str, postman: str, day: date) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT p.tracking_number, e.amount FROM postings p JOIN entries e ON e.posting_id = p.id "
        "WHERE p.kind = 'cod_collected' AND p.office = $1 AND p.postman = $2 AND p.business_date = $3 "
        "AND e.account = $4 ORDER BY p.id", office, postman, day, postman_cash(office, postman))
    return {r["tracking_number"]: r["amount"] for r in rows}


async def _check_parcels(conn: asyncpg.Connection, parcels: list[dict[str, Any]], collected: dict[str, int],
                         office: str) -> list[dict[str, Any]]:
    tns = [p["tracking_number"] for p in parcels]
    facts = {r["tracking_number"]: r for r in await conn.fetch(
        "SELECT tracking_number, payment_type, cod_amount FROM parcels WHERE tracking_number = ANY($1)", tns)}
    any_collection = {r["tracking_number"]: r for r in await conn.fetch(
        "SELECT tracking_number, office, postman, business_date FROM postings WHERE kind = 'cod_collected' "
        "AND tracking_number = ANY($1)", tns)}
    delivered = {r["tracking_number"] for r in await conn.fetch(
        "SELECT tracking_number FROM deliveries WHERE tracking_number = ANY($1)", tns)}
    closed_before = {r["tracking_number"]: r for r in await conn.fetch(
        "SELECT p.tracking_number, c.id, c.postman, c.business_date FROM cash_closing_parcels p "
        "JOIN cash_closings c ON c.id = p.closing_id WHERE c.office = $1 AND p.tracking_number = ANY($2)",
        office, tns)}
    out, seen = [], set()
    for p in parcels:
        tn, declared = p["tracking_number"], p.get("amount")
        fact = facts.get(tn)
        if tn in seen:
            out.append(_exception("collected_twice", tn, detail="listed twice in this close"))
            continue
        seen.add(tn)
        if tn in closed_before:
            prior = closed_before[tn]
            out.append(_exception("collected_twice", tn, detail="already handed in", closing_id=prior["id"],
                                  postman=prior["postman"], date=prior["business_date"].isoformat()))
            continue
        if fact is not None and fact["payment_type"] != "cod":
            out.append(_exception("collected_on_prepaid", tn, amount=declared))
            continue
        if tn not in any_collection:
            out.append(_exception("cod_delivered_not_collected", tn, delivered=tn in delivered,
                                  booked=fact["cod_amount"] if fact else None))
            continue
        booked = fact["cod_amount"] if fact else collected.get(tn)
        if declared is not None and booked is not None and declared != booked:
            out.append(_exception("amount_differs", tn, declared=declared, booked=booked))
    return out


def _view(row: asyncpg.Record, parcels: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"id": row["id"], "office": row["office"], "postman": row["postman"],
            "date": row["business_date"].isoformat(), "declared_total": row["declared"],
            "expected_total": row["expected"], "variance": row["variance"],
            "exceptions": orjson.loads(row["exceptions"]), "posting_id": row["posting_id"],
            "closed_by": row["closed_by"], "closed_at": row["closed_at"].isoformat(),
            **({"parcels": parcels} if parcels is not None else {})}


async def close(pool: asyncpg.Pool, *, office: str, postman: str, day: date, declared: int,
                parcels: list[dict[str, Any]] | None, closed_by: str) -> dict[str, Any]:
    """Close one postman's day; the close as stored (AlreadyClosed when it was closed before)."""
    async with pool.acquire() as conn, conn.transaction():
        if await conn.fetchval("SELECT 1 FROM cash_closings WHERE office = $1 AND postman = $2 AND "
                               "business_date = $3", office, postman, day):
            raise _already(office, postman, day)
        collected = await _collected(conn, office, postman, day)
        expected = sum(collected.values())
        exceptions = await _check_parcels(conn, parcels or [], collected, office)
        variance = declared - expected
        entries = [(office_cash(office), declared, None), (postman_cash(office, postman), -expected, None),
                   (CLEARING, -variance, None)]
        entries = [e for e in entries if e[1]]
        posting_id = None
        if entries:
            posting_id = await conn.fetchval(
                "INSERT INTO postings (kind, office, postman, occurred_at, business_date, reason, made_by) "
                "VALUES ('cash_close', $1, $2, $3, $4, 'postman cash close', $5) RETURNING id",
                office, postman, datetime.now(timezone.utc), day, closed_by)
            await conn.executemany("INSERT INTO entries (posting_id, line, account, amount) VALUES ($1, $2, $3, $4)",
                                   [(posting_id, line, acc, amt) for line, (acc, amt, _) in enumerate(entries, 1)])
        try:
            row = await conn.fetchrow(
                "INSERT INTO cash_closings (office, postman, business_date, declared, expected, variance, "
                "exceptions, posting_id, closed_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
                office, postman, day, declared, expected, variance, orjson.dumps(exceptions).decode(), posting_id,
                closed_by)
        except asyncpg.UniqueViolationError:  # closed by another clerk in the same instant
            raise _already(office, postman, day) from None
        if parcels:
            await conn.executemany("INSERT INTO cash_closing_parcels (closing_id, tracking_number, amount) "
                                   "VALUES ($1, $2, $3)", [(row["id"], p["tracking_number"], p.get("amount"))
                                                           for p in parcels])
    return _view(row, [{"tracking_number": tn, "amount": amt} for tn, amt in collected.items()])


def _already(office: str, postman: str, day: date) -> AlreadyClosed:
    return AlreadyClosed(f"the cash of postman {postman} at {office} is already closed for {day.isoformat()}",
                         f"صندوق نامه‌رسان {postman} در اداره {office} برای این روز پیش‌تر بسته شده است")


async def office_day(pool: asyncpg.Pool, office: str, day: date) -> dict[str, Any]:
    """The office's day close: every postman's close summed, the postmen with cash not yet closed, and the COD
    parcels delivered that day with no collection recorded."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM cash_closings WHERE office = $1 AND business_date = $2 ORDER BY id",
                                office, day)
        open_rows = await conn.fetch(
            "SELECT p.postman, sum(e.amount)::bigint AS expected FROM postings p JOIN entries e "
            "ON e.posting_id = p.id WHERE p.kind = 'cod_collected' AND p.office = $1 AND p.business_date = $2 "
            "AND p.postman IS NOT NULL AND e.account LIKE 'postman:%' AND NOT EXISTS (SELECT 1 FROM "
            "cash_closings c WHERE c.office = p.office AND c.postman = p.postman AND c.business_date = $2) "
            "GROUP BY p.postman ORDER BY p.postman", office, day)
        missing = await conn.fetch(
            "SELECT d.tracking_number, d.cod_amount FROM deliveries d WHERE d.office = $1 AND d.business_date = $2 "
            "AND d.cod_amount > 0 AND NOT EXISTS (SELECT 1 FROM postings p WHERE p.kind = 'cod_collected' "
            "AND p.tracking_number = d.tracking_number) ORDER BY d.tracking_number", office, day)
    closings = [_view(r) for r in rows]
    return {
        "office": office, "date": day.isoformat(), "closings": closings,
        "declared_total": sum(c["declared_total"] for c in closings),
        "expected_total": sum(c["expected_total"] for c in closings),
        "variance": sum(c["variance"] for c in closings),
        "open_postmen": [{"postman": r["postman"], "expected_total": r["expected"]} for r in open_rows],
        "delivered_not_collected": [_exception("cod_delivered_not_collected", r["tracking_number"], delivered=True,
                                               booked=r["cod_amount"]) for r in missing],
    }


async def get(pool: asyncpg.Pool, office: str, closing_id: int) -> dict[str, Any]:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM cash_closings WHERE id = $1 AND office = $2", closing_id, office)
        if row is None:
            raise CloseNotFound(f"no cash close {closing_id} at {office}",
                                f"بستن صندوقی با شمارهٔ {closing_id} در اداره {office} وجود ندارد")
        collected = await _collected(conn, office, row["postman"], row["business_date"])
    return _view(row, [{"tracking_number": tn, "amount": amt} for tn, amt in collected.items()])

