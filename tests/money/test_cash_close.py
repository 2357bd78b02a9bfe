"""The postman's cash close over HTTP, against the ledger on the real PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest

from gateway.web_app import create_app
from kernel.postal.timeutil import IRAN_TIME
from kernel.settings import Config
from money import ledger
from money.rules import CLEARING, office_cash, postman_cash
from tests.money.conftest import OFFICE, scan


@pytest.fixture
async def client(aiohttp_client, store_url: str, tmp_path, pool, pg_dsn):
    """The gateway with the ledger's database (migrated by ``pool``)."""
    return await aiohttp_client(create_app(Config(data_dir=tmp_path, access_log=False, database_dsn=pg_dsn),
                                           store_url))


def today() -> str:
    return datetime.now(IRAN_TIME).date().isoformat()


@pytest.fixture
async def day(client, staff, worker, delivered):
    """Five parcels delivered at IFN-01 today: A, B (cash), C (card) collected by p-1; D (COD) not collected;
    E prepaid."""
    a, b, c, d = await delivered(4)
    (e,) = await delivered(1, payment={"type": "prepaid"})
    value = a["payment"]["goods_value"]
    for doc, extra in ((a, {"method": "cash"}), (b, {"method": "cash"}), (c, {"method": "card", "rrn": "998877665544"})):
        await scan(client, staff, doc["tracking_number"], "cod_collected", OFFICE, amount=value, postman="p-1", **extra)
    await worker.drain()
    return {"A": a, "B": b, "C": c, "D": d, "E": e, "value": value}


async def _close(client, staff, body, office=OFFICE, as_office=OFFICE):
    resp = await client.post(f"/v1/offices/{office}/cash-closings", json=body, headers=await staff(as_office))
    return resp.status, await resp.json()


async def test_a_close_finds_the_variance_and_names_every_exception(client, staff, day, pool) -> None:
    tn = {k: v["tracking_number"] for k, v in day.items() if k != "value"}
    value = day["value"]
    status, body = await _close(client, staff, {
        "date": today(), "postman": "p-1", "declared_total": 2 * value - 7000,
        "parcels": [{"tracking_number": tn["A"], "amount": value}, {"tracking_number": tn["B"], "amount": value + 5},
                    {"tracking_number": tn["D"], "amount": value}, {"tracking_number": tn["E"], "amount": 90_000},
                    {"tracking_number": tn["A"], "amount": value}]})
    assert status == 201, body
    assert (body["expected_total"], body["declared_total"], body["variance"]) == (2 * value, 2 * value - 7000, -7000)
    assert [(e["case"], e["tracking_number"]) for e in body["exceptions"]] == [
        ("amount_differs", tn["B"]), ("cod_delivered_not_collected", tn["D"]), ("collected_on_prepaid", tn["E"]),
        ("collected_twice", tn["A"])]
    assert all(e["case_fa"] for e in body["exceptions"])
    assert {p["tracking_number"] for p in body["parcels"]} == {tn["A"], tn["B"]}  # the card payment is no cash
    # the close is a posting: the cash moved to the office, the shortage is claimed from the postman
    async with pool.acquire() as conn:
        assert await ledger.balance(conn, postman_cash(OFFICE, "p-1")) == 0
        assert await ledger.balance(conn, office_cash(OFFICE)) == 2 * value - 7000
        assert await ledger.balance(conn, CLEARING) == 7000

    # a closed day is locked
    status, again = await _close(client, staff, {"date": today(), "postman": "p-1", "declared_total": 2 * value})
    assert status == 409 and again["code"] == "cash_close_already_closed" and again["detail_fa"]

    # a parcel already handed in is "collected twice" in another postman's close
    status, other = await _close(client, staff, {"date": today(), "postman": "p-2", "declared_total": value,
                                                 "parcels": [{"tracking_number": tn["A"]}]})
    assert status == 201
    assert [(e["case"], e["closing_id"]) for e in other["exceptions"]] == [("collected_twice", body["id"])]
    assert other["variance"] == value  # p-2 collected nothing: all of it is a surplus

    resp = await client.get(f"/v1/offices/{OFFICE}/cash-closings?date={today()}", headers=await staff(OFFICE))
    summary = await resp.json()
    assert resp.status == 200
    mine = [c for c in summary["closings"] if c["id"] in (body["id"], other["id"])]
    assert len(mine) == 2
    assert tn["D"] in {e["tracking_number"] for e in summary["delivered_not_collected"]}
    assert summary["declared_total"] == sum(c["declared_total"] for c in summary["closings"])

    resp = await client.get(f"/v1/offices/{OFFICE}/cash-closings/{body['id']}/sheet", headers=await staff(OFFICE))
    html = await resp.text()
    assert resp.status == 200 and resp.content_type == "text/html"
    assert 'dir="rtl"' in html and "برگهٔ بستن صندوق" in html and "کسری" in html and tn["B"] in html
    assert "۷٬۰۰۰" in html  # Persian digits and separators


async def test_another_offices_staff_may_not_close_or_read(client, staff, pool) -> None:
    status, body = await _close(client, staff, {"date": today(), "postman": "p-1", "declared_total": 0},
                                as_office="THR-01")
    assert status == 403 and body["code"] == "cash_close_forbidden" and body["detail_fa"]
    resp = await client.get(f"/v1/offices/{OFFICE}/cash-closings", headers=await staff("THR-01"))
    assert resp.status == 403
    resp = await client.post(f"/v1/offices/{OFFICE}/cash-closings", json={})
    assert resp.status == 401
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM cash_closings") == 0


async def test_bad_input_is_refused_and_changes_nothing(client, staff, pool) -> None:
    for body in ({"date": "2999-01-01", "postman": "p-1", "declared_total": 0},
                 {"date": today(), "postman": "<b>", "declared_total": 0},
                 {"date": today(), "postman": "p-1", "declared_total": -5},
                 {"date": today(), "postman": "p-1", "declared_total": 1, "parcels": [{"tracking_number": "x"}]}):
        status, problem = await _close(client, staff, body)
        assert status == 422 and problem["errors"], body
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM cash_closings") == 0


async def test_without_the_ledger_database_the_routes_say_so(aiohttp_client, store_url, tmp_path, staff) -> None:
    client = await aiohttp_client(create_app(Config(data_dir=tmp_path, access_log=False), store_url))
    resp = await client.post(f"/v1/offices/{OFFICE}/cash-closings", headers=await staff(OFFICE),
                             json={"date": today(), "postman": "p-1", "declared_total": 0})
    body = await resp.json()
    assert resp.status == 503 and body["code"] == "ledger_unavailable" and body["detail_fa"]
