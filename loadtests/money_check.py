"""After a run, the books: nothing the system acknowledged is missing from the ledger, nothing is counted twice,
and every shop's collected cash is accounted for to the rial (docs/money.md, "Consistency").

Run after the ledger drained (``ledger_lag.wait_drained``), against the run's PostgreSQL:

* every acknowledged ``cod_collected`` scan's event has its posting, of kind ``cod_collected``; every acknowledged
  booking its booking posting; every acknowledged cancellation its reversal;
* no event id posts twice, and no parcel has two postings of one kind (booking, cod_collected, cancellation,
  return): the same money counted twice under two event ids;
* every posting balances (at least two entries summing to zero) and every entry belongs to a posting;
* every remittance line says what the ledger holds for its parcel: the COD collected and each fee (a line made
  before all of its parcel's postings were in pays the wrong amount for good);
* for every shop, collected = remitted + due + held, where (each from the tables, in rials):

  - collected: the COD the ledger credited the shop (``cod_collected`` postings, the shop payable's entry);
  - remitted: lines of remittances ``sent`` or ``paid``;
  - held: lines of ``held`` remittances, plus the COD collected on parcels in no remittance under an open dispute
    (the dispute keeps the parcel out of every run; its ``held_amount`` is what the shop is shown held, net of
    the fees, so in an identity of collected money the parcel's collected amount stands for it);
  - due: lines of ``scheduled`` or ``failed`` remittances (failed goes back to due), plus the COD collected on
    delivered parcels that are in no remittance and under no open dispute, whether their payout day has come or
    not.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

EXAMPLES = 5

COD_POSTED = "SELECT event_id, kind FROM postings WHERE event_id = ANY($1::text[])"

UNPOSTED_PARCELS = """
SELECT t.tn FROM unnest($1::text[]) AS t(tn)
 WHERE NOT EXISTS (SELECT 1 FROM postings p WHERE p.tracking_number = t.tn AND p.kind = $2)"""

TWICE_BY_EVENT = """
SELECT event_id FROM postings WHERE event_id IS NOT NULL GROUP BY event_id HAVING count(*) > 1"""

TWICE_BY_PARCEL = """
SELECT tracking_number, kind, count(*) AS n FROM postings
 WHERE event_id IS NOT NULL AND kind IN ('booking', 'cod_collected', 'cancellation', 'return')
 GROUP BY tracking_number, kind HAVING count(*) > 1"""

UNBALANCED = """
SELECT p.id, count(e.line) AS n, coalesce(sum(e.amount), 0) AS total
  FROM postings p LEFT JOIN entries e ON e.posting_id = p.id
 GROUP BY p.id HAVING count(e.line) < 2 OR coalesce(sum(e.amount), 0) <> 0"""

STALE_LINES = """
SELECT l.tracking_number, l.remittance_id FROM remittance_lines l
 CROSS JOIN LATERAL (
    SELECT coalesce(sum(-e.amount) FILTER (WHERE p.kind = 'cod_collected' AND e.account LIKE 'shop:%'), 0) AS c,
           coalesce(sum(-e.amount) FILTER (WHERE e.account = 'revenue:shipping'), 0) AS s,
           coalesce(sum(-e.amount) FILTER (WHERE e.account = 'revenue:cod_fee'), 0) AS f,
           coalesce(sum(-e.amount) FILTER (WHERE e.account = 'revenue:insurance'), 0) AS i,
           coalesce(sum(-e.amount) FILTER (WHERE e.account = 'vat:payable'), 0) AS v
      FROM postings p JOIN entries e ON e.posting_id = p.id
     WHERE p.tracking_number = l.tracking_number) x
 WHERE (l.collected, l.shipping, l.cod_fee, l.insurance, l.vat) IS DISTINCT FROM (x.c, x.s, x.f, x.i, x.v)"""

ORPHANS = "SELECT count(*) FROM entries e WHERE NOT EXISTS (SELECT 1 FROM postings p WHERE p.id = e.posting_id)"

# collected = remitted + due + held per shop; each term as the module docstring defines it.
SHOP_BOOKS = """
WITH col AS (
    SELECT p.shop_id, p.tracking_number, -sum(e.amount) AS amount
      FROM postings p JOIN entries e ON e.posting_id = p.id AND e.account = 'shop:' || p.shop_id || ':payable'
     WHERE p.kind = 'cod_collected'
     GROUP BY p.shop_id, p.tracking_number),
lines AS (
    SELECT r.shop_id, r.status, l.tracking_number, l.collected
      FROM remittance_lines l JOIN remittances r ON r.id = l.remittance_id),
disp AS (
    SELECT DISTINCT d.tracking_number FROM disputes d
     WHERE d.status = 'open'
       AND NOT EXISTS (SELECT 1 FROM remittance_lines l WHERE l.tracking_number = d.tracking_number)),
terms AS (
    SELECT shop_id, amount AS collected, 0 AS remitted, 0 AS due, 0 AS held FROM col
    UNION ALL SELECT shop_id, 0, collected, 0, 0 FROM lines WHERE status IN ('sent', 'paid')
    UNION ALL SELECT shop_id, 0, 0, collected, 0 FROM lines WHERE status IN ('scheduled', 'failed')
    UNION ALL SELECT shop_id, 0, 0, 0, collected FROM lines WHERE status = 'held'
    UNION ALL SELECT c.shop_id, 0, 0, 0, c.amount FROM col c
     WHERE EXISTS (SELECT 1 FROM disp WHERE disp.tracking_number = c.tracking_number)
    UNION ALL SELECT c.shop_id, 0, 0, c.amount, 0 FROM col c
     WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.tracking_number = c.tracking_number)
       AND NOT EXISTS (SELECT 1 FROM remittance_lines l WHERE l.tracking_number = c.tracking_number)
       AND NOT EXISTS (SELECT 1 FROM disp WHERE disp.tracking_number = c.tracking_number))
SELECT shop_id, sum(collected)::bigint AS collected, sum(remitted)::bigint AS remitted, sum(due)::bigint AS due,
       sum(held)::bigint AS held
  FROM terms GROUP BY shop_id ORDER BY shop_id"""


async def shop_books(conn: asyncpg.Connection) -> list[dict[str, int]]:
    """Per shop: collected, remitted, due, held (rials) and ``gap`` = collected - (remitted + due + held)."""
    rows = await conn.fetch(SHOP_BOOKS)
    return [{**dict(r), "gap": r["collected"] - r["remitted"] - r["due"] - r["held"]} for r in rows]


async def books_check(conn: asyncpg.Connection, cod_events: list[str], booked: list[str],
                      cancelled: list[str]) -> dict[str, Any]:
    """Every finding of the books against what was acknowledged (see the module docstring)."""
    posted = {r["event_id"]: r["kind"] for r in await conn.fetch(COD_POSTED, cod_events)}
    cod_missing = sorted(e for e in cod_events if e not in posted)
    cod_wrong_kind = sorted(e for e, k in posted.items() if k != "cod_collected")
    unbooked = [r["tn"] for r in await conn.fetch(UNPOSTED_PARCELS, booked, "booking")]
    unreversed = [r["tn"] for r in await conn.fetch(UNPOSTED_PARCELS, cancelled, "cancellation")]
    twice_event = [r["event_id"] for r in await conn.fetch(TWICE_BY_EVENT)]
    twice_parcel = [f"{r['tracking_number']} {r['kind']} x{r['n']}" for r in await conn.fetch(TWICE_BY_PARCEL)]
    unbalanced = [f"posting {r['id']}: {r['n']} entries summing to {r['total']}"
                  for r in await conn.fetch(UNBALANCED)]
    orphans = await conn.fetchval(ORPHANS)
    stale = [f"{r['tracking_number']} in {r['remittance_id']}" for r in await conn.fetch(STALE_LINES)]
    shops = await shop_books(conn)
    off = [s for s in shops if s["gap"]]
    totals = await conn.fetchrow("SELECT (SELECT count(*) FROM postings) AS postings, "
                                 "(SELECT count(*) FROM entries) AS entries")
    result: dict[str, Any] = {
        "checked": True,
        "postings": totals["postings"], "entries": totals["entries"],
        "cod_acked": len(cod_events), "cod_missing": len(cod_missing), "cod_wrong_kind": len(cod_wrong_kind),
        "bookings_unposted": len(unbooked), "cancels_unposted": len(unreversed),
        "posted_twice": len(twice_event) + len(twice_parcel), "unbalanced": len(unbalanced), "orphan_entries": orphans,
        "lines_stale": len(stale),
        "shops": len(shops), "shops_off": len(off),
        "collected": sum(s["collected"] for s in shops), "remitted": sum(s["remitted"] for s in shops),
        "due": sum(s["due"] for s in shops), "held": sum(s["held"] for s in shops),
        "examples": {"cod_missing": cod_missing[:EXAMPLES], "cod_wrong_kind": cod_wrong_kind[:EXAMPLES],
                     "bookings_unposted": unbooked[:EXAMPLES], "cancels_unposted": unreversed[:EXAMPLES],
                     "posted_twice": (twice_event + twice_parcel)[:EXAMPLES], "unbalanced": unbalanced[:EXAMPLES],
                     "lines_stale": stale[:EXAMPLES],
                     "shops_off": off[:EXAMPLES]},
    }
    result["consistent"] = not (cod_missing or cod_wrong_kind or unbooked or unreversed or twice_event
                                or twice_parcel or unbalanced or orphans or stale or off)
    return result


def ledger_acks(acks: dict[str, list[dict[str, Any]]]) -> tuple[list[str], list[str], list[str]]:
    """(cod_collected event ids, booked tracking numbers, cancelled tracking numbers) the run acknowledged."""
    cod = sorted({a["eid"] for a in acks.get("scan", ()) if a.get("ev") == "cod_collected"})
    booked = sorted({a["tn"] for a in acks.get("book", ())})
    cancelled = sorted({a["tn"] for a in acks.get("cancel", ())})
    return cod, booked, cancelled


def check(dsn: str, acks: dict[str, list[dict[str, Any]]], drained: bool, drain_note: str) -> dict[str, Any]:
    """The money verdict of a run: ``consistent`` and a one-line ``line`` like the store check's."""
    cod, booked, cancelled = ledger_acks(acks)

    async def go() -> dict[str, Any]:
        conn = await asyncpg.connect(dsn, timeout=30)
        try:
            return await books_check(conn, cod, booked, cancelled)
        finally:
            await conn.close()

    result = asyncio.run(go())
    result["drained"] = drained
    result["drain"] = drain_note
    result["consistent"] = result["consistent"] and drained
    result["line"] = (
        f"money {'CONSISTENT' if result['consistent'] else 'INCONSISTENT'}: "
        + ("" if drained else f"ledger NOT DRAINED ({drain_note}); ")
        + f"{result['cod_acked']} COD collections acknowledged ({result['cod_missing']} without a posting, "
        f"{result['cod_wrong_kind']} of another kind), {result['bookings_unposted']} bookings and "
        f"{result['cancels_unposted']} cancellations not posted, {result['posted_twice']} counted twice, "
        f"{result['unbalanced']} unbalanced postings of {result['postings']}, {result['orphan_entries']} stray "
        f"entries, {result['lines_stale']} remittance lines not matching the ledger; {result['shops']} shops, {result['shops_off']} off: collected {result['collected']:,} = "
        f"remitted {result['remitted']:,} + due {result['due']:,} + held {result['held']:,} rials")
    return result


def not_checked(reason: str) -> dict[str, Any]:
    return {"checked": False, "consistent": True, "line": f"money NOT CHECKED: {reason}"}
