"""A manifest made from a pickup lists the pickup's parcels (or, for a pickup that gave a count, the shop's parcels
waiting for handover); scanning that manifest accepts every parcel and closes the pickup."""

from __future__ import annotations

from datetime import datetime

import pytest

from handover.pickup_web import PICKUPS
from kernel.postal.offices import load_registry
from kernel.postal.timeutil import IRAN_TIME
from tests.conftest import shipment_body
from tracking.staff import create_staff

OFFICE = "THR-06"


@pytest.fixture
def fixed_clock(app_client):
    moment = datetime(2026, 12, 19, 8, tzinfo=IRAN_TIME).timestamp()
    app_client.app[PICKUPS].clock = lambda: moment


async def _book(client, shop, n: int) -> list[str]:
    tns = []
    for _ in range(n):
        resp = await client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)
        tns.append((await resp.json())["tracking_number"])
    return tns


async def _pickup(client, shop, **parcels) -> dict:
    resp = await client.post("/v1/pickups", json={"date": "2026-12-19", "window": {"from": "09:00", "to": "12:00"},
                                                  **parcels}, headers=shop.headers)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def test_scanning_a_pickup_s_manifest_accepts_its_parcels_and_completes_it(app_client, shop, redis,
                                                                                 fixed_clock):
    tns = await _book(app_client, shop, 3)
    p = await _pickup(app_client, shop, tracking_numbers=tns)
    resp = await app_client.post("/v1/manifests", json={"pickup_id": p["pickup_id"]}, headers=shop.headers)
    assert resp.status == 201, await resp.text()
    m = await resp.json()
    assert m["tracking_numbers"] == tns and m["pickup_id"] == p["pickup_id"]
    made = await create_staff(redis, load_registry(), OFFICE, "نامه‌رسان")
    resp = await app_client.post(f"/v1/manifests/{m['manifest_id']}/accept",
                                 headers={"Authorization": f"Bearer {made['token']}"})
    assert resp.status == 200, await resp.text()
    out = await resp.json()
    assert sorted(a["tracking_number"] for a in out["accepted"]) == sorted(tns) and out["missing"] == []
    assert out["pickup"]["status"] == "completed" and out["pickup"]["manifest_id"] == m["manifest_id"]
    got = await (await app_client.get(f"/v1/pickups/{p['pickup_id']}", headers=shop.headers)).json()
    assert got["status"] == "completed" and sorted(got["collected"]) == sorted(tns)
    for tn in tns:
        parcel = await (await app_client.get(f"/v1/shipments/{tn}", headers=shop.headers)).json()
        assert parcel["status"] == "in_transit"
    # The pickup is closed: no second manifest from it.
    again = await app_client.post("/v1/manifests", json={"pickup_id": p["pickup_id"]}, headers=shop.headers)
    assert again.status == 409 and (await again.json())["code"] == "pickup_closed"


async def test_a_count_only_pickup_s_manifest_lists_the_parcels_waiting(app_client, make_shop, fixed_clock):
    shop = await make_shop("count-only")
    tns = await _book(app_client, shop, 4)
    p = await _pickup(app_client, shop, expected_count=4)
    resp = await app_client.post("/v1/manifests", json={"pickup_id": p["pickup_id"]}, headers=shop.headers)
    assert resp.status == 201, await resp.text()
    assert sorted((await resp.json())["tracking_numbers"]) == sorted(tns)
    # Those are now on an open manifest: a second manifest from the pickup finds none waiting.
    resp = await app_client.post("/v1/manifests", json={"pickup_id": p["pickup_id"]}, headers=shop.headers)
    assert resp.status == 422 and (await resp.json())["code"] == "pickup_no_parcels"


async def test_a_manifest_from_another_shop_s_pickup_is_refused(app_client, shop, make_shop, fixed_clock):
    await _book(app_client, shop, 3)
    p = await _pickup(app_client, shop, expected_count=3)
    other = await make_shop("other")
    resp = await app_client.post("/v1/manifests", json={"pickup_id": p["pickup_id"]}, headers=other.headers)
    assert resp.status == 404 and (await resp.json())["code"] == "pickup_not_found"
    bad = await app_client.post("/v1/manifests", json={"pickup_id": p["pickup_id"], "date": "2026-12-19"},
                                headers=shop.headers)
    assert bad.status == 422 and (await bad.json())["errors"][0]["code"] == "one_of"
