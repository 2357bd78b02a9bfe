"""The one rule for a shop's settled lines not remitted yet: which parcels, settled when, with which amounts.

The remittance run (money/payouts.py) pays them; the shop's balance (money/shop_money.py) shows them; a dispute
(money/disputes.py) holds one's net. All three read them from the SQL here, so what the balance says is due is
what the run pays, to the rial (docs/remittances.md, "What a line is").

A line is a parcel whose money has settled, read from the ledger:

* a delivered parcel: prepaid at its delivery (a deduction line: collected 0, its fees), cash on delivery once
  its ``cod_collected`` posting exists (a COD parcel delivered with no collection recorded waits: the cash close
  names it);
* a parcel returned to its sender: at its return posting (nothing collected: its fees and the return fee are a
  deduction line).

Each line carries, per parcel, what its postings moved: ``collected`` (the ``cod_collected`` credit to the shop's
payable) and every fee (the booking's, less a cancellation's reversal, plus a return fee), so its net is exactly
what its postings moved on the shop's payable. A cancelled parcel nets to zero and never makes a line. A parcel in
a remittance line already is not a line again.

Either way only once its booking is posted (its ``parcels`` row): a worker killed holding the booking's event
leaves it pending until reclaimed while later events post, and a line made then would pay the COD without the
fees, for good (a parcel is in one remittance at most).

Two forms of the same SQL: for the run over every shop, temporary tables (``remit_open``, analysed so the planner
knows whether the run is large, then ``remit_settled``); for one shop or one parcel, the same queries as one
statement with the filter (the shop's deliveries and return postings by index).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from .rules import shop_payable

_AT = "coalesce(d.delivered_at, (d.business_date + time '08:00') AT TIME ZONE 'UTC')"
_OPEN_DISPUTE = "EXISTS (SELECT 1 FROM disputes x WHERE x.tracking_number = o.tracking_number AND x.status = 'open')"
_F = "coalesce(sum(-e.amount) FILTER (WHERE {}), 0)::bigint"

# The candidates: settled (delivered, or returned without a delivery), not in a remittance yet. {filters} narrow
# each branch (the instant, the shop, the parcel); {disputes} either drops a parcel under an open dispute or flags it.
CANDIDATES = """
SELECT o.*{flag} FROM (
    SELECT d.tracking_number, d.shop_id, {at} AS at,
           p.payment_type = 'cod' AS cod
      FROM deliveries d JOIN parcels p ON p.tracking_number = d.tracking_number  -- its booking is posted
     WHERE {delivered}
    UNION ALL
    SELECT r.tracking_number, r.shop_id, min(r.occurred_at), false FROM postings r
     WHERE r.kind = 'return' AND NOT EXISTS (SELECT 1 FROM deliveries d2 WHERE d2.tracking_number = r.tracking_number)
       AND EXISTS (SELECT 1 FROM parcels p2 WHERE p2.tracking_number = r.tracking_number)
           {returned}
     GROUP BY r.tracking_number, r.shop_id{having}
) o
 WHERE NOT EXISTS (SELECT 1 FROM remittance_lines l WHERE l.tracking_number = o.tracking_number){drop}"""

# Then each candidate's postings summed: a COD parcel with no collection posted is not settled and drops out.
SETTLED = f"""
SELECT o.shop_id, o.tracking_number, o.at, a.collected, a.shipping, a.cod_fee, a.insurance, a.vat{{flag}}
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


def _sql(*, before: datetime | None, shop_id: int | None, tracking_number: str | None,
         disputed: bool) -> tuple[str, str, list]:
    """The candidates' and the lines' SQL for these filters, and their arguments."""
    args: list = []

    def arg(value) -> str:
        args.append(value)
        return f"${len(args)}"

    delivered, returned, having = [], [], ""
    if before is not None:
        at = arg(before)
        delivered.append(f"{_AT} < {at}")
        having = f" HAVING min(r.occurred_at) < {at}"
    if shop_id is not None:
        sid = arg(shop_id)
        delivered.append(f"d.shop_id = {sid}")
        # by the shop's payable account (indexed), as postings are indexed by parcel, not by shop
        returned.append(f"AND r.shop_id = {sid} AND r.id IN (SELECT e.posting_id FROM entries e "
                        f"WHERE e.account = {arg(shop_payable(shop_id))})")
    if tracking_number is not None:
        tn = arg(tracking_number)
        delivered.append(f"d.tracking_number = {tn}")
        returned.append(f"AND r.tracking_number = {tn}")
    candidates = CANDIDATES.format(
        at=_AT, delivered=" AND ".join(delivered) or "true", returned=" ".join(returned), having=having,
        flag=f", {_OPEN_DISPUTE} AS disputed" if disputed else "",
        drop="" if disputed else f"\n   AND NOT {_OPEN_DISPUTE}")
    return candidates, SETTLED.format(flag=", o.disputed" if disputed else ""), args


async def create_settled(conn: asyncpg.Connection, before: datetime) -> None:
    """The run's lines, every shop's, settled before ``before`` and not under an open dispute, into the temporary
    table ``remit_settled`` (dropped at commit: call in a transaction)."""
    candidates, settled, args = _sql(before=before, shop_id=None, tracking_number=None, disputed=False)
    await conn.execute(f"CREATE TEMP TABLE remit_open ON COMMIT DROP AS {candidates}", *args)
    await conn.execute("ANALYZE remit_open")
    await conn.execute(f"CREATE TEMP TABLE remit_settled ON COMMIT DROP AS {settled}")


async def settled(conn: asyncpg.Connection, *, shop_id: int | None = None, before: datetime | None = None,
                  tracking_number: str | None = None, disputed: bool = False) -> list[asyncpg.Record]:
    """The settled lines not remitted yet, oldest first: ``shop_id``'s (every shop's when None), settled before
    ``before`` (any time when None), one parcel's with ``tracking_number``. A parcel under an open dispute is left
    out, as the run leaves it, unless ``disputed``: then it is in, with ``disputed`` true (others false).

    Columns: shop_id, tracking_number, at (settled at: delivered or returned), collected, shipping, cod_fee,
    insurance, vat [, disputed]."""
    candidates, lines, args = _sql(before=before, shop_id=shop_id, tracking_number=tracking_number,
                                   disputed=disputed)
    return await conn.fetch(f"WITH remit_open AS MATERIALIZED ({candidates})\n{lines}\n"
                            " ORDER BY o.at, o.tracking_number", *args)
