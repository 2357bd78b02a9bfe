"""A corrected address with a new postal code: validated as a booking's, and it may move the parcel to another
delivering office, whose staff then deliver it and whose plan carries it (returns.readdress)."""

from __future__ import annotations

from datetime import date

from kernel.store import keys
from routing.jobs import office_parcels
from tests.routing.office_flow import plan_for

from .conftest import OFFICE, move

NEW_OFFICE = "IFN-02"  # serves Isfahan postal codes starting 8174
NEW_ADDRESS = {"postal_code": "۸۱۷۴۶-۷۳۱۱۱", "province": "اصفهان", "city": "اصفهان", "address": "خیابان جی، پلاک ۳"}


def _planned(record: dict) -> set[str]:
    return {t for p in record["plan"]["postmen"] for s in p["stops"] for t in s["parcels"]}


async def _shipment(client, shop, tn: str) -> dict:
    return await (await client.get(f"/v1/shipments/{tn}", headers=shop.headers)).json()


async def test_a_new_postal_code_moves_the_parcel_to_its_office(client, shop, redis, staff, parcel_at_office, fail,
                                                                act):
    (tn,) = await parcel_at_office()
    await fail(tn, "address_incomplete")
    booked = await _shipment(client, shop, tn)
    assert booked["delivering_office"] == OFFICE

    status, case = await act(tn, {"action": "update_contact", "address": NEW_ADDRESS})
    assert status == 200, case
    moved = await _shipment(client, shop, tn)
    assert moved["delivering_office"] == NEW_OFFICE
    assert moved["route"][0] == OFFICE and moved["route"][-1] == NEW_OFFICE
    assert moved["expected_delivery"] >= booked["created_at"][:10]
    assert moved["receiver"]["postal_code"] == "8174673111" and moved["receiver"]["address"] == "خیابان جی، پلاک ۳"
    assert await redis.zscore(keys.office_due(NEW_OFFICE), tn) is not None
    assert await redis.zscore(keys.office_due(OFFICE), tn) is None

    # the decision is an event, naming the new office
    feed = await (await client.get("/v1/events", headers=shop.headers)).json()
    action = [e for e in feed["data"] if e["tracking_number"] == tn and e["type"] == "ndr_action"][-1]
    assert action["data"]["delivery_office"] == NEW_OFFICE

    # the old office may no longer deliver it; the new one's staff bring it in, and its plan carries it
    resp = await client.post("/v1/scans", headers=await staff(OFFICE), json={
        "tracking_number": tn, "event": "delivered", "office": OFFICE, "scan_id": f"old-{tn}",
        "occurred_at": moved["updated_at"], "receiver_name": "مریم احمدی"})
    assert resp.status == 403
    assert (await resp.json())["responsible_office"] == NEW_OFFICE
    await move(client, staff, tn, [("sorting_in", "IFN-HUB"), ("sorting_out", "IFN-HUB"),
                                   ("arrived_delivery_office", NEW_OFFICE)])
    assert tn in _planned(await plan_for(client, staff, redis, NEW_OFFICE))
    # a crash between the decision and the to-do lists' move leaves it on the old list: its planner drops it
    await redis.zadd(keys.office_due(OFFICE), {tn: 20300101})
    carried, not_here = await office_parcels(redis, OFFICE, date(2030, 1, 1))
    assert tn not in {p["tracking_number"] for p in carried + not_here}
    assert await redis.zscore(keys.office_due(OFFICE), tn) is None
    await move(client, staff, tn, [("out_for_delivery", NEW_OFFICE), ("delivered", NEW_OFFICE)])
    assert (await _shipment(client, shop, tn))["status"] == "delivered"


async def test_a_contradicting_address_is_refused_and_changes_nothing(client, shop, parcel_at_office, fail, act):
    (tn,) = await parcel_at_office()
    await fail(tn)
    before = await _shipment(client, shop, tn)
    status, problem = await act(tn, {"action": "update_contact",
                                     "address": {**NEW_ADDRESS, "postal_code": "1458973311"}})  # a Tehran code
    assert status == 422
    fields = {(e["field"], e["code"]) for e in problem["errors"]}
    assert ("address.postal_code", "postal_code_province_mismatch") in fields
    status, problem = await act(tn, {"action": "update_contact", "address": {"postal_code": "8174673111"}})
    assert status == 422 and {e["field"] for e in problem["errors"]} >= {"address.city", "address.address"}
    after = await _shipment(client, shop, tn)
    assert after["delivering_office"] == before["delivering_office"] == OFFICE
    assert after["receiver"] == before["receiver"]


async def test_an_address_in_the_same_office_moves_nothing_but_the_address(client, shop, redis, parcel_at_office,
                                                                          fail, act):
    (tn,) = await parcel_at_office()
    await fail(tn)
    same = {**NEW_ADDRESS, "postal_code": "8138634599", "address": "کوچهٔ ۷، پلاک ۱"}
    status, case = await act(tn, {"action": "update_contact", "address": same})
    assert status == 200, case
    after = await _shipment(client, shop, tn)
    assert after["delivering_office"] == OFFICE and after["receiver"]["address"] == "کوچهٔ ۷، پلاک ۱"
    assert await redis.zscore(keys.office_due(OFFICE), tn) is not None
