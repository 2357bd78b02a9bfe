"""A shop's dispute over a delivered parcel's money (not remitted, wrong amount), which holds that amount until an
operator resolves or rejects it (docs/remittances.md, "Disputes").

Holding, in the same transaction as the dispute: a parcel in no remittance yet stays out of every run while the
dispute is open (the run skips parcels under open disputes); a parcel in a ``scheduled`` remittance holds that
whole remittance (``held``, ``open_dispute``) until its last open dispute closes, when it is ``scheduled`` again.
Money already sent or paid is not held (``held_amount`` 0): a resolved ``wrong_amount`` corrects it with an
adjustment posting (money/ledger.py ``adjust``).

One open dispute per parcel is the database's rule (``disputes_one_open``): a second is a 409, however many
requests race. Each change is an event (``dispute_opened``, ``dispute_resolved``) on the shop's feed and its
webhooks, appended to the partition outbox after the commit.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import asyncpg
import orjson
import redis.asyncio as aioredis

from kernel.errors import Conflict, FieldError, NotFound, validation_failed
from kernel.postal.timeutil import IRAN_TIME, iso_ms
from kernel.store import keys
from kernel.store.keys import FEED_MAXLEN

from . import ledger
from .rules import CLEARING, shop_payable
from .shop_money import unremitted

log = logging.getLogger("barid.money.disputes")

KINDS = {"not_remitted": "وجه مرسوله واریز نشده است", "wrong_amount": "مبلغ واریزی نادرست است"}
STATUSES = {"open": "باز، در حال بررسی", "resolved": "پذیرفته و حل شد", "rejected": "رد شد"}
OUTCOMES = ("resolved", "rejected")
EVENT_TYPES = ("dispute_opened", "dispute_resolved")
# The lock a shop's money changes take (with the shop id as the second key), held to the end of the transaction:
# opening a dispute and making the shop's remittance in a run exclude each other, so a parcel disputed while a run
# reads the open disputes cannot land in a remittance unheld.
SHOP_MONEY_LOCK = 0x52454D
COLUMNS = ("id, shop_id, tracking_number, kind, claimed_amount, held_amount, note, status, resolution, "
           "resolved_by, opened_at, resolved_at")


class DisputeParcelNotFound(NotFound):
    code = "dispute_parcel_not_found"
    title = "No delivered parcel of this shop with that tracking number"


class DisputeAlreadyOpen(Conflict):
    code = "dispute_already_open"
    title = "A dispute is already open for this parcel"


class DisputeNotFound(NotFound):
    code = "dispute_not_found"
    title = "No such dispute"


class DisputeClosed(Conflict):
    code = "dispute_closed"
    title = "The dispute is already closed"


def view(r: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    return {"dispute_id": r["id"], "tracking_number": r["tracking_number"], "kind": r["kind"],
            "kind_fa": KINDS[r["kind"]], "claimed_amount": r["claimed_amount"], "held_amount": r["held_amount"],
            "note": r["note"], "status": r["status"], "status_fa": STATUSES[r["status"]],
            "resolution": r["resolution"], "resolved_by": r["resolved_by"],
            "opened_at": r["opened_at"].astimezone(IRAN_TIME).isoformat(),
            "resolved_at": r["resolved_at"].astimezone(IRAN_TIME).isoformat() if r["resolved_at"] else None}


async def open_dispute(conn: asyncpg.Connection, shop_id: int, tn: str, kind: str, claimed: int | None,
                       note: str | None, made_by: str) -> dict[str, Any]:
    """Open the dispute and hold its amount, in one transaction; the dispute with ``remittance_id`` (the remittance
    it held, if any)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", SHOP_MONEY_LOCK, shop_id)
        if await conn.fetchval("SELECT 1 FROM deliveries WHERE tracking_number = $1 AND shop_id = $2",
                               tn, shop_id) is None:
            raise DisputeParcelNotFound(
                f"no delivered parcel {tn} of this shop (a delivery reaches the books within seconds)",
                f"مرسولهٔ تحویل‌شده‌ای با شمارهٔ {tn} برای این فروشگاه ثبت نشده است")
        line = await conn.fetchrow(
            "SELECT l.remittance_id, l.net, r.status FROM remittance_lines l JOIN remittances r "
            "ON r.id = l.remittance_id WHERE l.tracking_number = $1 FOR UPDATE OF r", tn)
        held_rem = None
        if line is None:
            lines = await unremitted(conn, shop_id, tn)
            held = max(0, lines[0].net) if lines else 0
        elif line["status"] in ("scheduled", "held"):
            held, held_rem = max(0, line["net"]), line["remittance_id"]
        else:  # sent, paid or failed: the money has left (or is being sent again); nothing left to hold
            held = 0
        try:
            row = await conn.fetchrow(
                f"INSERT INTO disputes (shop_id, tracking_number, kind, claimed_amount, held_amount, note) "
                f"VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}", shop_id, tn, kind, claimed, held, note)
        except asyncpg.UniqueViolationError:
            raise DisputeAlreadyOpen(f"a dispute is already open for {tn}; it is being looked into",
                                     f"برای مرسولهٔ {tn} پیش‌تر اعتراضی ثبت شده و در حال بررسی است") from None
        if held_rem is not None and line["status"] == "scheduled":
            await conn.execute("UPDATE remittances SET status = 'held', hold_reason = 'open_dispute', "
                               "updated_at = now() WHERE id = $1", held_rem)
            await conn.execute("INSERT INTO remittance_history (remittance_id, status, made_by, note) "
                               "VALUES ($1, 'held', $2, $3)", held_rem, made_by, f"dispute {row['id']} on {tn}")
    return {**view(row), "remittance_id": held_rem}


async def resolve(conn: asyncpg.Connection, dispute_id: int, outcome: str, note: str, made_by: str,
                  adjustment: int | None = None) -> dict[str, Any]:
    """Close the dispute (``resolved`` or ``rejected``), post the correction a resolved ``wrong_amount`` carries
    (``adjustment`` rials: positive, the post owes the shop more; negative, less) and release the remittance it
    held once no other dispute holds it. All in one transaction."""
    async with conn.transaction():
        row = await conn.fetchrow(f"SELECT {COLUMNS} FROM disputes WHERE id = $1 FOR UPDATE", dispute_id)
        if row is None:
            raise DisputeNotFound(f"no dispute {dispute_id}", f"اعتراضی با شمارهٔ {dispute_id} نیست")
        if row["status"] != "open":
            raise DisputeClosed(f"dispute {dispute_id} is already {row['status']}",
                                f"اعتراض {dispute_id} پیش‌تر بسته شده است ({STATUSES[row['status']]})")
        if adjustment and (outcome != "resolved" or row["kind"] != "wrong_amount"):
            raise validation_failed([FieldError(
                "adjustment", "adjustment_not_allowed", "only a resolved wrong_amount dispute carries an adjustment",
                "اصلاح مبلغ فقط برای اعتراض «مبلغ نادرست» که پذیرفته می‌شود ثبت می‌شود")])
        posting = None
        if adjustment:
            shop = shop_payable(row["shop_id"])
            debit, credit = (CLEARING, shop) if adjustment > 0 else (shop, CLEARING)
            posting = await ledger.adjust(conn, debit=debit, credit=credit, amount=abs(adjustment),
                                          reason=f"dispute {dispute_id}: {note}", made_by=made_by,
                                          shop_id=row["shop_id"], tracking_number=row["tracking_number"])
        row = await conn.fetchrow(
            f"UPDATE disputes SET status = $2, resolution = $3, resolved_by = $4, resolved_at = now() "
            f"WHERE id = $1 RETURNING {COLUMNS}", dispute_id, outcome, note, made_by)
        released = await conn.fetchval(
            "UPDATE remittances r SET status = 'scheduled', hold_reason = NULL, updated_at = now() "
            "FROM remittance_lines l WHERE l.tracking_number = $1 AND r.id = l.remittance_id AND r.status = 'held' "
            "AND r.hold_reason = 'open_dispute' AND NOT EXISTS (SELECT 1 FROM remittance_lines o JOIN disputes d "
            "ON d.tracking_number = o.tracking_number AND d.status = 'open' WHERE o.remittance_id = r.id) "
            "RETURNING r.id", row["tracking_number"])
        if released is not None:
            await conn.execute("INSERT INTO remittance_history (remittance_id, status, made_by, note) "
                               "VALUES ($1, 'scheduled', $2, $3)", released, made_by,
                               f"dispute {dispute_id} {outcome}")
    return {**view(row), "adjustment": posting, "released_remittance_id": released}


async def list_disputes(conn: asyncpg.Connection, shop_id: int, status: str | None, limit: int,
                        before: int | None) -> dict[str, Any]:
    """The shop's disputes, newest first, a page at a time (``before``: the next_cursor, a dispute id)."""
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM disputes WHERE shop_id = $1 AND ($2::text IS NULL OR status = $2) "
        f"AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4", shop_id, status, before, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [view(r) for r in rows], "next_cursor": str(rows[-1]["id"]) if more else None}


async def get(conn: asyncpg.Connection, dispute_id: int, shop_id: int | None = None) -> dict[str, Any]:
    """A dispute; with ``shop_id``, only that shop's (another's is a 404, as is none)."""
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM disputes WHERE id = $1", dispute_id)
    if row is None or (shop_id is not None and row["shop_id"] != shop_id):
        raise DisputeNotFound(f"no dispute {dispute_id} of this shop", f"اعتراضی با شمارهٔ {dispute_id} برای این فروشگاه نیست")
    return view(row)


async def announce(redis: aioredis.Redis, shop_id: int, event_type: str, dispute: dict[str, Any]) -> str:
    """Append the change to the shop's feed and its partition's outbox (webhooks read it), in one MULTI on the
    shop's partition slot. Called after the commit: a store that fails here loses the event, not the dispute."""
    now = iso_ms(time.time())
    eid = f"evt_dispute_{dispute['dispute_id']}_{'opened' if event_type == 'dispute_opened' else 'resolved'}"
    event = orjson.dumps({
        "id": eid, "type": event_type, "dispute_id": dispute["dispute_id"],
        "tracking_number": dispute["tracking_number"], "shop_id": shop_id, "status": dispute["status"],
        "occurred_at": now, "recorded_at": now, "office": None,
        "data": {k: dispute.get(k) for k in ("kind", "claimed_amount", "held_amount", "resolution",
                                             "remittance_id", "released_remittance_id") if dispute.get(k) is not None}})
    pipe = redis.pipeline(transaction=True)
    pipe.xadd(keys.partition_events(keys.partition_of(shop_id)),
              {"s": shop_id, "t": dispute["tracking_number"], "e": event})
    pipe.xadd(keys.shop_feed(shop_id), {"e": event}, maxlen=FEED_MAXLEN, approximate=True)
    await pipe.execute()
    return eid
