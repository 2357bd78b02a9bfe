"""The remittance run: as of a Tehran day, every shop's settled lines not yet remitted become its remittance.

A line is a parcel whose money has settled, read from the ledger in one set-based query:

* a delivered parcel: prepaid at its delivery, cash on delivery once its ``cod_collected`` posting exists (a
  COD parcel delivered with no collection recorded waits: the cash close names it);
* a parcel returned to its sender: at its return posting (nothing collected: its fees and the return fee are a
  deduction line, collected 0).

Either way only once its booking is posted (its ``parcels`` row): a worker killed holding the booking's event
leaves it pending until reclaimed while later events post, and a line made then would pay the COD without the
fees, for good (a parcel is in one remittance at most).

Each line carries, per parcel, what its postings moved: ``collected`` (the ``cod_collected`` credit to the
shop's payable) and every fee (the booking's, less a cancellation's reversal, plus a return fee), so a line's
net is exactly what its postings moved on the shop's payable, and the shop's payable equals its unpaid
remittances plus its lines not remitted yet, to the rial (manual adjustments aside: docs/remittances.md). A
cancelled parcel nets to zero and never makes a line. A parcel under an open dispute stays out until resolved.

``money.remittance.make_remittance`` decides per shop (cycle from the policy and the shop's plan, working days
from kernel/postal/workdays.py, the minimum payout, an unverified account holding it). The writes are batched
(unnest, COPY) in one transaction under an advisory lock: two runs at once run one after the other, and the
second finds the lines taken (a line's primary key is its tracking number: a parcel is never paid twice).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from kernel.postal import workdays
from kernel.postal.timeutil import IRAN_TIME

from .policy import policy
from .remittance import (
    FAILED,
    HELD,
    HOLD_DISPUTE,
    HOLD_UNVERIFIED_ACCOUNT,
    SCHEDULED,
    Line,
    RemittanceLineInvalid,
    make_remittance,
)

log = logging.getLogger("barid.money.payouts")

RUN_LOCK = 0x6261726964_02  # the advisory lock every remittance run (and payout file) takes
OPEN = (SCHEDULED, HELD, FAILED)  # not in a bank's hands yet: a run may hold, release or take them again


@dataclass(frozen=True, slots=True)
class Payee:
    """What a run needs of a shop's record: where its money goes and on which cycle."""

    shop_id: int
    name: str = ""
    sheba: str | None = None
    verified: bool = False
    plan: str | None = None

    @property
    def payable(self) -> bool:
        return self.sheba is not None and self.verified


# shop ids -> their payees (a shop missing from the answer has no account: its remittance is held)
Payees = Callable[[list[int]], Awaitable[dict[int, Payee]]]


def store_payees(redis) -> Payees:
    """Payees read from the shops' records in the store (one pipelined round trip per call)."""
    from kernel.store import keys

    async def read(shop_ids: list[int]) -> dict[int, Payee]:
        pipe = redis.pipeline(transaction=False)
        for sid in shop_ids:
            pipe.hmget(keys.shop(sid), "name", "sheba", "sheba_verified", "settlement_plan")
        out = {}
        for sid, (name, sheba, verified, plan) in zip(shop_ids, await pipe.execute()):
            if name is None and sheba is None:
                continue
            out[sid] = Payee(sid, (name or b"").decode(), sheba.decode() if sheba else None, verified == b"1",
                             plan.decode() if plan else None)
        return out

    return read


def store_names(redis):
    """Shops' names from their records in the store, for the payout files."""
    read = store_payees(redis)

    async def names(shop_ids: list[int]) -> dict[int, str]:
        return {sid: p.name for sid, p in (await read(shop_ids)).items()}

    return names


working_day = functools.lru_cache(maxsize=4096)(workdays.is_working_day)

_F = "coalesce(sum(-e.amount) FILTER (WHERE {}), 0)::bigint"
# Set-based, in two steps. First the candidates (settled, before the day's end, not remitted, not disputed) into a
# temporary table, analysed, so the planner knows whether the run is large (hash joins over the ledger, one hash
# aggregate) or small (index lookups per parcel) before it joins them to their postings and entries.
OPEN_CANDIDATES = """
CREATE TEMP TABLE remit_open ON COMMIT DROP AS
SELECT o.* FROM (
    SELECT d.tracking_number, d.shop_id,
           coalesce(d.delivered_at, (d.business_date + time '08:00') AT TIME ZONE 'UTC') AS at,
           p.payment_type = 'cod' AS cod
      FROM deliveries d JOIN parcels p ON p.tracking_number = d.tracking_number  -- its booking is posted
     WHERE coalesce(d.delivered_at, (d.business_date + time '08:00') AT TIME ZONE 'UTC') < $1
    UNION ALL
    SELECT r.tracking_number, r.shop_id, min(r.occurred_at), false FROM postings r
     WHERE r.kind = 'return' AND NOT EXISTS (SELECT 1 FROM deliveries d2 WHERE d2.tracking_number = r.tracking_number)
       AND EXISTS (SELECT 1 FROM parcels p2 WHERE p2.tracking_number = r.tracking_number)
     GROUP BY r.tracking_number, r.shop_id HAVING min(r.occurred_at) < $1
) o
 WHERE NOT EXISTS (SELECT 1 FROM remittance_lines l WHERE l.tracking_number = o.tracking_number)
   AND NOT EXISTS (SELECT 1 FROM disputes x WHERE x.tracking_number = o.tracking_number AND x.status = 'open')"""

# Then each candidate's postings summed: a COD parcel with no collection posted is not settled and drops out.
SETTLED_LINES = f"""
CREATE TEMP TABLE remit_settled ON COMMIT DROP AS
SELECT o.shop_id, o.tracking_number, o.at, a.collected, a.shipping, a.cod_fee, a.insurance, a.vat
  FROM remit_open o JOIN (
    SELECT p.tracking_number, bool_or(p.kind = 'cod_collected') AS has_collection,
           {_F.format("p.kind = 'cod_collected' AND e.account LIKE 'shop:%'")} AS collected,
           {_F.format("e.account = 'revenue:shipping'")} AS shipping,
           {_F.format("e.account = 'revenue:cod_fee'")} AS cod_fee,
           {_F.format("e.account = 'revenue:insurance'")} AS insurance,
           {_F.format("e.account = 'vat:payable'")} AS vat
      FROM postings p JOIN entries e ON e.posting_id = p.id
     WHERE p.kind IN ('booking', 'cod_collected', 'cancellation', 'return')
       AND p.tracking_number IN (SELECT tracking_number FROM remit_open)  -- S10 numbers are unique across shops
     GROUP BY p.tracking_number) a ON a.tracking_number = o.tracking_number
 WHERE NOT o.cod OR a.has_collection"""
# Memory for the run's joins and aggregate (this transaction only): a large run stays off the disk.
RUN_WORK_MEM = "256MB"

OPEN_REMITTANCES = """
SELECT r.id, r.run_id, r.shop_id, r.status, r.hold_reason, r.sheba,
       EXISTS (SELECT 1 FROM remittance_lines l JOIN disputes x ON x.tracking_number = l.tracking_number
                WHERE l.remittance_id = r.id AND x.status = 'open') AS disputed
  FROM remittances r WHERE r.status = ANY($1::text[]) ORDER BY r.id FOR UPDATE"""

UPDATE_OPEN = """
UPDATE remittances r SET status = u.status, hold_reason = u.hold_reason, sheba = u.sheba, run_id = u.run_id,
       updated_at = now()
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) AS u (id, status, hold_reason, sheba, run_id)
 WHERE r.id = u.id AND (r.status, r.hold_reason, r.sheba, r.run_id) IS DISTINCT FROM
                       (u.status, u.hold_reason, u.sheba, u.run_id)"""

# A remittance of the same shop and payout day made by an earlier run today takes the new lines while no bank has
# it yet (scheduled or held); once sent, paid or failed it is left alone and the lines wait for the next day.
UPSERT = """
INSERT INTO remittances AS r (id, run_id, shop_id, period, status, hold_reason, sheba, count, collected, shipping,
                              cod_fee, insurance, vat, total)
SELECT u.id, $1, u.shop_id, $2, u.status, u.hold_reason, u.sheba, u.count, u.collected, u.shipping, u.cod_fee,
       u.insurance, u.vat, u.total
  FROM unnest($3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::int[], $9::bigint[], $10::bigint[],
              $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[])
       AS u (id, shop_id, status, hold_reason, sheba, count, collected, shipping, cod_fee, insurance, vat, total)
ON CONFLICT (id) DO UPDATE SET count = r.count + EXCLUDED.count, collected = r.collected + EXCLUDED.collected,
       shipping = r.shipping + EXCLUDED.shipping, cod_fee = r.cod_fee + EXCLUDED.cod_fee,
       insurance = r.insurance + EXCLUDED.insurance, vat = r.vat + EXCLUDED.vat, total = r.total + EXCLUDED.total,
       updated_at = now()
 WHERE r.status IN ('scheduled', 'held')
RETURNING r.id, r.status, (xmax = 0) AS created"""

# The lines each remittance took (remit_pick, from make_remittance), with their amounts as the query found them.
INSERT_LINES = """
INSERT INTO remittance_lines (tracking_number, remittance_id, delivered_at, collected, shipping, cod_fee, insurance,
                              vat, net)
SELECT s.tracking_number, k.remittance_id, s.at, s.collected, s.shipping, s.cod_fee, s.insurance, s.vat,
       s.collected - s.shipping - s.cod_fee - s.insurance - s.vat
  FROM remit_pick k JOIN remit_settled s ON s.tracking_number = k.tracking_number"""
HISTORY_COLUMNS = ("remittance_id", "status", "made_by", "note")


def day_end(as_of: date) -> datetime:
    """The first instant after ``as_of`` in Tehran: a run as of a day sees the deliveries up to its end."""
    return datetime.combine(as_of + timedelta(days=1), datetime.min.time(), IRAN_TIME)


def today() -> date:
    return datetime.now(IRAN_TIME).date()


async def _review(conn: asyncpg.Connection, run_id: int, payees: dict[int, Payee], made_by: str,
                  history: list[tuple]) -> dict[str, int]:
    """Every remittance no bank has yet, checked again: held while the account is unverified or a line is
    disputed, released once not; failed ones due again. The ones that become due now (released, failed before)
    are taken into this run's payout file; the others stay in the run (and file) that made them."""
    rows = await conn.fetch(OPEN_REMITTANCES, list(OPEN))
    ids, statuses, reasons, shebas, runs = [], [], [], [], []
    counts = {"released": 0, "put_on_hold": 0, "due_again": 0}
    for r in rows:
        payee = payees.get(r["shop_id"])
        if payee is None or not payee.payable:
            status, reason = HELD, HOLD_UNVERIFIED_ACCOUNT
        elif r["disputed"]:
            status, reason = HELD, HOLD_DISPUTE
        else:
            status, reason = SCHEDULED, None
        current, current_reason = r["status"], r["hold_reason"]
        if current == FAILED:  # the bank refused it: due again (scheduled), then held if it must be
            history.append((r["id"], SCHEDULED, made_by, f"due again in run {run_id}"))
            counts["due_again"] += 1
            current, current_reason = SCHEDULED, None
        if (status, reason) != (current, current_reason):
            history.append((r["id"], status, made_by, reason or f"released in run {run_id}"))
            counts["released" if status == SCHEDULED else "put_on_hold"] += 1
        ids.append(r["id"])
        runs.append(run_id if status == SCHEDULED and r["status"] != SCHEDULED else r["run_id"])
        statuses.append(status)
        reasons.append(reason)
        shebas.append(payee.sheba if payee else r["sheba"])
    if ids:
        await conn.execute(UPDATE_OPEN, ids, statuses, reasons, shebas, runs)
    return counts


async def run(pool: asyncpg.Pool, payees: Payees, as_of: date | None = None, *, made_by: str = "operator",
              once_per_day: bool = False) -> dict[str, Any]:
    """The remittance run as if on ``as_of`` (default: today in Tehran); its summary. ``once_per_day``: when
    ``made_by`` already ran for that day, nothing is done and that run is answered (the scheduled worker)."""
    as_of = as_of or today()
    started = time.perf_counter()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", RUN_LOCK)
        if once_per_day:
            done = await conn.fetchrow("SELECT * FROM remittance_runs WHERE as_of = $1 AND made_by = $2 "
                                       "ORDER BY id LIMIT 1", as_of, made_by)
            if done is not None:
                return {**_run_view(done), "skipped": True}
        await conn.execute(f"SET LOCAL work_mem = '{RUN_WORK_MEM}'; SET LOCAL DateStyle = 'ISO'; "
                           "SET LOCAL TimeZone = 'UTC'")
        run_id = await conn.fetchval("INSERT INTO remittance_runs (as_of, made_by) VALUES ($1, $2) RETURNING id",
                                     as_of, made_by)
        phases = {"query": time.perf_counter()}
        await conn.execute(OPEN_CANDIDATES, day_end(as_of))
        await conn.execute("ANALYZE remit_open")
        await conn.execute(SETTLED_LINES)
        # the time as text (ISO, UTC: set for this transaction): the lines need it as a string, and the rows
        # written go from this table to remittance_lines in SQL, so no timestamp is decoded or encoded here
        rows = await conn.fetch("SELECT shop_id, tracking_number, at::text AS at, collected, shipping, cod_fee, "
                                "insurance, vat FROM remit_settled")
        phases["query"] = time.perf_counter() - phases["query"]
        open_shops = await conn.fetch("SELECT DISTINCT shop_id FROM remittances WHERE status = ANY($1::text[])",
                                      list(OPEN))
        shop_ids = sorted({r["shop_id"] for r in rows} | {r["shop_id"] for r in open_shops})
        known = await payees(shop_ids) if shop_ids else {}
        history: list[tuple] = []
        reviewed = await _review(conn, run_id, known, made_by, history)
        taken = {r["shop_id"]: r["status"] for r in await conn.fetch(
            "SELECT shop_id, status FROM remittances WHERE period = $1", as_of)}
        t = time.perf_counter()
        made, counts = _decide(rows, known, as_of, taken)
        phases["decide"] = time.perf_counter() - t
        t = time.perf_counter()
        summary = await _write(conn, run_id, as_of, made, made_by, history)
        phases["write"] = time.perf_counter() - t
        summary.update(reviewed)
        summary.update(counts)
        row = await conn.fetchrow(
            "UPDATE remittance_runs SET finished_at = clock_timestamp(), shops = $2, remittances = $3, total = $4 "
            "WHERE id = $1 RETURNING *", run_id, summary["shops"], summary["remittances"], summary["total"])
    return {**_run_view(row), **summary, "seconds": round(time.perf_counter() - started, 3),
            "phase_seconds": {k: round(v, 3) for k, v in phases.items()}}


def _run_view(row) -> dict[str, Any]:
    return {"run_id": row["id"], "as_of": row["as_of"].isoformat(), "made_by": row["made_by"],
            "started_at": row["started_at"].isoformat(),
            "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
            "shops": row["shops"], "remittances": row["remittances"], "total": row["total"]}


def _lines(rows: Iterable) -> list[Line]:
    lines = []
    for r in rows:
        try:
            lines.append(Line(r["tracking_number"], r["at"], r["collected"], r["shipping"],
                              r["cod_fee"], r["insurance"], r["vat"]))
        except RemittanceLineInvalid as exc:  # one broken parcel must not stop every shop's payout
            log.warning("remittance run: line left out: %s", exc)
            continue
    return lines


def _decide(rows: list, payees: dict[int, Payee], as_of: date, taken: dict[int, str]):
    """Per shop, ``make_remittance`` on its lines: [(remittance, payee, delivered_at by parcel)], counts."""
    made = []
    counts = {"rolled_over_lines": 0, "waiting_lines": 0, "deferred_lines": 0}
    by_shop: dict[int, list] = {}
    for r in rows:
        by_shop.setdefault(r["shop_id"], []).append(r)
    for shop_id, group in by_shop.items():
        if taken.get(shop_id) not in (None, SCHEDULED, HELD):  # today's remittance is with the bank already
            counts["deferred_lines"] += len(group)
            continue
        payee = payees.get(shop_id) or Payee(shop_id)
        lines = _lines(group)
        result = make_remittance(shop_id, lines, as_of, policy().cycle(payee.plan), working_day,
                                 account_verified=payee.payable)
        counts["rolled_over_lines"] += len(result.rolled_over)
        counts["waiting_lines"] += len(result.waiting)
        if result.remittance is not None:
            made.append((result.remittance, payee))
    return made, counts


async def _write(conn: asyncpg.Connection, run_id: int, as_of: date, made: list, made_by: str,
                 history: list[tuple]) -> dict[str, Any]:
    cols: list[list] = [[] for _ in range(12)]
    for rem, payee in made:
        fees = rem.fee_totals()
        for col, v in zip(cols, (rem.id, rem.shop_id, rem.status, rem.hold_reason, payee.sheba, len(rem.lines),
                                 rem.collected, fees["shipping"], fees["cod_fee"], fees["insurance"], fees["vat"],
                                 rem.total)):
            col.append(v)
    written = {r["id"]: r for r in await conn.fetch(UPSERT, run_id, as_of, *cols)} if made else {}
    lines, summary = [], {"shops": 0, "remittances": 0, "scheduled": 0, "held": 0, "lines": 0, "total": 0,
                          "added_to_earlier": 0}
    for rem, _payee in made:
        if rem.id not in written:
            continue
        summary["shops"] += 1
        summary["lines"] += len(rem.lines)
        summary["total"] += rem.total
        if written[rem.id]["created"]:
            summary["remittances"] += 1
            summary[rem.status] += 1
            history.append((rem.id, rem.status, made_by, rem.hold_reason or f"made by run {run_id}"))
        else:
            summary["added_to_earlier"] += 1
            history.append((rem.id, written[rem.id]["status"], made_by,
                            f"{len(rem.lines)} lines added by run {run_id}"))
        lines.extend((x.tracking_number, rem.id) for x in rem.lines)
    if lines:
        await conn.execute("CREATE TEMP TABLE remit_pick (tracking_number text, remittance_id text) ON COMMIT DROP")
        await conn.copy_records_to_table("remit_pick", records=lines)
        await conn.execute("ANALYZE remit_pick; ANALYZE remit_settled")
        await conn.execute(INSERT_LINES)
    if history:
        await conn.copy_records_to_table("remittance_history", records=history, columns=HISTORY_COLUMNS)
    return summary
