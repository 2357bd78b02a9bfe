"""Delivery plans over HTTP: staff of an office queue a plan, a router worker solves it, anyone of the office
reads it back with a route sheet per postman; the gateway itself never solves."""

from __future__ import annotations

import random
from datetime import date

from kernel.postal.offices import load_registry
from kernel.store import keys
from routing.jobs import PlanWorker, due_parcels
from tests.conftest import shipment_body
from tracking.staff import create_staff

from .office_flow import Staff, move, to_office


def tehran_body(rng: random.Random, i: int) -> dict:
    office = load_registry().get("THR-06")
    body = shipment_body(client_order_id=f"T-{i}", service="sefareshi")
    body["receiver"].update(postal_code="1916753411", province="تهران", city="تهران",
                            location={"lat": office.lat + rng.uniform(-0.02, 0.02),
                                      "lon": office.lon + rng.uniform(-0.02, 0.02)})
    return body


async def staff_headers(redis, office: str) -> dict:
    token = (await create_staff(redis, load_registry(), office, "برنامه‌ریز"))["token"]
    return {"Authorization": f"Bearer {token}"}


async def test_plan_is_queued_solved_by_a_worker_and_read_back(app_client, shop, redis):
    rng = random.Random(7)
    resp = await app_client.post("/v1/shipments/batch", headers=shop.headers,
                                 json={"shipments": [tehran_body(rng, i) for i in range(25)]})
    docs = [r["shipment"] for r in (await resp.json())["results"]]
    # Without a prefix match, the nearest office delivers: a few random points may fall to a neighbour.
    booked = {d["tracking_number"] for d in docs if d["delivering_office"] == "THR-06"}
    assert len(booked) >= 20
    staff = Staff(redis)  # a plan carries parcels that reached the office
    for doc in docs:
        if doc["tracking_number"] in booked:
            await move(app_client, staff, doc["tracking_number"], to_office(doc))
    headers = await staff_headers(redis, "THR-06")
    created = await app_client.post("/v1/offices/THR-06/plans", headers=headers,
                                    json={"date": "2030-01-01", "time_limit_s": 1, "postmen": 3})
    assert created.status == 202
    record = await created.json()
    assert record["status"] == "queued" and created.headers["Location"].endswith(record["plan_id"])
    assert await PlanWorker(redis).run(burst=True) >= 1
    got = await (await app_client.get(f"/v1/offices/THR-06/plans/{record['plan_id']}", headers=headers)).json()
    assert got["status"] == "done", got
    plan = got["plan"]
    planned = {tn for p in plan["postmen"] for stop in p["stops"] for tn in stop["parcels"]}
    unassigned = {u["tracking_number"] for u in plan["unassigned"]}
    assert booked <= planned | unassigned and planned
    assert 1 <= len(plan["postmen"]) <= 3 and plan["solver"]["feasible"]
    sheet = await app_client.get(f"/v1/offices/THR-06/plans/{record['plan_id']}/postmen/1/sheet", headers=headers)
    assert sheet.status == 200 and 'dir="rtl"' in await sheet.text()
    signed = await app_client.get(plan["postmen"][0]["sheet_url"])
    assert signed.status == 200 and 'dir="rtl"' in await signed.text()
    missing = await app_client.get(f"/v1/offices/THR-06/plans/{record['plan_id']}/postmen/99/sheet",
                                   headers=headers)
    assert missing.status == 404


async def test_finished_parcels_leave_the_office_list(app_client, shop, redis):
    rng = random.Random(8)
    doc = await (await app_client.post("/v1/shipments", json=tehran_body(rng, 0), headers=shop.headers)).json()
    await app_client.post(f"/v1/shipments/{doc['tracking_number']}/cancel", headers=shop.headers)
    parcels = await due_parcels(redis, "THR-06", date(2030, 1, 1))
    assert doc["tracking_number"] not in {p["tracking_number"] for p in parcels}
    assert await redis.zscore(keys.office_due("THR-06"), doc["tracking_number"]) is None


async def test_staff_plan_only_for_their_office_and_bad_requests_are_clear(app_client, redis):
    other = await staff_headers(redis, "IFN-01")
    resp = await app_client.post("/v1/offices/THR-06/plans", headers=other, json={"date": "2030-01-01"})
    assert resp.status == 403 and (await resp.json())["code"] == "not_this_office"
    mine = await staff_headers(redis, "THR-06")
    for body, code in (({"date": "tomorrow"}, "invalid_date"), ({"date": "2030-01-01", "time_limit_s": 0},
                                                                  "time_limit_out_of_range")):
        resp = await app_client.post("/v1/offices/THR-06/plans", headers=mine, json=body)
        assert resp.status == 422 and (await resp.json())["code"] == code
    resp = await app_client.post("/v1/offices/NOPE-1/plans", headers=mine, json={"date": "2030-01-01"})
    assert resp.status == 404 and (await resp.json())["code"] == "unknown_office"
    assert (await app_client.post("/v1/offices/THR-06/plans", json={"date": "2030-01-01"})).status == 401
    resp = await app_client.get("/v1/offices/THR-06/plans/nope", headers=mine)
    assert resp.status == 404


async def test_a_plan_with_no_parcels_fails_clearly(app_client, redis):
    code = [o for o in load_registry().delivery_offices() if o.code.startswith(("SHZ", "MHD"))][0].code
    headers = await staff_headers(redis, code)
    record = await (await app_client.post(f"/v1/offices/{code}/plans", headers=headers,
                                          json={"date": "2030-01-01", "time_limit_s": 1})).json()
    await PlanWorker(redis).run(burst=True)
    got = await (await app_client.get(f"/v1/offices/{code}/plans/{record['plan_id']}", headers=headers)).json()
    assert got["status"] == "failed" and got["error"]["code"] == "no_parcels"


async def test_an_operator_token_from_the_settings_plans_for_any_office(aiohttp_client, config, store_url):
    from dataclasses import replace

    from gateway.web_app import create_app
    from kernel.settings import hash_token

    app = create_app(replace(config, operator_token_sha256=frozenset({hash_token("op_night-shift")})), store_url)
    client = await aiohttp_client(app)
    for office in ("THR-06", "IFN-01"):
        resp = await client.post(f"/v1/offices/{office}/plans", json={"date": date.today().isoformat()},
                                 headers={"Authorization": "Bearer op_night-shift"})
        assert resp.status == 202, await resp.text()
    wrong = await client.post("/v1/offices/THR-06/plans", json={}, headers={"Authorization": "Bearer op_other"})
    assert wrong.status == 401
