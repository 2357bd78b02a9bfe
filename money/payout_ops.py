"""What the operator does with a run's remittances: the payout file, the bank's answer, and the listing.

* ``payout_file``: a run's scheduled remittances in one file (pain.001, checked against the vendored XSD before
  anything changes, or the banks' group-transfer CSV), each moved to ``sent`` in the same transaction. A run has
  one file: asked again, the same remittances come back in it with the same message id and creation time (the
  ``sent`` history rows name the run), so a retried download is the same batch and a bank refuses it as a
  duplicate rather than paying twice.
* ``mark_paid``: ``sent`` -> ``paid`` with the bank's reference and ONE ``payout`` posting (the shop's payable
  debited, ``bank:payouts`` credited, its event id ``payout:<remittance>``: UNIQUE, so never twice); the same
  reference again answers the paid remittance and posts nothing.
* ``mark_failed``: ``sent`` -> ``failed``; the next run takes it again (due) and it is in that run's file.
* ``announce``: the ``remittance_paid`` event on the shop's feed and its partition's outbox (webhooks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

import asyncpg
import orjson

from kernel.errors import Conflict, FieldError, NotFound, validation_failed
from kernel.postal.timeutil import iso_ms

from . import groupcsv, pain001
from .ledger import _insert
from .payouts import RUN_LOCK, today
from .policy import policy
from .remittance import FAILED, PAID, SCHEDULED, SENT, STATUS_FA, STATUSES, RemittanceTransitionInvalid
from .rules import Posting, shop_payable

PAYOUTS = "bank:payouts"
FORMATS = ("pain001", "csv")
MEDIA_TYPES = {"pain001": "application/xml", "csv": "text/csv"}
PAID_EVENT = "remittance_paid"
_BANK_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9/._:-]{0,63}", re.ASCII)
MAX_REASON = 500

# KEYS 1 the partition's outbox, 2 the shop's feed. ARGV 1 shop id, 2 remittance id, 3 event JSON, 4 feed length.
ANNOUNCE = r"""
redis.call('XADD', KEYS[1], '*', 's', ARGV[1], 't', ARGV[2], 'e', ARGV[3])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'e', ARGV[3])
return 1
"""


class RunNotFound(NotFound):
    code = "remittance_run_not_found"
    title = "No such remittance run"


class PayoutRemittanceNotFound(NotFound):
    code = "payout_remittance_not_found"
    title = "No such remittance to settle"


class PayoutFileEmpty(Conflict):
    code = "payout_file_empty"
    title = "The run has nothing to pay"


@dataclass(frozen=True, slots=True)
class Payable:
    """A remittance as a payout file names it (the files read only these; its lines stay in the database)."""

    id: str
    total: int
    count: int
    status: str = SCHEDULED

    @property
    def lines(self) -> range:  # the files print how many parcels it pays
        return range(self.count)


def _file_note(run_id: int) -> str:
    return f"payout file of run {run_id}"


async def payout_file(pool: asyncpg.Pool, run_id: int, fmt: str, names, made_by: str) -> tuple[bytes, dict]:
    """The run's payout file in ``fmt`` and a summary; the first call sends its scheduled remittances."""
    if fmt not in FORMATS:
        raise validation_failed([FieldError("format", "format_invalid", f"one of {', '.join(FORMATS)}",
                                            "قالب فایل پرداخت باید pain001 یا csv باشد")])
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", RUN_LOCK)
        run = await conn.fetchrow("SELECT id, as_of FROM remittance_runs WHERE id = $1", run_id)
        if run is None:
            raise RunNotFound(f"no remittance run {run_id}", f"اجرای تسویهٔ شمارهٔ {run_id} وجود ندارد")
        rows = await conn.fetch("SELECT id, shop_id, sheba, count, total FROM remittances WHERE run_id = $1 "
                                "AND status = 'scheduled' AND total > 0 ORDER BY shop_id", run_id)
        fresh = bool(rows)
        if fresh:
            created = datetime.now(timezone.utc).replace(microsecond=0)
        else:  # sent before: the same batch again
            rows = await conn.fetch(
                "SELECT r.id, r.shop_id, r.sheba, r.count, r.total, h.at FROM remittance_history h "
                "JOIN remittances r ON r.id = h.remittance_id WHERE h.status = 'sent' AND h.note = $1 "
                "ORDER BY r.shop_id", _file_note(run_id))
            if not rows:
                raise PayoutFileEmpty(f"run {run_id} has no scheduled remittance to pay and no payout file yet",
                                      f"اجرای تسویهٔ شمارهٔ {run_id} حوالهٔ آمادهٔ پرداختی ندارد")
            created = min(r["at"] for r in rows).replace(microsecond=0)
        shop_names = await names([r["shop_id"] for r in rows])
        items = [(Payable(r["id"], r["total"], r["count"]),
                  pain001.Party(shop_names.get(r["shop_id"]) or f"shop {r['shop_id']}", r["sheba"])) for r in rows]
        pol = policy()
        payer = pain001.Party(pol.payer_name, pol.payer_sheba)
        if fmt == "pain001":
            body = pain001.build(f"BARID-RUN-{run_id}", payer, items, max(run["as_of"], today()), created)  # type: ignore[arg-type]
            pain001.validate(body)  # an invalid file is never handed out, and nothing is marked sent
        else:
            body = groupcsv.build(items)  # type: ignore[arg-type]
        if fresh:
            ids = [r["id"] for r in rows]
            await conn.execute("UPDATE remittances SET status = 'sent', updated_at = now() WHERE id = ANY($1::text[])",
                               ids)
            await conn.copy_records_to_table("remittance_history", columns=("remittance_id", "status", "made_by",
                                                                            "note", "at"),
                                             records=[(i, SENT, made_by, _file_note(run_id), created) for i in ids])
    return body, {"run_id": run_id, "format": fmt, "remittances": len(rows), "total": sum(r["total"] for r in rows),
                  "sent_now": fresh, "created_at": created.isoformat()}


def check_bank_ref(bank_ref: Any) -> str:
    if not (isinstance(bank_ref, str) and _BANK_REF.fullmatch(bank_ref.strip())):
        raise validation_failed([FieldError(
            "bank_ref", "bank_ref_invalid", "the bank's reference: 1-64 of A-Z a-z 0-9 / . _ : - (starting with a "
            "letter or digit)", "شناسهٔ پیگیری بانک باید ۱ تا ۶۴ نویسه از حروف لاتین، رقم و / . _ : - باشد")])
    return bank_ref.strip()


def check_reason(reason: Any) -> str:
    if not (isinstance(reason, str) and reason.strip() and len(reason) <= MAX_REASON):
        raise validation_failed([FieldError("reason", "reason_invalid", f"why the bank refused: 1-{MAX_REASON} "
                                            "characters", f"علت ناموفق بودن واریز را در ۱ تا {MAX_REASON} نویسه بنویسید")])
    return reason.strip()


async def _locked(conn: asyncpg.Connection, remittance_id: str) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM remittances WHERE id = $1 FOR UPDATE", remittance_id)
    if row is None:
        raise PayoutRemittanceNotFound(f"no remittance {remittance_id[:64]!r}", "چنین حواله‌ای وجود ندارد")
    return row


def _refuse(row: asyncpg.Record, to: str) -> RemittanceTransitionInvalid:
    return RemittanceTransitionInvalid(
        f"remittance {row['id']} is {row['status']}; it cannot become {to}",
        f"حوالهٔ {row['id']} در وضعیت «{STATUS_FA[row['status']]}» است و نمی‌تواند «{STATUS_FA[to]}» شود",
        extra={"remittance_id": row["id"], "remittance_status": row["status"], "requested": to})


async def mark_paid(pool: asyncpg.Pool, remittance_id: str, bank_ref: str, made_by: str) -> dict[str, Any]:
    """``sent`` -> ``paid``: the payout posted once; the answer says whether this call paid it (``paid_now``)."""
    bank_ref = check_bank_ref(bank_ref)
    async with pool.acquire() as conn, conn.transaction():
        row = await _locked(conn, remittance_id)
        if row["status"] == PAID and row["bank_ref"] == bank_ref:
            return {**view(row), "paid_now": False}
        if row["status"] != SENT:
            raise _refuse(row, PAID)
        now = datetime.now(timezone.utc)
        p = Posting("payout", now, [(shop_payable(row["shop_id"]), row["total"], None), (PAYOUTS, -row["total"], None)],
                    event_id=f"payout:{row['id']}", shop_id=row["shop_id"],
                    reason=f"remittance {row['id']} paid, bank reference {bank_ref}", made_by=made_by)
        await _insert(conn, [p])
        posting_id = await conn.fetchval("SELECT id FROM postings WHERE event_id = $1", p.event_id)
        row = await conn.fetchrow("UPDATE remittances SET status = 'paid', bank_ref = $2, posting_id = $3, "
                                  "updated_at = now() WHERE id = $1 RETURNING *", row["id"], bank_ref, posting_id)
        await conn.execute("INSERT INTO remittance_history (remittance_id, status, made_by, bank_ref) "
                           "VALUES ($1, 'paid', $2, $3)", row["id"], made_by, bank_ref)
    return {**view(row), "paid_now": True}


async def mark_failed(pool: asyncpg.Pool, remittance_id: str, reason: str, made_by: str) -> dict[str, Any]:
    """``sent`` -> ``failed``: nothing was paid; the next run makes it due again, in its file."""
    reason = check_reason(reason)
    async with pool.acquire() as conn, conn.transaction():
        row = await _locked(conn, remittance_id)
        if row["status"] != SENT:
            raise _refuse(row, FAILED)
        row = await conn.fetchrow("UPDATE remittances SET status = 'failed', updated_at = now() WHERE id = $1 "
                                  "RETURNING *", row["id"])
        await conn.execute("INSERT INTO remittance_history (remittance_id, status, made_by, note) "
                           "VALUES ($1, 'failed', $2, $3)", row["id"], made_by, reason)
    return view(row)


async def announce(redis, row: dict[str, Any]) -> str:
    """The paid remittance's event on the shop's feed and the outbox the webhook dispatchers read."""
    from kernel.store import keys
    from kernel.store.keys import FEED_MAXLEN

    shop_id = row["shop_id"]
    at = iso_ms(datetime.fromisoformat(row["updated_at"]).timestamp())
    event = {"id": f"evt_{row['remittance_id']}_paid", "type": PAID_EVENT, "tracking_number": None,
             "shop_id": shop_id, "status": PAID, "occurred_at": at, "recorded_at": at, "office": None,
             "data": {k: row[k] for k in ("remittance_id", "period", "count", "collected", "fees", "total",
                                          "bank_ref")}}
    await redis.eval(ANNOUNCE, 2, keys.partition_events(keys.partition_of(shop_id)), keys.shop_feed(shop_id),
                     shop_id, row["remittance_id"], orjson.dumps(event), FEED_MAXLEN)
    return event["id"]


def view(row: asyncpg.Record) -> dict[str, Any]:
    return {"remittance_id": row["id"], "run_id": row["run_id"], "shop_id": row["shop_id"],
            "period": row["period"].isoformat(), "status": row["status"], "status_fa": STATUS_FA[row["status"]],
            "hold_reason": row["hold_reason"], "count": row["count"], "collected": row["collected"],
            "fees": {k: row[k] for k in ("shipping", "cod_fee", "insurance", "vat")}, "total": row["total"],
            "bank_ref": row["bank_ref"], "posting_id": row["posting_id"], "updated_at": row["updated_at"].isoformat()}


async def list_remittances(pool: asyncpg.Pool, shop_id: int | None = None, status: str | None = None,
                           run_id: int | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    if status is not None and status not in STATUSES:
        raise validation_failed([FieldError("status", "status_invalid", f"one of {', '.join(STATUSES)}",
                                            "وضعیت حواله نامعتبر است")])
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM remittances WHERE ($1::bigint IS NULL OR shop_id = $1) AND "
                                "($2::text IS NULL OR status = $2) AND ($3::bigint IS NULL OR run_id = $3) "
                                "ORDER BY period DESC, shop_id LIMIT $4", shop_id, status, run_id, limit)
    return [view(r) for r in rows]


def parse_day(raw: Any) -> date:
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) and len(raw) == 10 else date.fromisoformat("x")
    except ValueError:
        raise validation_failed([FieldError("as_of", "date_invalid", "a day as YYYY-MM-DD (Tehran calendar day)",
                                            "تاریخ باید به شکل YYYY-MM-DD باشد")]) from None
