"""What a shop reads of its money: its balance, its remittances and their lines (docs/remittances.md, "What the
shop sees").

Every COD parcel the shop was paid for by a buyer is in exactly one place, so the figures add up to the rial:

    collected = fees + remitted + in_flight + on_hold + due_now + pending

* in a remittance (money/migrations/0003_remittances.sql): ``paid`` is remitted, ``scheduled``/``sent`` in flight,
  ``held`` on hold, ``failed`` due now (the bank refused it; it is due again);
* not yet in one (its collection in the ledger, its fees from its booking posting): under an open dispute it is on
  hold, else due now once its payout day (money/settlement.py) has come, else pending until that day.

Amounts are net of the post's fees except ``collected`` and ``fees``. Reads only: the remittance run (another
module) writes remittances; disputes (money/disputes.py) hold and release them.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from kernel.errors import FieldError, NotFound, validation_failed
from kernel.postal.timeutil import IRAN_TIME

from .policy import Cycle
from .remittance import FEE_KINDS, STATUS_FA, STATUSES, Line, Remittance
from .rules import shop_payable
from .settlement import WorkingDay, next_working_day, payout_date

FETCH_ROWS = 2000  # rows per round trip of a streamed statement: few round trips, little memory
HOLD_FA = {"unverified_account": "حساب بانکی فروشگاه تأیید نشده است", "open_dispute": "اعتراض باز روی یکی از مرسوله‌ها"}

# The shop's collected COD parcels that are in no remittance yet: the collection (the shop payable's credits of
# its cod_collected postings), the fees its booking posting charged, and when it was delivered (the delivery's
# time; the collection's for rows without one). From the shop's deliveries (indexed by shop), each parcel's
# postings by its tracking number (indexed).
UNREMITTED = """
SELECT d.tracking_number, coalesce(d.delivered_at, c.at) AS delivered_at, c.collected,
       f.shipping, f.cod_fee, f.insurance, f.vat
  FROM deliveries d
  CROSS JOIN LATERAL (
        SELECT (-sum(e.amount))::bigint AS collected, min(p.occurred_at) AS at
          FROM postings p JOIN entries e ON e.posting_id = p.id
         WHERE p.tracking_number = d.tracking_number AND p.kind = 'cod_collected' AND e.account = $2) c
  CROSS JOIN LATERAL (
        SELECT coalesce(-sum(e.amount) FILTER (WHERE e.account = 'revenue:shipping'), 0)::bigint AS shipping,
               coalesce(-sum(e.amount) FILTER (WHERE e.account = 'revenue:cod_fee'), 0)::bigint AS cod_fee,
               coalesce(-sum(e.amount) FILTER (WHERE e.account = 'revenue:insurance'), 0)::bigint AS insurance,
               coalesce(-sum(e.amount) FILTER (WHERE e.account = 'vat:payable'), 0)::bigint AS vat
          FROM postings p JOIN entries e ON e.posting_id = p.id
         WHERE p.tracking_number = d.tracking_number AND p.kind = 'booking') f
 WHERE d.shop_id = $1 AND c.collected IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM remittance_lines l WHERE l.tracking_number = d.tracking_number)
   {only}
 ORDER BY delivered_at, d.tracking_number"""

LINES = ("SELECT tracking_number, delivered_at, collected, shipping, cod_fee, insurance, vat, net "
         "FROM remittance_lines WHERE remittance_id = $1 ORDER BY delivered_at, tracking_number")
REMITTANCE_COLUMNS = ("id, shop_id, period, status, hold_reason, sheba, count, collected, shipping, cod_fee, "
                      "insurance, vat, total, bank_ref, created_at, updated_at")


class RemittanceNotFound(NotFound):
    code = "remittance_not_found"
    title = "No such remittance"


@dataclass(frozen=True, slots=True)
class Unremitted:
    line: Line
    payout_day: date


def _iso(at: datetime) -> str:
    return at.astimezone(IRAN_TIME).isoformat()


def line_of(r: asyncpg.Record) -> Line:
    return Line(r["tracking_number"], _iso(r["delivered_at"]), r["collected"], r["shipping"], r["cod_fee"],
                r["insurance"], r["vat"])


async def unremitted(conn: asyncpg.Connection, shop_id: int, tracking_number: str | None = None) -> list[Line]:
    """The shop's collected parcels in no remittance yet (one parcel's, with ``tracking_number``)."""
    if tracking_number is None:
        rows = await conn.fetch(UNREMITTED.format(only=""), shop_id, shop_payable(shop_id))
    else:
        rows = await conn.fetch(UNREMITTED.format(only="AND d.tracking_number = $3"), shop_id,
                                shop_payable(shop_id), tracking_number)
    return [line_of(r) for r in rows]


def first_payout_day(today: date, cycle: Cycle, is_working_day: WorkingDay) -> date:
    """The cycle's first payout day on or after ``today``."""
    if cycle.payout_weekday is None:
        return next_working_day(today, is_working_day)
    ahead = (cycle.payout_weekday - today.weekday()) % 7
    return next_working_day(today + timedelta(days=ahead), is_working_day)


async def balance(conn: asyncpg.Connection, shop_id: int, cycle: Cycle, today: date,
                  is_working_day: WorkingDay) -> dict[str, Any]:
    """The shop's figures (module docstring), with the pending days and the next payout expected."""
    by_status = {r["status"]: r for r in await conn.fetch(
        "SELECT status, sum(count)::bigint AS parcels, sum(collected)::bigint AS collected, sum(total)::bigint AS total "
        "FROM remittances WHERE shop_id = $1 GROUP BY status", shop_id)}
    disputed = {r["tracking_number"] for r in await conn.fetch(
        "SELECT tracking_number FROM disputes WHERE shop_id = $1 AND status = 'open'", shop_id)}
    lines = await unremitted(conn, shop_id)

    def rem(*statuses: str, key: str = "total") -> int:
        return sum(by_status[s][key] for s in statuses if s in by_status)

    collected = rem(*STATUSES, key="collected") + sum(x.collected for x in lines)
    on_hold, due_now, pending_total = rem("held"), rem("failed"), 0
    pending: dict[date, list[int]] = {}
    eligible: list[Unremitted] = []
    for line in lines:
        if line.tracking_number in disputed:
            on_hold += line.net
            continue
        day = payout_date(line.delivered_at, cycle, is_working_day)
        eligible.append(Unremitted(line, day))
        if day <= today:
            due_now += line.net
        else:
            pending_total += line.net
            slot = pending.setdefault(day, [0, 0])
            slot[0] += 1
            slot[1] += line.net
    figures = {"collected": collected, "fees": collected - rem(*STATUSES) - sum(x.net for x in lines),
               "remitted": rem("paid"), "in_flight": rem("scheduled", "sent"), "on_hold": on_hold,
               "due_now": due_now, "pending": pending_total}
    return {"shop_id": shop_id, "currency": "IRR", "as_of": today.isoformat(), **figures,
            "pending_by_day": [{"date": d.isoformat(), "count": n, "amount": a} for d, (n, a) in sorted(pending.items())],
            "open_disputes": len(disputed),
            "next_payout": next_payout(eligible, (rem("scheduled"), rem("scheduled", key="parcels")), cycle, today,
                                       is_working_day),
            "cycle": {"days_after_delivery": cycle.days_after_delivery, "payout_weekday": cycle.payout_weekday,
                      "minimum_payout": cycle.minimum_payout_rial}}


def next_payout(eligible: list[Unremitted], scheduled_total: tuple[int, int], cycle: Cycle, today: date,
                is_working_day: WorkingDay) -> dict[str, Any] | None:
    """The next payout expected: on the first payout day from today, the remittances already scheduled plus the
    lines due by then once they reach the cycle's minimum (else they roll over to a later payout day, as the run
    rolls them). None when nothing is owed."""
    first = first_payout_day(today, cycle, is_working_day)
    scheduled, scheduled_parcels = scheduled_total
    days: dict[date, list[int]] = {}
    for x in eligible:
        slot = days.setdefault(max(x.payout_day, first), [0, 0])
        slot[0] += 1
        slot[1] += x.line.net
    total = count = 0
    for day, (n, amount) in sorted(days.items()):
        total, count = total + amount, count + n
        if total >= max(cycle.minimum_payout_rial, 1):
            if scheduled and day > first:
                break
            now = day == first
            return {"date": day.isoformat(), "amount": total + (scheduled if now else 0),
                    "count": count + (scheduled_parcels if now else 0)}
    if scheduled:
        return {"date": first.isoformat(), "amount": scheduled, "count": scheduled_parcels}
    return None


# -- remittances ---------------------------------------------------------------------------------------------------
def view(r: asyncpg.Record) -> dict[str, Any]:
    fees = {k: r[k] for k in FEE_KINDS}
    rid = r["id"]
    return {"remittance_id": rid, "period": r["period"].isoformat(), "status": r["status"],
            "status_fa": STATUS_FA[r["status"]], "hold_reason": r["hold_reason"],
            "hold_reason_fa": HOLD_FA.get(r["hold_reason"]) if r["hold_reason"] else None,
            "count": r["count"], "collected": r["collected"], "fees": {**fees, "total": sum(fees.values())},
            "total": r["total"], "bank_ref": r["bank_ref"], "created_at": _iso(r["created_at"]),
            "updated_at": _iso(r["updated_at"]),
            "links": {"lines_csv": f"/v1/remittances/{rid}/lines?format=csv",
                      "lines_json": f"/v1/remittances/{rid}/lines?format=json",
                      "statement_pdf": f"/v1/remittances/{rid}/statement.pdf"}}


def encode_cursor(period: date, rid: str) -> str:
    return base64.urlsafe_b64encode(f"{period.isoformat()}|{rid}".encode()).decode().rstrip("=")


def decode_cursor(raw: str) -> tuple[date, str]:
    try:
        period, _, rid = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode().partition("|")
        day = date.fromisoformat(period)
        if not rid or len(rid) > 80:
            raise ValueError(rid)
        return day, rid
    except (ValueError, UnicodeDecodeError):
        raise validation_failed([FieldError("cursor", "cursor_invalid", "the next_cursor of a previous page",
                                            "نشانگر صفحه نامعتبر است؛ از next_cursor پاسخ قبلی استفاده کنید")]) from None


async def list_remittances(conn: asyncpg.Connection, shop_id: int, *, status: str | None, limit: int,
                           cursor: tuple[date, str] | None) -> dict[str, Any]:
    """Newest payout day first (then by id), a page at a time (keyset: a page is the same however many are made
    meanwhile)."""
    args: list[Any] = [shop_id, limit + 1]
    where = "shop_id = $1"
    if status is not None:
        args.append(status)
        where += f" AND status = ${len(args)}"
    if cursor is not None:
        args.extend(cursor)
        where += f" AND (period, id) < (${len(args) - 1}, ${len(args)})"
    rows = await conn.fetch(f"SELECT {REMITTANCE_COLUMNS} FROM remittances WHERE {where} "
                            "ORDER BY period DESC, id DESC LIMIT $2", *args)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [view(r) for r in rows],
            "next_cursor": encode_cursor(rows[-1]["period"], rows[-1]["id"]) if more else None}


async def remittance_row(conn: asyncpg.Connection, shop_id: int, rid: str) -> asyncpg.Record:
    """The shop's own remittance; another shop's, like none at all, is a 404."""
    row = await conn.fetchrow(f"SELECT {REMITTANCE_COLUMNS} FROM remittances WHERE id = $1 AND shop_id = $2",
                              rid[:80], shop_id)
    if row is None:
        raise RemittanceNotFound(f"no remittance {rid[:80]} of this shop", "حواله‌ای با این شناسه برای این فروشگاه نیست")
    return row


async def detail(conn: asyncpg.Connection, shop_id: int, rid: str) -> dict[str, Any]:
    row = await remittance_row(conn, shop_id, rid)
    history = await conn.fetch("SELECT status, at, made_by, bank_ref, note FROM remittance_history "
                               "WHERE remittance_id = $1 ORDER BY at", row["id"])
    return {**view(row), "history": [{"status": h["status"], "status_fa": STATUS_FA.get(h["status"], h["status"]),
                                      "at": _iso(h["at"]), "made_by": h["made_by"], "bank_ref": h["bank_ref"],
                                      "note": h["note"]} for h in history]}


# A line as text, made by PostgreSQL as it reads the rows: the gateway only joins them, so a long statement costs
# it one string per row rather than a record decoded and formatted field by field. Times are in the session's zone
# (Tehran, set by stream_lines), as ISO 8601 with the offset; milliseconds only when there are any.
_AT = ("to_char(delivered_at, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_trunc('second', delivered_at) = "
       "delivered_at THEN '' ELSE to_char(delivered_at, '.MS') END || to_char(delivered_at, 'TZH:TZM')")
_ROW_TEXT = {
    "csv": f"tracking_number || ',' || {_AT} || ',' || collected || ',' || shipping || ',' || cod_fee || ',' || "
           "insurance || ',' || vat || ',' || (collected - net) || ',' || net || E'\\r\\n'",
    "json": f"CASE WHEN row_number() OVER (ORDER BY delivered_at, tracking_number) = 1 THEN '' ELSE ',' END || "
            f"'{{\"tracking_number\":' || to_json(tracking_number)::text || ',\"delivered_at\":\"' || {_AT} || "
            "'\",\"collected\":' || collected || ',\"shipping\":' || shipping || ',\"cod_fee\":' || cod_fee || "
            "',\"insurance\":' || insurance || ',\"vat\":' || vat || ',\"fees\":' || (collected - net) || "
            "',\"net\":' || net || '}'",
}


async def stream_lines(conn: asyncpg.Connection, rid: str, fmt: str) -> AsyncIterator[bytes]:
    """The remittance's lines in order as CSV rows or JSON array members, FETCH_ROWS at a time from a server-side
    cursor: memory stays the same whatever the remittance's length."""
    async with conn.transaction(readonly=True):
        await conn.execute("SET LOCAL TIME ZONE 'Asia/Tehran'")
        cur = await conn.cursor(f"SELECT {_ROW_TEXT[fmt]} FROM remittance_lines WHERE remittance_id = $1 "
                                "ORDER BY delivered_at, tracking_number", rid)
        while rows := await cur.fetch(FETCH_ROWS):
            yield "".join([r[0] for r in rows]).encode()


async def remittance_for_pdf(conn: asyncpg.Connection, row: asyncpg.Record, max_lines: int) -> Remittance | None:
    """The whole remittance for its PDF; None when it has more than ``max_lines`` lines (the CSV serves those)."""
    if row["count"] > max_lines:
        return None
    lines = tuple(line_of(r) for r in await conn.fetch(LINES, row["id"]))
    return Remittance(row["id"], row["shop_id"], row["period"], lines, status=row["status"],
                      hold_reason=row["hold_reason"], bank_ref=row["bank_ref"])
