"""Pickups as a shop and the collecting office use them: asking, the rules (each a clear problem that changes
nothing), changing and cancelling before the cut-off, the office's staff running it (and only that office's),
the events on the feed and the outbox, and the stops the router gets."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from handover import pickups
from handover.pickup_web import PICKUPS
from kernel.postal.offices import load_registry
from kernel.postal.timeutil import IRAN_TIME
from kernel.store import keys
from routing.office_day import postal_code_point
from tests.conftest import TEHRAN_SENDER, shipment_body
from tracking.staff import create_staff

OFFICE = "THR-06"  # the office serving TEHRAN_SENDER's postal code
SATURDAY = "2026-12-19"  # a working day; the clock is set to 08:00 of it, before the 10:00 cut-off


def at(day: str, hour: int, minute: int = 0) -> float:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=IRAN_TIME).timestamp()


@pytest.fixture
def clock(app_client):
    service = app_client.app[PICKUPS]
    moments = {"now": at(SATURDAY, 8)}
    service.clock = lambda: moments["now"]
    return moments


def body(**overrides) -> dict:
    b = {"date": SATURDAY, "window": {"from": "09:00", "to": "12:00"}, "expected_count": 5,
         "instructions": "زنگ واحد ۳"}
    b.update(overrides)
    return {k: v for k, v in b.items() if v is not None}


async def _create(client, shop, **overrides) -> dict:
    resp = await client.post("/v1/pickups", json=body(**overrides), headers=shop.headers)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def _staff(redis, office: str) -> dict[str, str]:
    made = await create_staff(redis, load_registry(), office, "مأمور جمع‌آوری")
    return {"Authorization": f"Bearer {made['token']}"}


async def _feed_types(client, shop, pickup_id: str) -> list[str]:
    events = (await (await client.get("/v1/events?limit=1000", headers=shop.headers)).json())["data"]
    return [e["type"] for e in events if e.get("pickup_id") == pickup_id]


async def _stored(redis, shop_id: int) -> tuple[int, int]:
    mine = 0
    for d in ("2026-12-18", SATURDAY, "2026-12-23", "2026-12-25", "2027-01-30"):
        members = await redis.zrange(pickups.office_day(OFFICE, d), 0, -1)
        mine += sum(m.startswith(b"%d|" % shop_id) for m in members)
    return await redis.zcard(pickups.shop_pickups(shop_id)), mine


async def test_a_shop_asks_for_a_pickup_at_its_sender_address(app_client, shop, redis, clock):
    headers = {**shop.headers, "Idempotency-Key": "pickup-1"}
    resp = await app_client.post("/v1/pickups", json=body(), headers=headers)
    assert resp.status == 201, await resp.text()
    p = await resp.json()
    assert p["status"] == "scheduled" and p["pickup_id"].startswith(f"PU{shop.id}X")
    assert len(p["confirmation_code"]) == 6 and p["confirmation_code"].isdigit()
    assert p["collecting_office"]["code"] == OFFICE and p["collecting_office"]["name_fa"]
    assert p["cutoff"] == "2026-12-19T10:00:00+03:30"
    assert p["address"]["postal_code"] == TEHRAN_SENDER["postal_code"] and p["contact_mobile"] == "09121234567"
    again = await app_client.post("/v1/pickups", json=body(), headers=headers)
    assert again.status == 201 and (await again.json())["pickup_id"] == p["pickup_id"]  # replayed, not a second
    got = await (await app_client.get(f"/v1/pickups/{p['pickup_id']}", headers=shop.headers)).json()
    assert got["pickup_id"] == p["pickup_id"] and got["status_fa"]
    listed = await (await app_client.get(f"/v1/pickups?date={SATURDAY}&status=scheduled", headers=shop.headers)).json()
    assert [x["pickup_id"] for x in listed["data"]] == [p["pickup_id"]]
    assert (await app_client.get("/v1/pickups?status=completed", headers=shop.headers)).status == 200
    assert await _feed_types(app_client, shop, p["pickup_id"]) == ["pickup_scheduled"]
    outbox = await redis.xrange(keys.partition_events(keys.partition_of(shop.id)))
    assert any(f.get(b"t") == p["pickup_id"].encode() for _, f in outbox)


@pytest.mark.parametrize(("overrides", "now", "code", "fa"), [
    ({"date": "2026-12-18"}, None, "pickup_date_in_past", "۱۴۰۵/۰۹/۲۷ گذشته"),
    ({"date": "0368-07-20"}, None, "pickup_date_in_past", "گذشته"),
    ({"date": "2026-12-25"}, None, "pickup_day_off", "جمعه"),
    ({"date": "2026-12-23"}, None, "pickup_day_off", "ولادت امام علی"),
    ({"date": "2027-01-30"}, None, "pickup_too_far_ahead", "۱۴"),
    ({"window": {"from": "06:00", "to": "09:00"}}, None, "pickup_window_outside_hours", "از ۰۸:۰۰ تا ۱۷:۰۰"),
    ({"window": {"from": "15:00", "to": "19:00"}}, None, "pickup_window_outside_hours", "ساعت کار"),
    ({"window": {"from": "11:00", "to": "12:00"}}, None, "pickup_window_too_short", "دقیقه"),
    ({"expected_count": 1}, None, "pickup_too_few_parcels", "مرسوله"),
    ({}, (10, 30), "pickup_after_cutoff", "تا ساعت ۱۰"),
])
async def test_each_broken_rule_is_its_own_problem_and_stores_nothing(app_client, shop, redis, clock, overrides,
                                                                      now, code, fa):
    if now is not None:
        clock["now"] = at(SATURDAY, *now)
    resp = await app_client.post("/v1/pickups", json=body(**overrides), headers=shop.headers)
    problem = await resp.json()
    assert resp.status == 422 and resp.content_type == "application/problem+json", problem
    assert problem["code"] == code and fa in problem["detail_fa"], problem
    assert problem["type"].endswith(code) and problem["detail"]
    assert await _stored(redis, shop.id) == (0, 0)


async def test_malformed_requests_are_field_errors(app_client, shop, clock):
    for bad, field in ((body(date="19/12/2026"), "date"), (body(window={"from": "9"}), "window"),
                       (body(expected_count=None), "expected_count"), (body(tracking_numbers=["A"]), "expected_count"),
                       (body(expected_count=None, tracking_numbers=["RR000000000IR"]), "tracking_numbers[0]"),
                       (body(contact_mobile="123"), "contact_mobile"), (body(address={"postal_code": "1"}),
                                                                         "address.postal_code")):
        resp = await app_client.post("/v1/pickups", json=bad, headers=shop.headers)
        problem = await resp.json()
        assert resp.status == 422 and problem["code"] == "validation_failed", problem
        assert field in {e["field"] for e in problem["errors"]}, problem


async def test_change_and_cancel_only_before_the_cut_off(app_client, shop, redis, clock):
    p = await _create(app_client, shop)
    resp = await app_client.patch(f"/v1/pickups/{p['pickup_id']}", json={"window": {"from": "12:00", "to": "16:00"},
                                                                         "expected_count": 8}, headers=shop.headers)
    assert resp.status == 200, await resp.text()
    changed = await resp.json()
    assert changed["window"] == {"from": "12:00", "to": "16:00"} and changed["expected_count"] == 8
    bad = await app_client.patch(f"/v1/pickups/{p['pickup_id']}", json={"date": "2026-12-25"}, headers=shop.headers)
    assert bad.status == 422 and (await bad.json())["code"] == "pickup_day_off"
    clock["now"] = at(SATURDAY, 10, 1)
    for resp in (await app_client.patch(f"/v1/pickups/{p['pickup_id']}", json={"expected_count": 9},
                                        headers=shop.headers),
                 await app_client.post(f"/v1/pickups/{p['pickup_id']}/cancel", headers=shop.headers)):
        problem = await resp.json()
        assert resp.status == 409 and problem["code"] == "pickup_past_cutoff" and "گذشته" in problem["detail_fa"]
    now = await (await app_client.get(f"/v1/pickups/{p['pickup_id']}", headers=shop.headers)).json()
    assert now["status"] == "scheduled" and now["expected_count"] == 8

    later = await _create(app_client, shop, date="2026-12-21")
    resp = await app_client.post(f"/v1/pickups/{later['pickup_id']}/cancel", headers=shop.headers)
    assert resp.status == 200 and (await resp.json())["status"] == "cancelled"
    again = await app_client.post(f"/v1/pickups/{later['pickup_id']}/cancel", headers=shop.headers)
    assert again.status == 409 and (await again.json())["code"] == "pickup_closed"
    assert await _feed_types(app_client, shop, later["pickup_id"]) == ["pickup_scheduled", "pickup_cancelled"]
    assert await _feed_types(app_client, shop, p["pickup_id"]) == ["pickup_scheduled", "pickup_updated"]
    assert [s["id"] for s in await pickups.pickup_stops(redis, OFFICE, date(2026, 12, 21))] == []


async def test_a_shop_sees_only_its_own_pickups(app_client, shop, make_shop, clock):
    p = await _create(app_client, shop)
    other = await make_shop("another")
    for resp in (await app_client.get(f"/v1/pickups/{p['pickup_id']}", headers=other.headers),
                 await app_client.patch(f"/v1/pickups/{p['pickup_id']}", json={"expected_count": 4},
                                        headers=other.headers),
                 await app_client.post(f"/v1/pickups/{p['pickup_id']}/cancel", headers=other.headers)):
        assert resp.status == 404 and (await resp.json())["code"] == "pickup_not_found"
    assert (await (await app_client.get("/v1/pickups", headers=other.headers)).json())["data"] == []
    assert (await (await app_client.get(f"/v1/pickups/{p['pickup_id']}", headers=shop.headers)).json())[
        "expected_count"] == 5


async def test_the_collecting_office_runs_the_pickup_and_each_parcel_is_accepted(app_client, shop, redis, clock):
    tns = []
    for _ in range(3):
        resp = await app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)
        tns.append((await resp.json())["tracking_number"])
    p = await _create(app_client, shop, expected_count=None, tracking_numbers=tns)
    assert p["expected_count"] == 3
    pid = p["pickup_id"]
    stranger = await _staff(redis, "THR-01")
    resp = await app_client.post(f"/v1/pickups/{pid}/assign", json={"postman": "رضا"}, headers=stranger)
    problem = await resp.json()
    assert resp.status == 403 and problem["code"] == "pickup_other_office" and problem["detail_fa"]
    clerk = await _staff(redis, OFFICE)
    bad = await app_client.post(f"/v1/pickups/{pid}/fail", json={"reason": "rain"}, headers=clerk)
    assert bad.status == 422
    unchanged = await (await app_client.get(f"/v1/pickups/{pid}", headers=shop.headers)).json()
    assert unchanged["status"] == "scheduled"

    listed = await (await app_client.get(f"/v1/offices/{OFFICE}/pickups?date={SATURDAY}", headers=clerk)).json()
    assert pid in [x["pickup_id"] for x in listed["data"]]
    other = await app_client.get(f"/v1/offices/{OFFICE}/pickups?date={SATURDAY}", headers=stranger)
    assert other.status == 403 and (await other.json())["code"] == "pickup_other_office"
    resp = await app_client.post(f"/v1/pickups/{pid}/assign", json={"postman": "رضا"}, headers=clerk)
    assert resp.status == 200 and (await resp.json())["status"] == "assigned"
    resp = await app_client.post(f"/v1/pickups/{pid}/complete", json={"tracking_numbers": [*tns, "RR000000000IR"]},
                                 headers=clerk)
    assert resp.status == 200, await resp.text()
    out = await resp.json()
    assert out["pickup"]["status"] == "completed" and sorted(out["pickup"]["collected"]) == sorted(tns)
    assert [m["tracking_number"] for m in out["missing"]] == ["RR000000000IR"]
    for tn in tns:
        parcel = await (await app_client.get(f"/v1/shipments/{tn}", headers=shop.headers)).json()
        assert parcel["status"] == "in_transit"
        assert [e["type"] for e in parcel["history"]] == ["booked", "accepted"]
        assert parcel["history"][-1]["office"] == OFFICE
    assert await _feed_types(app_client, shop, pid) == ["pickup_scheduled", "pickup_assigned", "pickup_completed"]
    late = await app_client.post(f"/v1/pickups/{pid}/fail", json={"reason": "shop_absent"}, headers=clerk)
    assert late.status == 409 and (await late.json())["code"] == "pickup_closed"


async def test_a_failed_pickup_says_why(app_client, shop, redis, clock):
    p = await _create(app_client, shop)
    clerk = await _staff(redis, OFFICE)
    resp = await app_client.post(f"/v1/pickups/{p['pickup_id']}/fail", json={"reason": "premises_closed"},
                                 headers=clerk)
    failed = await resp.json()
    assert resp.status == 200 and failed["status"] == "failed" and failed["failure_reason"] == "premises_closed"
    assert failed["failure_reason_fa"] == "محل تعطیل بود"
    events = (await (await app_client.get("/v1/events?limit=1000", headers=shop.headers)).json())["data"]
    last = [e for e in events if e.get("pickup_id") == p["pickup_id"]][-1]
    assert last["type"] == "pickup_failed" and last["data"]["failure_reason"] == "premises_closed"


async def test_webhooks_may_subscribe_to_pickup_events(app_client, shop):
    resp = await app_client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook",
                                                       "events": ["pickup_scheduled", "pickup_completed"]},
                                 headers=shop.headers)
    assert resp.status in (201, 422)
    if resp.status == 422:  # the loopback URL may be refused by the SSRF guard, never the event names
        assert "events" not in {e["field"] for e in (await resp.json()).get("errors", [])}


async def test_the_router_gets_the_office_s_open_pickups_as_stops(app_client, shop, redis, clock):
    first = await _create(app_client, shop, window={"from": "13:00", "to": "16:00"}, expected_count=7)
    located = await _create(app_client, shop, address={**TEHRAN_SENDER, "location": {"lat": 35.71, "lon": 51.41}})
    gone = await _create(app_client, shop)
    await app_client.post(f"/v1/pickups/{gone['pickup_id']}/cancel", headers=shop.headers)
    stops = await pickups.pickup_stops(redis, OFFICE, date(2026, 12, 19))
    mine = [s for s in stops if s["id"] in (first["pickup_id"], located["pickup_id"], gone["pickup_id"])]
    assert [s["id"] for s in mine] == [located["pickup_id"], first["pickup_id"]]  # earliest window first
    office = load_registry().get(OFFICE)
    assert mine[1] == {"id": first["pickup_id"], "kind": "pickup", "load": 7, "window": [13 * 60, 16 * 60],
                       "lat": postal_code_point(office, TEHRAN_SENDER["postal_code"])[0],
                       "lon": postal_code_point(office, TEHRAN_SENDER["postal_code"])[1],
                       "label": f"{shop.shop.name} — {TEHRAN_SENDER['address']}"}
    assert (mine[0]["lat"], mine[0]["lon"], mine[0]["window"]) == (35.71, 51.41, [540, 720])


async def test_a_moved_pickup_leaves_its_old_day_s_stops(app_client, shop, redis, clock):
    p = await _create(app_client, shop)
    resp = await app_client.patch(f"/v1/pickups/{p['pickup_id']}", json={"date": "2026-12-20"}, headers=shop.headers)
    assert resp.status == 200 and (await resp.json())["cutoff"] == "2026-12-20T10:00:00+03:30"
    old = await pickups.pickup_stops(redis, OFFICE, date(2026, 12, 19))
    new = await pickups.pickup_stops(redis, OFFICE, date(2026, 12, 20))
    assert p["pickup_id"] not in {s["id"] for s in old} and p["pickup_id"] in {s["id"] for s in new}
    assert f"{shop.id}|{p['pickup_id']}".encode() not in await redis.zrange(pickups.office_day(OFFICE, SATURDAY), 0, -1)


async def test_the_gateway_s_router_plans_a_scheduled_pickup(app_client, shop, redis, clock):
    """The assembly: the router role's provider (gateway.cli) hands the office's pickups to the planner, which
    puts them on a postman's route as pickup stops."""
    from gateway.cli import pickup_provider
    from routing.service import PlanRequest, plan_office_day

    p = await _create(app_client, shop, window={"from": "09:00", "to": "12:00"}, expected_count=5)
    stops = await pickup_provider(redis)(OFFICE, date(2026, 12, 19))
    plan = plan_office_day(PlanRequest(OFFICE, date(2026, 12, 19), 1.0, [], extra_stops=stops))
    planned = [s for m in plan["postmen"] for s in m["stops"] if s["kind"] == "pickup"]
    assert p["pickup_id"] in {s["pickup"]["id"] for s in planned}
