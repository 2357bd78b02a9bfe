"""Property tests of the ledger: random histories of real bookings, scans, cancellations, returns, duplicated
events, ledger workers killed mid-batch, remittance runs, payout files, the bank's answers and the shop's
disputes, through the real gateway, store, ledger worker, remittance run and PostgreSQL.

Whatever the history, the books keep every invariant:

* each event posts at most once, and each parcel has exactly the postings its acknowledged history calls for
  (a booking; a cancellation, a return or a COD collection when one was acknowledged), none twice;
* every posting balances;
* the shop's payable is exactly its fees (bookings less cancellations, plus return fees) less the COD collected,
  plus what was paid out to it (each paid remittance's total, posted once);
* collected = remitted + due + held for the shop, and each remittance line says what the ledger holds for its
  parcel (collected and each fee), so no fee is left out of a payment;
* no entry is ever changed once written;
* the load kit's money check (loadtests.money_check) finds the books consistent.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kernel.errors import BaridError
from kernel.store import keys
from loadtests.money_check import books_check
from money import disputes, ledger, payout_ops, payouts
from money.rules import posting_for, shop_payable
from money.worker import LedgerWorker
from tests.money.conftest import OFFICE, book, device_time, isfahan
from tests.routing.office_flow import to_office

_ids = itertools.count()
PARCELS = 5  # a history's parcels are its first bookings; indexes wrap onto them

# The first choice of each is the one hypothesis starts from: a parcel delivered and its cash collected.
METHOD = st.sampled_from(["cash", "card", "cash", "card", None])
SETTLE = st.one_of(
    st.tuples(st.just("remit"), st.sampled_from([0, 9, 30])),  # a remittance run as of today + N days
    st.tuples(st.just("send"), st.just(0)),  # a run's payout file: its scheduled remittances are sent
    st.tuples(st.just("bank"), st.booleans()),  # the bank pays (or refuses) the oldest sent remittance
    st.tuples(st.just("dispute"), st.integers(0, PARCELS - 1)),  # the shop disputes a parcel's money
    st.tuples(st.just("resolve"), st.integers(0, PARCELS - 1), st.sampled_from(["resolved", "rejected"])),
)
DELIVER = st.tuples(st.just("deliver"), st.integers(0, PARCELS - 1), METHOD)  # with a method, collected at once
EVENTS = st.lists(st.one_of(
    DELIVER,
    st.tuples(st.just("book"), st.booleans(), st.integers(5, 45)),  # COD or prepaid, goods value x 1,000,000 (no OTP)
    DELIVER, DELIVER,  # most parcels are delivered
    st.tuples(st.just("collect"), st.integers(0, PARCELS - 1), st.sampled_from(["cash", "card"])),
    st.tuples(st.just("cancel"), st.integers(0, PARCELS - 1)),
    st.tuples(st.just("return"), st.integers(0, PARCELS - 1)),
    st.tuples(st.just("duplicate"), st.integers(0, PARCELS - 1)),  # the device resends its last scan
    st.tuples(st.just("replay"), st.integers(1, 3)),  # an outbox entry written again (the event twice)
    st.tuples(st.just("crash"), st.sampled_from(["before_commit", "after_commit"])),
    st.tuples(st.just("drain"), st.sampled_from([0, 30_000])),  # reclaiming a dead worker's entries at once, or not yet
    SETTLE,
), min_size=3, max_size=12)
# Then everything posted, a run that finds every settled parcel due, and the money settled a few times more.
OPS = st.tuples(EVENTS, st.lists(SETTLE, max_size=5)).map(
    lambda t: [*t[0], ("drain", 0), ("remit", 30), ("send", 0), *t[1]])


class Killed(Exception):
    """A ledger worker dying between its PostgreSQL commit and its acknowledgement."""


class DiesBeforeAck(LedgerWorker):
    async def _ack(self, taken: dict) -> None:
        raise Killed


@dataclass
class Parcel:
    doc: dict[str, Any]
    state: str = "booked"  # booked | delivered | cancelled | returned
    kinds: list[str] = field(default_factory=lambda: ["booking"])  # the postings its history calls for
    collected: int = 0
    return_fee: int = 0
    last_scan: dict[str, Any] | None = None

    @property
    def tn(self) -> str:
        return self.doc["tracking_number"]


class History:
    """One random history against the real system, and what the books must then say."""

    def __init__(self, client, redis, pool, group: str, shop, staff) -> None:
        self.client, self.redis, self.pool, self.group, self.shop, self.staff = client, redis, pool, group, shop, staff
        self.parcels: list[Parcel] = []
        self.cod_events: list[str] = []
        self.seen: dict[tuple, tuple] = {}  # every entry of the shop read so far: (posting, line) -> row
        self.runs: list[int] = []

    def worker(self, cls: type[LedgerWorker] = LedgerWorker, claim_idle_ms: int = 0) -> LedgerWorker:
        """A new worker process: a consumer of its own, reclaiming at once what a dead one left pending (or, like
        a production worker, only what has been pending ``claim_idle_ms``)."""
        return cls(self.redis, self.pool, f"prop-{time.time_ns()}", claim_idle_ms=claim_idle_ms, group=self.group)

    async def scan(self, p: Parcel, event: str, office: str, **fields: Any) -> bool:
        body = {"tracking_number": p.tn, "event": event, "office": office, "scan_id": f"prop-{next(_ids)}",
                "occurred_at": device_time(), **fields}
        if event == "delivered":
            body["receiver_name"] = "مریم احمدی"
        resp = await self.client.post("/v1/scans", json=body, headers=await self.staff(office))
        if resp.status not in (200, 201):
            assert resp.status in (409, 422), await resp.text()  # refused by the parcel's state: nothing happened
            return False
        result = await resp.json()
        assert not result["duplicate"]
        p.last_scan = body
        if event == "cod_collected":
            self.cod_events.append(result["event_id"])
        return True

    async def apply(self, op: tuple) -> None:
        name, arg = op[0], op[1]
        if name == "book":
            payment = {"type": "cod", "goods_value": op[2] * 1_000_000} if arg else {"type": "prepaid"}
            (doc,) = await book(self.client, self.shop, [isfahan(len(self.parcels), payment=payment)])
            self.parcels.append(Parcel(doc))
            return
        if name == "replay":
            return await self.replay(arg)
        if name == "crash":
            return await self.crash(arg)
        if name == "drain":
            return await self.drain(arg)
        if name in ("remit", "send", "bank"):
            return await self.remittance(name, arg)
        if name in ("dispute", "resolve"):
            return await self.dispute(name, arg, op[2] if len(op) > 2 else "")
        if not self.parcels:
            return
        p = self.parcels[arg % len(self.parcels)]
        if name == "deliver" and p.state == "booked":
            for step, office in [*to_office(p.doc), ("out_for_delivery", OFFICE), ("delivered", OFFICE)]:
                assert await self.scan(p, step, office)
            p.state = "delivered"
            if op[2]:
                await self.apply(("collect", arg, op[2]))
        elif name == "collect" and p.state == "delivered" and not p.collected:
            pay = p.doc["payment"]
            amount = pay.get("goods_value") or 1_000_000
            extra = {"rrn": f"{next(_ids):012d}"} if op[2] == "card" else {"postman": "p-7"}
            if await self.scan(p, "cod_collected", OFFICE, amount=amount, method=op[2], **extra):
                p.collected = amount
                p.kinds.append("cod_collected")
        elif name == "cancel" and p.state == "booked":
            resp = await self.client.post(f"/v1/shipments/{p.tn}/cancel", headers=self.shop.headers)
            if resp.status == 200:
                p.state = "cancelled"
                p.kinds.append("cancellation")
        elif name == "return" and p.state == "booked":
            origin = p.doc["route"][0]
            assert await self.scan(p, "accepted", origin)
            assert await self.scan(p, "returned_to_sender", origin)
            p.state = "returned"
            p.kinds.append("return")
            event = {"id": "x", "type": "returned_to_sender", "shop_id": self.shop.id, "tracking_number": p.tn,
                     "occurred_at": "2026-12-07T10:00:00+03:30"}
            fee = posting_for(event, p.doc)
            p.return_fee = dict((a, amt) for a, amt, _ in fee.entries)[shop_payable(self.shop.id)] if fee else 0
        elif name == "duplicate" and p.last_scan is not None:
            resp = await self.client.post("/v1/scans", json=p.last_scan, headers=await self.staff(p.last_scan["office"]))
            assert resp.status in (200, 201) and (await resp.json())["duplicate"], await resp.text()

    async def remittance(self, name: str, arg: Any) -> None:
        if name == "remit":
            done = await payouts.run(self.pool, payouts.store_payees(self.redis),
                                     payouts.today() + timedelta(days=arg), made_by="prop")
            self.runs.append(done["run_id"])
            return
        if name == "send" and self.runs:
            async with self.pool.acquire() as conn:  # the run holding the shop's oldest scheduled remittance
                run_id = await conn.fetchval("SELECT run_id FROM remittances WHERE shop_id = $1 AND status = "
                                             "'scheduled' ORDER BY period LIMIT 1", self.shop.id)
            try:
                await payout_ops.payout_file(self.pool, run_id or self.runs[-1], "csv", _no_names, "prop")
            except BaridError as exc:  # nothing scheduled in that run: no file, nothing sent
                assert exc.code == "payout_file_empty", exc
            return
        async with self.pool.acquire() as conn:
            rid = await conn.fetchval("SELECT id FROM remittances WHERE shop_id = $1 AND status = 'sent' "
                                      "ORDER BY period LIMIT 1", self.shop.id)
        if rid is None:
            return
        if arg:
            await payout_ops.mark_paid(self.pool, rid, f"REF-{next(_ids)}", "prop")
        else:
            await payout_ops.mark_failed(self.pool, rid, "the account was closed", "prop")

    async def dispute(self, name: str, i: int, outcome: str) -> None:
        """A shop's dispute (it holds the parcel's money) or its resolution without a correction."""
        if not self.parcels:
            return
        tn = self.parcels[i % len(self.parcels)].tn
        async with self.pool.acquire() as conn:
            if name == "dispute":
                try:
                    await disputes.open_dispute(conn, self.shop.id, tn, "not_remitted", None, "prop", "shop")
                except BaridError as exc:  # not delivered (or not posted yet), or one already open: nothing held
                    assert exc.code in ("dispute_parcel_not_found", "dispute_already_open"), exc.code
                return
            did = await conn.fetchval("SELECT id FROM disputes WHERE tracking_number = $1 AND status = 'open'", tn)
            if did is not None:
                await disputes.resolve(conn, did, outcome, "checked with the office", "operator")

    async def replay(self, n: int) -> None:
        """The shop's last ``n`` outbox entries added again, as they are: every event in them comes twice."""
        stream = keys.partition_events(keys.partition_of(self.shop.id))
        raw = await self.redis.eval("return redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 200)", 1, stream)
        mine = [fields for _id, fields in raw if fields and fields[1] == str(self.shop.id).encode()][:n]
        for fields in reversed(mine):
            await self.redis.execute_command("XADD", stream, "*", *fields)

    async def crash(self, when: str) -> None:
        if when == "before_commit":  # read a batch, then die: the entries stay pending to this consumer
            dead = self.worker()
            for p in range(keys.PARTITIONS):
                await dead._read(p)
            return
        try:  # posted and committed, then killed before the acknowledgement
            await self.worker(DiesBeforeAck).step()
        except Killed:
            pass

    async def drain(self, claim_idle_ms: int = 0) -> None:
        await self.worker(claim_idle_ms=claim_idle_ms).drain()
        await self.check_append_only()

    async def check_append_only(self) -> None:
        """Every entry of the shop's postings read before is still there, unchanged (its row version too)."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT e.posting_id, e.line, e.account, e.amount, e.rrn, e.xmin::text AS v "
                                    "FROM entries e JOIN postings p ON p.id = e.posting_id WHERE p.shop_id = $1",
                                    self.shop.id)
        now = {(r["posting_id"], r["line"]): tuple(r) for r in rows}
        changed = {k: (v, now.get(k)) for k, v in self.seen.items() if now.get(k) != v}
        assert not changed, changed
        self.seen = now

    async def check_books(self) -> None:
        await self.drain()
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT tracking_number, kind, count(*) AS n FROM postings WHERE shop_id = $1 "
                                    "AND event_id IS NOT NULL GROUP BY 1, 2", self.shop.id)
            unbalanced = await conn.fetch(
                "SELECT p.id FROM postings p LEFT JOIN entries e ON e.posting_id = p.id WHERE p.shop_id = $1 "
                "GROUP BY p.id HAVING count(e.line) < 2 OR coalesce(sum(e.amount), 0) <> 0", self.shop.id)
            payable = await ledger.balance(conn, shop_payable(self.shop.id))
            paid = await conn.fetch("SELECT r.id, r.status, r.total, (SELECT array_agg(e.amount) FROM postings p "
                                    "JOIN entries e ON e.posting_id = p.id AND e.account = $2 WHERE p.kind = 'payout' "
                                    "AND p.event_id = 'payout:' || r.id) AS payouts FROM remittances r "
                                    "WHERE r.shop_id = $1", self.shop.id, shop_payable(self.shop.id))
            stale = await conn.fetch(STALE_LINES, self.shop.id)
            verdict = await books_check(conn, self.cod_events, [p.tn for p in self.parcels],
                                        [p.tn for p in self.parcels if p.state == "cancelled"])
        posted: dict[str, dict[str, int]] = {}
        for r in rows:
            posted.setdefault(r["tracking_number"], {})[r["kind"]] = r["n"]
        for p in self.parcels:
            assert posted.get(p.tn) == {k: 1 for k in p.kinds}, (p.tn, p.state, posted.get(p.tn))
        assert not unbalanced
        for r in paid:  # a paid remittance posted its total once; no other did
            assert r["payouts"] == ([r["total"]] if r["status"] == "paid" else None), dict(r)
        paid_out = sum(r["total"] for r in paid if r["status"] == "paid")
        fees = sum(p.doc["price"]["total"] for p in self.parcels if p.state != "cancelled")
        assert payable == (fees + sum(p.return_fee for p in self.parcels) - sum(p.collected for p in self.parcels)
                           + paid_out)
        assert not stale, [dict(r) for r in stale]
        assert verdict["consistent"], verdict


# Remittance lines whose amounts are not what the ledger holds for their parcel (now, after every event posted).
STALE_LINES = """
SELECT l.tracking_number, l.collected, l.shipping, l.cod_fee, l.insurance, l.vat, x.*
  FROM remittance_lines l JOIN remittances r ON r.id = l.remittance_id
  CROSS JOIN LATERAL (
    SELECT coalesce(sum(-e.amount) FILTER (WHERE p.kind = 'cod_collected' AND e.account LIKE 'shop:%'), 0) AS l_collected,
           coalesce(sum(-e.amount) FILTER (WHERE e.account = 'revenue:shipping'), 0) AS l_shipping,
           coalesce(sum(-e.amount) FILTER (WHERE e.account = 'revenue:cod_fee'), 0) AS l_cod_fee,
           coalesce(sum(-e.amount) FILTER (WHERE e.account = 'revenue:insurance'), 0) AS l_insurance,
           coalesce(sum(-e.amount) FILTER (WHERE e.account = 'vat:payable'), 0) AS l_vat
      FROM postings p JOIN entries e ON e.posting_id = p.id
     WHERE p.tracking_number = l.tracking_number AND p.kind <> 'payout') x
 WHERE r.shop_id = $1
   AND (l.collected, l.shipping, l.cod_fee, l.insurance, l.vat)
       IS DISTINCT FROM (x.l_collected, x.l_shipping, x.l_cod_fee, x.l_insurance, x.l_vat)"""


async def _no_names(ids: list[int]) -> dict[int, str]:
    return {}


@settings(max_examples=20, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@example(ops=[("deliver", 0, "cash"), ("drain", 0), ("remit", 30), ("send", 0), ("bank", True)])
# A dispute holds a scheduled remittance, then is resolved and the money paid; another holds a parcel in none.
@example(ops=[("deliver", 0, "cash"), ("drain", 0), ("remit", 30), ("dispute", 0), ("remit", 30),
              ("resolve", 0, "resolved"), ("book", True, 30), ("deliver", 2, "card"), ("drain", 0), ("dispute", 2),
              ("remit", 30), ("send", 0), ("bank", True)])
# A worker dies holding a parcel's booking; its delivery and collection are posted by a live worker (which leaves
# the dead one's entries for the claim timeout); a run comes before the booking is reclaimed.
@example(ops=[("book", True, 20), ("crash", "before_commit"), ("deliver", 2, "cash"), ("drain", 30_000),
              ("remit", 30), ("drain", 0)])
@given(ops=OPS)
async def test_every_history_keeps_the_books_exact(client, make_shop, staff, redis, pool, group, ops) -> None:
    history = History(client, redis, pool, group, await make_shop(f"prop-{time.time_ns()}"), staff)
    for op in [("book", True, 12), ("book", False, 0), *ops]:  # at least two parcels, COD and prepaid
        await history.apply(op)
    await history.check_books()
