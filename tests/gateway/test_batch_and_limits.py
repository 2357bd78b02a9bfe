"""Batch booking (per-item results), rate limits and key revocation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson

from booking.shops import ShopRegistry
from gateway.web_app import create_app
from kernel.postal.s10 import format_tracking_number, is_valid
from kernel.postal.tariff import LIMITS_PATH
from kernel.settings import Config
from kernel.store import keys
from tests.conftest import shipment_body, stored_parcels


async def test_batch_books_good_items_and_rejects_bad_ones(app_client, shop, redis):
    bad_phone = shipment_body()
    bad_phone["receiver"]["phone"] = "123"
    items = [shipment_body(client_order_id="B-0"), bad_phone, shipment_body(service="sefareshi"),
             "not an object", shipment_body(parcel={"weight_g": 999_999})]
    resp = await app_client.post("/v1/shipments/batch", json={"shipments": items}, headers=shop.headers)
    assert resp.status == 200
    data = await resp.json()
    assert (data["booked"], data["rejected"]) == (2, 3)
    results = data["results"]
    assert [r["result"] for r in results] == ["booked", "rejected", "booked", "rejected", "rejected"]
    assert [r["index"] for r in results] == list(range(5))
    assert results[1]["errors"][0]["field"] == "receiver.phone"
    assert results[4]["errors"][0]["field"] == "parcel.weight_g"
    tns = [r["shipment"]["tracking_number"] for r in results if r["result"] == "booked"]
    assert all(is_valid(t) for t in tns)
    assert await stored_parcels(redis, shop.id) == 2


async def test_batch_of_500_is_accepted_and_501_refused(app_client, shop, redis):
    ok = await app_client.post("/v1/shipments/batch", json={"shipments": [shipment_body()] * 500},
                               headers=shop.headers)
    assert ok.status == 200 and (await ok.json())["booked"] == 500
    too_many = await app_client.post("/v1/shipments/batch", json={"shipments": [shipment_body()] * 501},
                                     headers=shop.headers)
    assert too_many.status == 422
    assert (await too_many.json())["errors"][0]["code"] == "too_many_items"
    assert await stored_parcels(redis, shop.id) == 500


async def test_batch_needs_a_list(app_client, shop):
    for body in ({}, {"shipments": []}, {"shipments": {"a": 1}}, []):
        resp = await app_client.post("/v1/shipments/batch", json=body, headers=shop.headers)
        assert resp.status == 422


async def test_rate_limit_answers_429_with_retry_after(app_client, make_shop, redis):
    shop = await make_shop("slow", rate_per_s=1, rate_burst=3)
    statuses = []
    for _ in range(6):
        resp = await app_client.post("/v1/quotes", json=shipment_body(), headers=shop.headers)
        statuses.append(resp.status)
        if resp.status == 429:
            assert int(resp.headers["Retry-After"]) >= 1
            assert (await resp.json())["code"] == "rate_limited"
    assert statuses[:3] == [200, 200, 200] and statuses[-1] == 429
    # A refused booking books nothing.
    resp = await app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)
    assert resp.status == 429
    assert await stored_parcels(redis, shop.id) == 0


async def test_rate_limit_is_per_shop(app_client, make_shop):
    slow, other = await make_shop("slow", rate_per_s=1, rate_burst=1), await make_shop("other")
    await app_client.post("/v1/quotes", json=shipment_body(), headers=slow.headers)
    assert (await app_client.post("/v1/quotes", json=shipment_body(), headers=slow.headers)).status == 429
    assert (await app_client.post("/v1/quotes", json=shipment_body(), headers=other.headers)).status == 200


async def test_batch_items_count_against_the_rate(app_client, make_shop):
    shop = await make_shop("bulk", rate_per_s=1, rate_burst=20)
    ok = await app_client.post("/v1/shipments/batch", json={"shipments": [shipment_body()] * 12},
                               headers=shop.headers)
    assert ok.status == 200
    resp = await app_client.post("/v1/shipments/batch", json={"shipments": [shipment_body()] * 12},
                                 headers=shop.headers)
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1


async def test_a_batch_larger_than_the_whole_burst_is_a_422_not_a_429(app_client, make_shop, redis):
    """No wait would ever let it through, so a Retry-After would be a lie: the answer says to split it."""
    shop = await make_shop("bulk", rate_per_s=10, rate_burst=20)
    resp = await app_client.post("/v1/shipments/batch", json={"shipments": [shipment_body()] * 21},
                                 headers=shop.headers)
    body = await resp.json()
    assert resp.status == 422 and "Retry-After" not in resp.headers
    assert body["code"] == "batch_exceeds_burst" and body["burst"] == 20 and "20" in body["detail"]
    assert "۲۰" in body["detail_fa"]
    assert await stored_parcels(redis, shop.id) == 0
    # The same shop's whole burst in one batch is fine; the refused batch used none of it.
    ok = await app_client.post("/v1/shipments/batch", json={"shipments": [shipment_body()] * 20},
                               headers=shop.headers)
    assert ok.status == 200 and (await ok.json())["booked"] == 20


async def test_disabling_a_shop_stops_its_key_at_once(app_client, shop, redis):
    assert (await app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)).status == 201
    await ShopRegistry(redis).set_status(shop.id, "disabled")
    resp = await app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)
    assert resp.status == 401 and (await resp.json())["code"] == "shop_disabled"
    assert (await app_client.get("/v1/shipments", headers=shop.headers)).status == 401
    await ShopRegistry(redis).set_status(shop.id, "active")
    assert (await app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)).status == 201


async def test_rotating_a_key_without_overlap_retires_the_old_one_at_once(app_client, shop, redis):
    assert (await app_client.get("/v1/shipments", headers=shop.headers)).status == 200
    new_key = await ShopRegistry(redis).rotate_key(shop.id, overlap_s=0)
    assert (await app_client.get("/v1/shipments", headers=shop.headers)).status == 401
    resp = await app_client.get("/v1/shipments", headers={"Authorization": f"Bearer {new_key}"})
    assert resp.status == 200


async def test_keys_are_stored_only_as_hashes(shop, redis):
    stored = await redis.hgetall(keys.shop(shop.id))
    assert all(shop.api_key.encode() not in v for v in stored.values())
    assert len(stored[b"key_hash"]) == 64


async def test_many_concurrent_bookings_get_distinct_valid_numbers(app_client, shop):
    resps = await asyncio.gather(*[app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)
                                   for _ in range(200)])
    tns = [(await r.json())["tracking_number"] for r in resps]
    assert len(set(tns)) == 200 and all(is_valid(t) for t in tns)


async def test_refused_bookings_leave_no_tracking_index_behind(app_client, make_shop, redis):
    shop = await make_shop("tiny", rate_per_s=1, rate_burst=1)
    ok = await (await app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)).json()
    refused = await app_client.post("/v1/shipments/batch", json={"shipments": [shipment_body()] * 5},
                                    headers=shop.headers)
    assert refused.status == 422 and (await refused.json())["code"] == "batch_exceeds_burst"
    # The serials the refused batch reserved come right after the booked one; none of them is indexed.
    serial = int(ok["tracking_number"][2:10])
    for n in range(serial + 1, serial + 6):
        assert await redis.get(keys.tracking_index(format_tracking_number("EP", n))) is None


async def test_a_refused_single_booking_leaves_no_tracking_index_behind(app_client, make_shop, redis):
    shop = await make_shop("tiny", rate_per_s=1, rate_burst=2)
    # The first booking reserves a block of serials; the next ones are served from it without a store trip.
    resps = [await app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers) for _ in range(3)]
    assert [r.status for r in resps] == [201, 201, 429]
    serial = int((await resps[1].json())["tracking_number"][2:10])
    assert await redis.get(keys.tracking_index(format_tracking_number("EP", serial))) is not None
    assert await redis.get(keys.tracking_index(format_tracking_number("EP", serial + 1))) is None


async def test_a_body_over_the_size_limit_is_refused_whole_or_streaming(aiohttp_client, tmp_path, store_url, shop, redis):
    """Small bodies arrive with their headers and are read as they lie, big ones stream: both honour the limit."""
    limits = Path(LIMITS_PATH).read_text().replace("request_max_body_bytes = 1_048_576", "request_max_body_bytes = 4_096")
    assert "4_096" in limits
    (tmp_path / "limits.toml").write_text(limits)
    client = await aiohttp_client(create_app(Config(data_dir=tmp_path, access_log=False,
                                                    limits_path=tmp_path / "limits.toml"), store_url))
    fits = shipment_body()
    over = shipment_body(parcel={"weight_g": 1200, "contents": "کتاب"}, padding="x" * 4_200)
    streamed = shipment_body(padding="x" * 2_000_000)
    for body, status in ((fits, 201), (over, 413), (streamed, 413)):
        resp = await client.post("/v1/shipments", data=orjson.dumps(body),
                                 headers={**shop.headers, "Content-Type": "application/json"})
        assert resp.status == status, await resp.text()
        if status == 413:
            assert (await resp.json())["code"] == "payload_too_large"
    assert await stored_parcels(redis, shop.id) == 1
