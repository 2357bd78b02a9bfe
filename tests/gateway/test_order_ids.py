"""client_order_id protects a shop from booking one order twice: a second live parcel of the same order is
refused (409 naming the first) unless the request says it is another parcel of that order; a cancel frees it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.store import keys
from tests.conftest import shipment_body, stored_parcels

ROOT = Path(__file__).resolve().parents[2]


def order(oid: str, **overrides) -> dict:
    """A booking of order ``oid`` that does not claim to be another parcel of it."""
    return shipment_body(**{"client_order_id": oid, "another_parcel_of_order": None, **overrides})


async def test_booking_an_order_twice_is_refused_naming_the_first_parcel(app_client, shop, redis):
    first = await app_client.post("/v1/shipments", json=order("1001"), headers=shop.headers)
    assert first.status == 201
    tn = (await first.json())["tracking_number"]
    again = await app_client.post("/v1/shipments", json=order("1001"), headers=shop.headers)
    problem = await again.json()
    assert again.status == 409 and problem["code"] == "client_order_id_exists"
    assert problem["tracking_number"] == tn and tn in problem["detail"] and tn in problem["detail_fa"]
    assert problem["client_order_id"] == "1001"
    assert await stored_parcels(redis, shop.id) == 1
    # With an Idempotency-Key too (the general booking path), and nothing left behind.
    keyed = await app_client.post("/v1/shipments", json=order("1001"),
                                  headers={**shop.headers, "Idempotency-Key": "k-1001"})
    assert keyed.status == 409 and (await keyed.json())["tracking_number"] == tn
    assert await redis.get(keys.idempotency(shop.id, "k-1001")) is None
    assert await stored_parcels(redis, shop.id) == 1


async def test_another_parcel_of_the_same_order_is_booked_when_the_request_says_so(app_client, shop, redis):
    assert (await app_client.post("/v1/shipments", json=order("2002"), headers=shop.headers)).status == 201
    second = await app_client.post("/v1/shipments", json=order("2002", another_parcel_of_order=True),
                                   headers=shop.headers)
    assert second.status == 201
    third = await app_client.post("/v1/shipments", json=order("2002", another_parcel_of_order=False),
                                  headers=shop.headers)
    assert third.status == 409
    listed = await (await app_client.get("/v1/shipments?client_order_id=2002", headers=shop.headers)).json()
    assert len(listed["items"]) == 2
    bad = await app_client.post("/v1/shipments", json=order("2002", another_parcel_of_order="yes"),
                                headers=shop.headers)
    assert bad.status == 422 and (await bad.json())["errors"][0]["field"] == "another_parcel_of_order"


async def test_a_cancel_frees_the_order_id(app_client, shop, redis):
    tn = (await (await app_client.post("/v1/shipments", json=order("3003"), headers=shop.headers)).json())[
        "tracking_number"]
    assert (await app_client.post("/v1/shipments", json=order("3003"), headers=shop.headers)).status == 409
    assert (await app_client.post(f"/v1/shipments/{tn}/cancel", headers=shop.headers)).status == 200
    rebooked = await app_client.post("/v1/shipments", json=order("3003"), headers=shop.headers)
    assert rebooked.status == 201
    # Two live parcels of one order: both must be cancelled before the id is free.
    tn2 = (await rebooked.json())["tracking_number"]
    tn3 = (await (await app_client.post("/v1/shipments", json=order("3003", another_parcel_of_order=True),
                                        headers=shop.headers)).json())["tracking_number"]
    await app_client.post(f"/v1/shipments/{tn2}/cancel", headers=shop.headers)
    refused = await app_client.post("/v1/shipments", json=order("3003"), headers=shop.headers)
    assert refused.status == 409 and (await refused.json())["tracking_number"] == tn3
    await app_client.post(f"/v1/shipments/{tn3}/cancel", headers=shop.headers)
    assert (await app_client.post("/v1/shipments", json=order("3003"), headers=shop.headers)).status == 201


async def test_order_ids_are_per_shop(app_client, make_shop):
    a, b = await make_shop("a"), await make_shop("b")
    assert (await app_client.post("/v1/shipments", json=order("4004"), headers=a.headers)).status == 201
    assert (await app_client.post("/v1/shipments", json=order("4004"), headers=b.headers)).status == 201


async def test_a_batch_refuses_each_duplicate_item_with_its_own_409(app_client, shop, redis):
    tn = (await (await app_client.post("/v1/shipments", json=order("5005"), headers=shop.headers)).json())[
        "tracking_number"]
    items = [order("5005"), order("5006"), order("5006"), order("5006", another_parcel_of_order=True),
             order("5007")]
    resp = await app_client.post("/v1/shipments/batch", json={"shipments": items}, headers=shop.headers)
    assert resp.status == 200
    data = await resp.json()
    assert (data["booked"], data["rejected"]) == (3, 2)
    results = data["results"]
    assert [r["result"] for r in results] == ["rejected", "booked", "rejected", "booked", "booked"]
    assert results[0]["status"] == 409 and results[0]["existing_tracking_number"] == tn
    assert results[0]["errors"][0]["code"] == "client_order_id_exists"
    # The second 5006 clashes with the first one of the same batch, which is named.
    assert results[2]["existing_tracking_number"] == results[1]["shipment"]["tracking_number"]
    assert await stored_parcels(redis, shop.id) == 4


async def test_concurrent_bookings_of_one_order_book_it_once(app_client, shop, redis):
    resps = await asyncio.gather(*[app_client.post("/v1/shipments", json=order("6006"), headers=shop.headers)
                                   for _ in range(20)])
    assert sorted(r.status for r in resps) == [201] + [409] * 19
    assert await stored_parcels(redis, shop.id) == 1


async def test_control_characters_are_stripped_from_the_order_id(app_client, shop):
    resp = await app_client.post("/v1/shipments", json=order("ord\x1b[31m-7\x00007"), headers=shop.headers)
    assert resp.status == 201 and (await resp.json())["client_order_id"] == "ord[31m-7007"
    again = await app_client.post("/v1/shipments", json=order("ord[31m-7007"), headers=shop.headers)
    assert again.status == 409


@pytest.mark.parametrize("path", [("receiver", "name"), ("receiver", "address"), ("receiver", "city"),
                                  ("parcel", "contents"), ("sender", "name"), ("sender", "address")])
async def test_control_characters_are_stripped_from_every_free_text_field(app_client, shop, path):
    body = order(f"ctl-{'-'.join(path)}")
    part, field = path
    body.setdefault(part, {})
    if part == "sender":
        body["sender"] = {"name": "فروشگاه", "phone": "09121234567", "postal_code": "1458973311",
                          "province": "تهران", "city": "تهران", "address": "خیابان آزادی"}
    body[part][field] = "ab\x07c\x1b[2Jd\u202ee"
    resp = await app_client.post("/v1/shipments", json=body, headers=shop.headers)
    assert resp.status == 201, await resp.text()
    assert (await resp.json())[part][field] == "abc[2Jde"


@pytest.mark.parametrize("oid", ["\u200c", "\u0640", " \u0640\u200c ", "\x01\x02"])
async def test_an_order_id_with_nothing_visible_is_refused(app_client, shop, redis, oid):
    resp = await app_client.post("/v1/shipments", json=order(oid), headers=shop.headers)
    assert resp.status == 422
    assert [e["field"] for e in (await resp.json())["errors"]] == ["client_order_id"]
    assert await stored_parcels(redis, shop.id) == 0


def test_the_rule_holds_on_the_pure_python_kernels_too(tmp_path):
    """The same tests with BARID_NO_EXTENSIONS=1: the booking kernel's pure-Python twin decides alone."""
    env = {**os.environ, "BARID_NO_EXTENSIONS": "1"}
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__,
                          "-k", "not pure_python"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
