"""Return fees in the real ledger: a return leg's way home charges the tariff's return fee once, on the original's
return; a buyer's return is charged its fee when the post accepts it, once, never at creation."""

from __future__ import annotations

import time

import pytest

from kernel.postal.tariff import Tariff
from kernel.problems import CATALOGUE
from kernel.store import keys
from money.rules import SHIPPING, VAT, shop_payable
from returns import web as returns_web
from returns.buyer import ReturnWindowClosed
from returns.buyer_web import RETURNS
from tests.money.conftest import OFFICE, book, isfahan, scan
from tests.routing.office_flow import to_office


async def _postings(pool, tn: str) -> list[tuple[str, str, dict[str, int]]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT p.id, p.kind, p.event_id, e.account, e.amount FROM postings p JOIN entries e "
                                "ON e.posting_id = p.id WHERE p.tracking_number = $1 ORDER BY p.id, e.line", tn)
    out: dict[int, tuple[str, str, dict[str, int]]] = {}
    for r in rows:
        out.setdefault(r["id"], (r["kind"], r["event_id"], {}))[2][r["account"]] = r["amount"]
    return list(out.values())


async def _get(client, shop, tn: str) -> dict:
    resp = await client.get(f"/v1/shipments/{tn}", headers=shop.headers)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_a_return_leg_charges_the_return_fee_once(client, shop, staff, worker, pool) -> None:
    cases = client.app[returns_web.CASES]
    (doc,) = await book(client, shop, [isfahan(0)])
    tn = doc["tracking_number"]
    for event, office in to_office(doc):
        await scan(client, staff, tn, event, office)
    await scan(client, staff, tn, "out_for_delivery", OFFICE)
    await scan(client, staff, tn, "delivery_failed", OFFICE, reason="receiver_refused")
    await cases.consume()
    leg = await _get(client, shop, (await _get(client, shop, tn))["return_leg"])
    for event, office in [*to_office(leg)[1:], ("out_for_delivery", leg["delivering_office"])]:
        await scan(client, staff, leg["tracking_number"], event, office)
    await worker.drain()
    assert [k for k, _, _ in await _postings(pool, tn)] == ["booking"]  # not home yet: nothing charged
    await scan(client, staff, leg["tracking_number"], "delivered", leg["delivering_office"])
    await cases.consume()  # the leg delivered: the original is returned
    await cases.consume()
    await worker.drain()
    fee = Tariff.load().return_fee(doc["price"])
    assert fee == leg["return_fee"] and fee["fee"] == doc["price"]["base"]
    (_, _, _), (kind, _, entries) = await _postings(pool, tn)
    assert kind == "return" and entries == {shop_payable(shop.id): fee["total"], SHIPPING: -fee["fee"],
                                            VAT: -fee["vat"]}
    assert await _postings(pool, leg["tracking_number"]) == []  # a leg is priced at zero
    # the original is final: a staff scan of its return now is refused, and nothing posts twice
    resp = await client.post("/v1/scans", headers=await staff(doc["route"][0]), json={
        "tracking_number": tn, "event": "returned_to_sender", "office": doc["route"][0], "scan_id": f"rts-{tn}",
        "occurred_at": leg["history"][0]["occurred_at"]})
    assert resp.status == 409 and (await resp.json())["code"] == "parcel_on_return_leg"
    await worker.drain()
    assert len(await _postings(pool, tn)) == 2


@pytest.fixture
def delivered_one(client, shop, staff):
    async def make(owner=None) -> dict:
        (doc,) = await book(client, owner or shop, [isfahan(0)])
        for event, office in [*to_office(doc), ("out_for_delivery", OFFICE), ("delivered", OFFICE)]:
            await scan(client, staff, doc["tracking_number"], event, office)
        return doc

    return make


async def test_a_buyer_return_is_charged_when_the_post_accepts_it(client, shop, staff, worker, pool,
                                                                 delivered_one) -> None:
    doc = await delivered_one()
    tn = doc["tracking_number"]
    headers = {**shop.headers, "Idempotency-Key": f"ret-{tn}"}
    resp = await client.post("/v1/returns", json={"tracking_number": tn, "reason": "wrong_size"}, headers=headers)
    ret = await resp.json()
    assert resp.status == 201, ret
    again = await client.post("/v1/returns", json={"tracking_number": tn, "reason": "wrong_size"}, headers=headers)
    assert again.status == 201 and await again.json() == ret  # the key replays the answer
    rtn = ret["tracking_number"]
    assert ret["kind"] == "buyer_return" and ret["return_of"] == tn and ret["status"] == "pre_transit"
    assert ret["return_reason"] == "wrong_size" and ret["payment"] == {"type": "prepaid"}
    assert ret["sender"]["postal_code"] == doc["receiver"]["postal_code"] and ret["receiver"] == doc["sender"]
    assert ret["origin_office"] == OFFICE and ret["delivering_office"] == doc["origin_office"]
    assert ret["label_url"] == f"/v1/shipments/{rtn}/label"
    assert (await _get(client, shop, tn))["return_leg"] == rtn

    label = await client.get(ret["label_url"], headers=shop.headers)
    assert label.status == 200 and label.content_type == "application/pdf"
    assert (await label.read()).startswith(b"%PDF")

    await worker.drain()
    assert await _postings(pool, rtn) == []  # created, not accepted: nothing charged
    await scan(client, staff, rtn, "accepted", OFFICE)
    await scan(client, staff, rtn, "accepted", OFFICE)  # a second acceptance scan charges nothing more
    await worker.drain()
    fee = ret["return_fee"]
    zone_price = Tariff.load().price(doc["service"], doc["parcel"]["weight_g"], ret["zone"])
    assert fee == Tariff.load().return_fee(zone_price) and fee["fee"] > 0
    assert await _postings(pool, rtn) == [("return", f"return_fee_{rtn}", {
        shop_payable(shop.id): fee["total"], SHIPPING: -fee["fee"], VAT: -fee["vat"]})]

    events = (await (await client.get("/v1/events?limit=1000", headers=shop.headers)).json())["data"]
    mine = [(e["tracking_number"], e["type"]) for e in events if e["tracking_number"] in (tn, rtn)]
    assert mine[-4:] == [(tn, "return_requested"), (rtn, "booked"), (rtn, "accepted"), (rtn, "accepted")]
    listed = (await (await client.get("/v1/returns?kind=buyer_return", headers=shop.headers)).json())["data"]
    assert listed[0]["tracking_number"] == rtn


async def test_a_buyer_return_outside_its_rules_changes_nothing(client, shop, make_shop, staff, redis,
                                                                 delivered_one) -> None:
    doc = await delivered_one()
    tn = doc["tracking_number"]
    (moving,) = await book(client, shop, [isfahan(1)])

    async def post(body, owner=None):
        resp = await client.post("/v1/returns", json=body, headers=(owner or shop).headers)
        return resp.status, await resp.json()

    before = await _get(client, shop, tn)
    listed = (await (await client.get("/v1/returns", headers=shop.headers)).json())["data"]
    status, body = await post({"tracking_number": tn, "reason": "bored"})
    assert status == 422 and {e["code"] for e in body["errors"]} == {"return_reason_invalid"}
    status, body = await post({"tracking_number": "nonsense", "reason": "damaged"})
    assert status == 422 and {e["code"] for e in body["errors"]} == {"tracking_number_invalid"}
    status, body = await post({"tracking_number": moving["tracking_number"], "reason": "damaged"})
    assert status == 409 and body["code"] == "return_not_delivered" and body["parcel_status"] == "pre_transit"
    other = await make_shop("returns-other")
    status, body = await post({"tracking_number": tn, "reason": "damaged"}, owner=other)
    assert status == 404 and body["code"] == "shipment_not_found"
    # eight days later the window (returns/data/returns.toml: 7 days) has closed
    with pytest.raises(ReturnWindowClosed) as closed:
        await client.app[RETURNS].create(shop.id, tn, "damaged", now=time.time() + 8 * 86_400)
    problem = closed.value.to_problem()
    assert problem["window_days"] == 7 and problem["detail_fa"] and problem["delivered_at"]
    assert await _get(client, shop, tn) == before
    assert (await (await client.get("/v1/returns", headers=shop.headers)).json())["data"] == listed

    live = keys.shop_live_orders(shop.id)
    count = await redis.hget(live, doc["client_order_id"])
    status, first = await post({"tracking_number": tn, "reason": "damaged"})
    assert status == 201
    status, body = await post({"tracking_number": tn, "reason": "changed_mind"})
    assert status == 409 and body["code"] == "return_exists" and body["return_parcel"] == first["tracking_number"]
    status, body = await post({"tracking_number": first["tracking_number"], "reason": "damaged"})
    assert status == 409 and body["code"] == "return_of_return" and body["return_of"] == tn
    # cancelled before the buyer hands it in: room for another, and the original's order counts as before
    resp = await client.post(f"/v1/shipments/{first['tracking_number']}/cancel", headers=shop.headers)
    assert resp.status == 200, await resp.text()
    assert await redis.hget(live, doc["client_order_id"]) == count
    status, second = await post({"tracking_number": tn, "reason": "changed_mind"})
    assert status == 201 and second["tracking_number"] != first["tracking_number"]
    assert (await _get(client, shop, tn))["return_leg"] == second["tracking_number"]
    for code in ("return_not_delivered", "return_window_closed", "return_exists", "return_of_return",
                 "cod_not_on_return"):
        assert code in CATALOGUE
