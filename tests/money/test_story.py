"""Issue 23's "Done when", end to end, as a shop and the post live it: an operator creates the shops with the real
CLI, the shop books cash-on-delivery parcels over the gateway's HTTP API, the delivering office's staff deliver
and collect them (cash by a named postman, one by card), the ledger worker posts them into the real PostgreSQL,
the postman's cash closes, the remittance run, the pain.001 file and the bank's reference go through
``python -m gateway remittances`` against the same database and store, and the shop reads what it was paid.

COD parcels only: prepaid and returned parcels' deductions are covered by test_remittance_run.py."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from pypdf import PdfReader

from gateway.web_app import create_app
from kernel.postal.timeutil import IRAN_TIME
from kernel.postal.workdays import is_working_day
from kernel.settings import Config
from money import ledger, pain001
from money.policy import policy
from money.rules import CARD, postman_cash, shop_payable
from money.settlement import payout_date
from money.sheba import EXAMPLE_SHEBA
from tests.conftest import TEHRAN_SENDER
from tests.money.conftest import OFFICE, scan
from tests.routing.office_flow import book, isfahan, to_office

ROOT = Path(__file__).resolve().parents[2]
POSTMAN = "p-rezaei"
RRN = "123456789012"
FEE_LINES = ("base", "cod_fee", "insurance", "vat")  # the quote's fee lines, as a remittance line's fees


class Shop:
    def __init__(self, made: dict) -> None:
        self.id = made["shop_id"]
        self.headers = {"Authorization": f"Bearer {made['api_key']}"}


@pytest.fixture
async def gw(aiohttp_client, store_url, tmp_path, pg_dsn, pool):
    """The assembled gateway app with the ledger's database (migrated by ``pool``)."""
    return await aiohttp_client(create_app(Config(data_dir=tmp_path, access_log=False, database_dsn=pg_dsn),
                                           store_url))


@pytest.fixture
def cli(pg_dsn, store_url, tmp_path):
    """``python -m gateway ...`` in a subprocess, on the test's PostgreSQL and store: (exit code, its JSON)."""
    env = {**os.environ, "DATABASE_URL": pg_dsn, "REDIS_URL": store_url, "BARID_DATA": str(tmp_path / "cli")}

    def run(*args: str) -> tuple[int, object]:
        out = subprocess.run([sys.executable, "-m", "gateway", *args], env=env, cwd=ROOT, capture_output=True,
                             text=True, timeout=120)
        assert out.stdout, out.stderr
        return out.returncode, json.loads(out.stdout)

    return run


def _sender_flags() -> list[str]:
    return [x for f, v in TEHRAN_SENDER.items() for x in (f"--sender-{f.replace('_', '-')}", v)]


async def _json(resp, status: int = 200):
    assert resp.status == status, await resp.text()
    return await resp.json()


async def test_a_shop_is_paid_the_net_of_its_cod_parcels_to_the_rial(gw, cli, staff, worker, pool,
                                                                      tmp_path) -> None:
    # -- the operator makes the shops; COD needs a verified Sheba account -----------------------------------------
    code, made = cli("shops", "create", "--name", "فروشگاه داستان", *_sender_flags(), "--sheba", EXAMPLE_SHEBA,
                     "--sheba-verified")
    assert code == 0 and made["cod_allowed"] is True, made
    shop = Shop(made)
    code, made = cli("shops", "create", "--name", "فروشگاه بی‌حساب", *_sender_flags())
    assert code == 0 and made["cod_allowed"] is False
    refused = await gw.post("/v1/shipments", json=isfahan(0), headers=Shop(made).headers)
    problem = await _json(refused, 422)
    assert problem["code"] == "cod_requires_verified_sheba" and problem["detail_fa"]
    code, clerk = cli("staff", "create", "--office", OFFICE, "--name", "متصدی باجهٔ اصفهان")
    assert code == 0 and clerk["token"]
    staff.headers[OFFICE] = {"Authorization": f"Bearer {clerk['token']}"}  # the delivering office's own staff

    # -- the shop quotes and books three COD parcels over HTTP ---------------------------------------------------
    bodies = [isfahan(i) for i in range(3)]
    quote = (await _json(await gw.post("/v1/quotes", json=bodies[0], headers=shop.headers)))["price"]
    docs = await book(gw, shop, bodies)
    assert len(docs) == 3 and all(d["payment"]["type"] == "cod" for d in docs)
    for d in docs:
        assert {k: d["price"][k] for k in (*FEE_LINES, "total")} == {k: quote[k] for k in (*FEE_LINES, "total")}
    fees = sum(quote[k] for k in FEE_LINES)
    assert fees == quote["total"]  # no other line: the shop's net is collected less exactly these
    value = docs[0]["payment"]["goods_value"]
    tns = [d["tracking_number"] for d in docs]

    # -- accepted, carried, delivered and collected: two in cash by the postman, one by card ---------------------
    for d in docs:
        for event, office in to_office(d):
            await scan(gw, staff, d["tracking_number"], event, office)
        await scan(gw, staff, d["tracking_number"], "out_for_delivery", OFFICE)
        await scan(gw, staff, d["tracking_number"], "delivered", OFFICE)
    for tn in tns[:2]:
        await scan(gw, staff, tn, "cod_collected", OFFICE, amount=value, method="cash", postman=POSTMAN)
    await scan(gw, staff, tns[2], "cod_collected", OFFICE, amount=value, method="card", rrn=RRN, postman=POSTMAN)
    await worker.drain()
    async with pool.acquire() as conn:
        assert await ledger.balance(conn, postman_cash(OFFICE, POSTMAN)) == 2 * value
        assert await conn.fetchval("SELECT sum(amount) FROM entries WHERE account = $1 AND rrn = $2", CARD,
                                   RRN) == value
        delivered_at = dict(await conn.fetch("SELECT tracking_number, delivered_at FROM deliveries"))
    assert set(delivered_at) == set(tns)

    # -- the postman's cash closes with no variance; the day is then locked ---------------------------------------
    today = datetime.now(IRAN_TIME).date().isoformat()
    close = {"date": today, "postman": POSTMAN, "declared_total": 2 * value,
             "parcels": [{"tracking_number": tn, "amount": value} for tn in tns[:2]]}
    closed = await _json(await gw.post(f"/v1/offices/{OFFICE}/cash-closings", json=close,
                                       headers=staff.headers[OFFICE]), 201)
    assert (closed["expected_total"], closed["variance"], closed["exceptions"]) == (2 * value, 0, [])
    again = await _json(await gw.post(f"/v1/offices/{OFFICE}/cash-closings", json=close,
                                      headers=staff.headers[OFFICE]), 409)
    assert again["code"] == "cash_close_already_closed"
    office_day = await _json(await gw.get(f"/v1/offices/{OFFICE}/cash-closings?date={today}",
                                          headers=staff.headers[OFFICE]))
    assert office_day["declared_total"] == 2 * value and office_day["delivered_not_collected"] == []
    sheet = await gw.get(f"/v1/offices/{OFFICE}/cash-closings/{closed['id']}/sheet", headers=staff.headers[OFFICE])
    assert sheet.status == 200 and POSTMAN in await sheet.text()

    # -- before the run: the shop's balance names the payout day its cycle gives, and the amount ------------------
    net = 3 * (value - fees)
    before = await _json(await gw.get("/v1/balance", headers=shop.headers))
    cycle = policy().cycle(None)
    (day,) = {payout_date(at, cycle, is_working_day) for at in delivered_at.values()}
    assert before["pending_by_day"] == [{"date": day.isoformat(), "count": 3, "amount": net}]
    assert before["next_payout"] == {"date": day.isoformat(), "amount": net, "count": 3}
    assert (before["collected"], before["fees"], before["due_now"], before["remitted"]) == (3 * value, 3 * fees, 0, 0)

    # -- a run the day before pays nothing yet; the run as of that day pays the shop the net, once --------------
    code, early = cli("remittances", "run", "--as-of", (day - timedelta(days=1)).isoformat())
    assert code == 0 and (early["remittances"], early["lines"], early["waiting_lines"]) == (0, 0, 3), early
    code, run = cli("remittances", "run", "--as-of", day.isoformat())
    assert code == 0 and (run["remittances"], run["scheduled"], run["lines"], run["total"]) == (1, 1, 3, net), run
    due = await _json(await gw.get("/v1/balance", headers=shop.headers))
    assert (due["in_flight"], due["pending"], due["due_now"]) == (net, 0, 0)
    code, rerun = cli("remittances", "run", "--as-of", day.isoformat())
    assert code == 0 and (rerun["remittances"], rerun["lines"], rerun["total"]) == (0, 0, 0), rerun
    code, (rem,) = cli("remittances", "list", "--shop", str(shop.id))
    assert (rem["status"], rem["total"], rem["count"]) == ("scheduled", net, 3)
    rid = rem["remittance_id"]

    # -- the payout file validates against the official schema and the remittance is sent ------------------------
    out = tmp_path / "batch.xml"
    code, export = cli("remittances", "export", "--run", str(run["run_id"]), "--format", "pain001", "--out",
                       str(out))
    assert code == 0 and export["remittances"] == 1 and export["sent_now"], export
    body = out.read_bytes()
    pain001.validate(body)
    (tx,) = ET.fromstring(body).findall(".//p:CdtTrfTxInf", {"p": pain001.NAMESPACE})
    assert int(tx.find("p:Amt/p:InstdAmt", {"p": pain001.NAMESPACE}).text) == net
    assert EXAMPLE_SHEBA.encode() in body
    group = tmp_path / "batch.csv"  # the same batch for a bank portal's group transfer
    code, export = cli("remittances", "export", "--run", str(run["run_id"]), "--format", "csv", "--out", str(group))
    assert code == 0 and not export["sent_now"], export
    (row,) = list(csv.reader(io.StringIO(group.read_text("utf-8-sig"))))[1:]
    assert (row[0], int(row[1]), row[4]) == (EXAMPLE_SHEBA, net, rid)

    # -- the bank's reference marks it paid: the payout posting, the payable at zero, the shop's event -----------
    code, paid = cli("remittances", "mark-paid", "--remittance", rid, "--bank-ref", "PAYA-1405-0917")
    assert code == 0 and paid["status"] == "paid" and paid["posting_id"] and paid["event_id"], paid
    async with pool.acquire() as conn:
        posting = await conn.fetchrow("SELECT kind, shop_id FROM postings WHERE id = $1", paid["posting_id"])
        assert (posting["kind"], posting["shop_id"]) == ("payout", shop.id)
        assert await ledger.balance(conn, shop_payable(shop.id)) == 0
    feed = await _json(await gw.get("/v1/events", headers=shop.headers, params={"limit": "1000"}))
    (event,) = [e for e in feed["data"] if e["id"] == paid["event_id"]]
    assert event["type"] == "remittance_paid" and event["data"]["total"] == net

    # -- the shop reads its remittance, its lines and its statement --------------------------------------------
    one = await _json(await gw.get(f"/v1/remittances/{rid}", headers=shop.headers))
    assert (one["status"], one["total"], one["bank_ref"], one["collected"]) == ("paid", net, "PAYA-1405-0917",
                                                                                 3 * value)
    assert [h["status"] for h in one["history"]] == ["scheduled", "sent", "paid"]
    resp = await gw.get(f"/v1/remittances/{rid}/lines?format=csv", headers=shop.headers)
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert sorted((r["tracking_number"], int(r["collected"]), int(r["fees"]), int(r["net"])) for r in rows) == sorted(
        (tn, value, fees, value - fees) for tn in tns)
    assert all(int(r["shipping"]) == quote["base"] and int(r["vat"]) == quote["vat"] for r in rows)
    lines = await _json(await gw.get(f"/v1/remittances/{rid}/lines?format=json", headers=shop.headers))
    assert lines["count"] == 3 and sum(x["net"] for x in lines["lines"]) == net
    listed = await _json(await gw.get("/v1/remittances", headers=shop.headers))
    assert [r["remittance_id"] for r in listed["items"]] == [rid]
    pdf = await gw.get(f"/v1/remittances/{rid}/statement.pdf", headers=shop.headers)
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(await pdf.read())).pages)
    assert tns[0] in text

    # -- the books balance: every posting sums to zero; collected = fees + remitted + due + held -----------------
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM (SELECT posting_id FROM entries GROUP BY posting_id "
                                   "HAVING sum(amount) <> 0) unbalanced") == 0
        assert await conn.fetchval("SELECT sum(amount) FROM entries") == 0
        assert await conn.fetchval("SELECT count(*) FROM remittances") == 1  # the second run made none
        assert await conn.fetchval("SELECT count(*) FROM postings WHERE kind = 'payout'") == 1
        assert await ledger.balance(conn, CARD) == value  # the card money is the acquirer's to settle, not cash
    after = await _json(await gw.get("/v1/balance", headers=shop.headers))
    assert after["collected"] == 3 * value and after["remitted"] == net
    assert after["collected"] == after["fees"] + after["remitted"] + after["due_now"] + after["on_hold"]
    assert (after["in_flight"], after["pending"], after["next_payout"]) == (0, 0, None)
