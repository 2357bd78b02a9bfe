"""What a shop sees of its money over the API: its balance (every rial in one place), its remittances, their
lines as CSV and JSON (streamed), the Persian statement PDF; another shop's are 404s."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from pypdf import PdfReader

from kernel.postal.timeutil import IRAN_TIME
from kernel.postal.workdays import is_working_day
from money.policy import Cycle, policy
from money.remittance import Line
from money.settlement import payout_date
from money.shop_money import Unremitted, first_payout_day, next_payout
from tests.money.facts import FEES, NET, VALUE, add_remittance, ago, post_parcel, tn_of


@pytest.fixture
async def books(pool, shop):
    """Shop's parcels 1-7: paid (1), sent (2), scheduled (3), held for its account (4), due (5), pending (6),
    under an open dispute (7)."""
    today = datetime.now(IRAN_TIME).date()
    at = {i: ago(70 - i) for i in range(1, 5)} | {5: ago(40), 6: ago(0), 7: ago(40)}
    async with pool.acquire() as conn:
        for i, when in at.items():
            await post_parcel(conn, shop.id, tn_of(i), when)
        rids = {}
        for i, status in ((1, "paid"), (2, "sent"), (3, "scheduled"), (4, "held")):
            rids[status] = await add_remittance(conn, shop.id, today - timedelta(days=40 - i), status,
                                                [(tn_of(i), at[i])],
                                                hold_reason="unverified_account" if status == "held" else None)
        await conn.execute("INSERT INTO disputes (shop_id, tracking_number, kind, held_amount) "
                           "VALUES ($1, $2, 'not_remitted', $3)", shop.id, tn_of(7), NET)
    return {"at": at, "rids": rids}


async def test_the_balance_puts_every_collected_rial_in_one_place(mclient, shop, books):
    resp = await mclient.get("/v1/balance", headers=shop.headers)
    assert resp.status == 200, await resp.text()
    b = await resp.json()
    assert (b["remitted"], b["in_flight"], b["on_hold"], b["due_now"], b["pending"]) == (
        NET, 2 * NET, 2 * NET, NET, NET)
    assert b["collected"] == 7 * VALUE and b["fees"] == 7 * sum(FEES.values())
    assert b["collected"] == b["fees"] + b["remitted"] + b["in_flight"] + b["on_hold"] + b["due_now"] + b["pending"]
    due_day = payout_date(books["at"][6], policy().cycle(None), is_working_day)
    assert b["pending_by_day"] == [{"date": due_day.isoformat(), "count": 1, "amount": NET}]
    assert b["open_disputes"] == 1
    nxt = b["next_payout"]  # the scheduled remittance, with the due parcel once the minimum is reached
    assert nxt["date"] >= datetime.now(IRAN_TIME).date().isoformat() and nxt["amount"] >= NET


async def test_remittances_newest_first_filtered_and_paged(mclient, shop, books):
    resp = await mclient.get("/v1/remittances?limit=3", headers=shop.headers)
    page = await resp.json()
    assert [r["status"] for r in page["items"]] == ["held", "scheduled", "sent"]
    assert page["items"][0]["status_fa"] == "متوقف" and page["items"][0]["hold_reason"] == "unverified_account"
    rest = await (await mclient.get(f"/v1/remittances?limit=3&cursor={page['next_cursor']}", headers=shop.headers)).json()
    assert [r["status"] for r in rest["items"]] == ["paid"] and rest["next_cursor"] is None
    paid = await (await mclient.get("/v1/remittances?status=paid", headers=shop.headers)).json()
    assert [r["remittance_id"] for r in paid["items"]] == [books["rids"]["paid"]]
    bad = await mclient.get("/v1/remittances?status=lost", headers=shop.headers)
    assert bad.status == 422 and (await bad.json())["errors"][0]["field"] == "status"


async def test_a_remittance_with_its_fees_history_lines_and_statement(mclient, shop, books):
    rid = books["rids"]["paid"]
    one = await (await mclient.get(f"/v1/remittances/{rid}", headers=shop.headers)).json()
    assert one["fees"] == {**FEES, "total": sum(FEES.values())} and one["total"] == NET
    assert [h["status"] for h in one["history"]] == ["scheduled", "paid"] and one["bank_ref"] == "BANKREF-1"
    resp = await mclient.get(f"/v1/remittances/{rid}/lines?format=csv", headers=shop.headers)
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert [(r["tracking_number"], int(r["collected"]), int(r["fees"]), int(r["net"])) for r in rows] == [
        (tn_of(1), VALUE, sum(FEES.values()), NET)]
    body = await (await mclient.get(f"/v1/remittances/{rid}/lines?format=json", headers=shop.headers)).json()
    assert body["count"] == 1 and body["lines"][0] == {
        "tracking_number": tn_of(1), "delivered_at": books["at"][1].isoformat(), "collected": VALUE, **FEES,
        "fees": sum(FEES.values()), "net": NET}
    pdf = await mclient.get(f"/v1/remittances/{rid}/statement.pdf", headers=shop.headers)
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(await pdf.read())).pages)
    assert tn_of(1) in text and "تسویهٔ وجوه پرداخت در محل" in text


async def test_another_shop_s_remittance_is_not_found(mclient, make_shop, books):
    other = await make_shop("another")
    for path in ("", "/lines?format=csv", "/statement.pdf"):
        resp = await mclient.get(f"/v1/remittances/{books['rids']['paid']}{path}", headers=other.headers)
        assert resp.status == 404, path
        problem = await resp.json()
        assert problem["code"] == "remittance_not_found" and problem["detail_fa"]
    assert (await (await mclient.get("/v1/remittances", headers=other.headers)).json())["items"] == []
    b = await (await mclient.get("/v1/balance", headers=other.headers)).json()
    assert b["collected"] == 0 and b["next_payout"] is None
    assert (await mclient.get("/v1/balance")).status == 401


async def test_a_large_remittance_streams_without_holding_its_rows(mclient, shop, pool):
    n = 30_000
    at = ago(30)
    async with pool.acquire() as conn:
        rid = await add_remittance(conn, shop.id, at.date(), "paid", [(tn_of(i), at) for i in range(n)])
    resp = await mclient.get(f"/v1/remittances/{rid}/lines?format=csv", headers=shop.headers)
    assert resp.headers.get("Transfer-Encoding") == "chunked"  # written as read, not as one body
    chunks = lines = 0
    async for chunk in resp.content.iter_any():
        chunks += 1
        lines += chunk.count(b"\n")
    assert lines == n + 1 and chunks > 1
    body = await (await mclient.get(f"/v1/remittances/{rid}/lines", headers=shop.headers)).json()
    assert len(body["lines"]) == n and sum(x["net"] for x in body["lines"]) == n * NET
    pdf = await mclient.get(f"/v1/remittances/{rid}/statement.pdf", headers=shop.headers)
    assert pdf.status == 422 and (await pdf.json())["code"] == "statement_pdf_too_long"


def test_the_next_payout_rolls_lines_under_the_minimum_to_a_later_payout_day():
    cycle = Cycle(3, 1, 1_000_000)  # T+3, Tuesdays, at least 1,000,000 rials
    today = date(2026, 12, 7)  # a Monday: the first payout day is Tuesday the 8th

    def line(n: int, net: int, payout_day: date) -> Unremitted:
        return Unremitted(Line(tn_of(n), "2026-12-01T09:00:00+03:30", net), payout_day)

    due, later = line(1, 600_000, date(2026, 12, 1)), line(2, 600_000, date(2026, 12, 15))
    assert next_payout([due, later], (0, 0), cycle, today, lambda d: d.weekday() != 4) == {
        "date": "2026-12-15", "amount": 1_200_000, "count": 2}
    assert next_payout([due, later], (500_000, 3), cycle, today, lambda d: d.weekday() != 4) == {
        "date": "2026-12-08", "amount": 500_000, "count": 3}  # what is already scheduled goes first
    assert next_payout([], (0, 0), cycle, today, lambda d: True) is None
    holiday = {date(2026, 12, 8)}  # a payout day on a holiday moves to the next working day
    assert first_payout_day(today, cycle, lambda d: d not in holiday and d.weekday() != 4) == date(2026, 12, 9)
