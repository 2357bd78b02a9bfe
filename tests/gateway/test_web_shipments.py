"""Booking, reading, listing and cancelling over real HTTP on the real store."""

from __future__ import annotations

import asyncio

import orjson

from kernel.postal.s10 import is_valid
from kernel.store import keys
from tests.conftest import shipment_body


async def book(client, shop, body=None, **headers):
    return await client.post("/v1/shipments", json=body or shipment_body(), headers={**shop.headers, **headers})


async def test_booking_returns_tracking_number_price_and_status(app_client, shop, redis):
    resp = await book(app_client, shop)
    assert resp.status == 201, await resp.text()
    doc = await resp.json()
    tn = doc["tracking_number"]
    assert is_valid(tn) and tn.startswith("EP") and tn.endswith("IR")
    assert doc["status"] == "pre_transit"
    assert doc["receiver"]["phone"] == "09131234567"  # Persian digits and spaces normalised
    assert doc["receiver"]["postal_code"] == "8138634561"
    assert doc["sender"]["city"] == "تهران"  # filled from the shop's profile
    assert doc["zone"] == "other_province"
    price = doc["price"]
    assert price["total"] == price["base"] + price["cod_fee"] + price["insurance"] + price["vat"]
    assert price["cod_fee"] > 0 and price["insurance"] > 0
    # The booked event went to the partition outbox and the shop feed, and the global index knows the shop.
    assert int(await redis.get(keys.tracking_index(tn))) == shop.id
    feed = await redis.xrevrange(keys.shop_feed(shop.id), count=1)
    assert tn.encode() in feed[0][1][b"e"]
    outbox = await redis.xrevrange(keys.partition_events(keys.partition_of(shop.id)), count=50)
    assert any(fields[b"t"] == tn.encode() for _, fields in outbox)


async def test_quote_agrees_with_booking(app_client, shop):
    body = shipment_body()
    quote = await app_client.post("/v1/quotes", json=body, headers=shop.headers)
    assert quote.status == 200
    booked = await (await book(app_client, shop, body)).json()
    assert (await quote.json())["price"] == booked["price"]


async def test_quote_needs_only_places_and_weight(app_client, shop):
    resp = await app_client.post("/v1/quotes", headers=shop.headers, json={
        "service": "sefareshi", "receiver": {"province": "Tehran", "city": "تهران"}, "parcel": {"weight_g": 400}})
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    assert data["zone"] == "same_city" and data["price"]["cod_fee"] == 0


async def test_prepaid_booking_has_no_cod_fee(app_client, shop):
    resp = await book(app_client, shop, shipment_body(payment={"type": "prepaid"}, service="sefareshi"))
    doc = await resp.json()
    assert resp.status == 201 and doc["price"]["cod_fee"] == 0 and doc["tracking_number"].startswith("RP")


async def test_read_back_includes_history(app_client, shop):
    tn = (await (await book(app_client, shop)).json())["tracking_number"]
    resp = await app_client.get(f"/v1/shipments/{tn}", headers=shop.headers)
    assert resp.status == 200
    doc = await resp.json()
    assert doc["tracking_number"] == tn
    assert [e["type"] for e in doc["history"]] == ["booked"]
    assert doc["history"][0]["id"] == f"evt_{tn}_1"


async def test_shops_are_isolated(app_client, make_shop):
    a, b = await make_shop("a"), await make_shop("b")
    tn = (await (await book(app_client, a)).json())["tracking_number"]
    assert (await app_client.get(f"/v1/shipments/{tn}", headers=b.headers)).status == 404
    assert (await app_client.post(f"/v1/shipments/{tn}/cancel", headers=b.headers)).status == 404
    listed = await (await app_client.get("/v1/shipments", headers=b.headers)).json()
    assert listed["items"] == []
    assert (await app_client.get(f"/v1/shipments/{tn}", headers=a.headers)).status == 200


async def all_pages(app_client, shop, limit: int) -> list[str]:
    seen, cursor = [], None
    while True:
        params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        page = await (await app_client.get("/v1/shipments", params=params, headers=shop.headers)).json()
        seen += [s["tracking_number"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


async def test_listing_paginates_newest_first_and_filters(app_client, shop):
    tns = []
    for i in range(5):
        doc = await (await book(app_client, shop, shipment_body(client_order_id=f"L-{i % 2}"))).json()
        tns.append(doc["tracking_number"])
    assert await all_pages(app_client, shop, 2) == tns[::-1]
    by_order = await (await app_client.get("/v1/shipments", params={"client_order_id": "L-0"},
                                           headers=shop.headers)).json()
    assert {s["tracking_number"] for s in by_order["items"]} == {tns[0], tns[2], tns[4]}
    await app_client.post(f"/v1/shipments/{tns[1]}/cancel", headers=shop.headers)
    cancelled = await (await app_client.get("/v1/shipments", params={"status": "cancelled"},
                                            headers=shop.headers)).json()
    assert [s["tracking_number"] for s in cancelled["items"]] == [tns[1]]
    pending = await (await app_client.get("/v1/shipments", params={"status": "pre_transit"},
                                          headers=shop.headers)).json()
    assert tns[1] not in {s["tracking_number"] for s in pending["items"]} and len(pending["items"]) == 4
    # Unfiltered, the parcels now in two statuses still come newest first, each once, across pages.
    await app_client.post(f"/v1/shipments/{tns[3]}/cancel", headers=shop.headers)
    for limit in (1, 2, 3, 5, 100):
        assert await all_pages(app_client, shop, limit) == tns[::-1]


async def test_listing_by_created_range(app_client, shop):
    first = await (await book(app_client, shop)).json()
    await asyncio.sleep(0.01)
    second = await (await book(app_client, shop)).json()
    resp = await app_client.get("/v1/shipments", headers=shop.headers,
                                params={"created_from": second["created_at"]})
    assert [s["tracking_number"] for s in (await resp.json())["items"]] == [second["tracking_number"]]
    resp = await app_client.get("/v1/shipments", headers=shop.headers, params={"created_to": first["created_at"]})
    assert [s["tracking_number"] for s in (await resp.json())["items"]] == [first["tracking_number"]]


async def test_listing_rejects_bad_filters(app_client, shop):
    resp = await app_client.get("/v1/shipments", headers=shop.headers,
                                params={"status": "lost", "limit": "1000", "created_from": "yesterday"})
    assert resp.status == 422
    fields = {e["field"] for e in (await resp.json())["errors"]}
    assert fields == {"status", "limit", "created_from"}


async def test_cancel_only_before_acceptance(app_client, shop, redis):
    tn = (await (await book(app_client, shop)).json())["tracking_number"]
    resp = await app_client.post(f"/v1/shipments/{tn}/cancel", headers=shop.headers)
    assert resp.status == 200
    doc = await resp.json()
    assert doc["status"] == "cancelled"
    assert [e["type"] for e in doc["history"]] == ["booked", "cancelled"]
    assert doc["history"][1]["id"] == f"evt_{tn}_2"
    again = await app_client.post(f"/v1/shipments/{tn}/cancel", headers=shop.headers)
    assert again.status == 409 and (await again.json())["code"] == "already_cancelled"
    # A parcel a post office has accepted can no longer be cancelled.
    tn2 = (await (await book(app_client, shop)).json())["tracking_number"]
    await redis.hset(keys.parcel(shop.id, tn2), mapping={"status": "in_transit"})
    resp = await app_client.post(f"/v1/shipments/{tn2}/cancel", headers=shop.headers)
    assert resp.status == 409 and (await resp.json())["code"] == "not_cancellable"


async def test_unknown_tracking_number_is_404(app_client, shop):
    for tn in ("EP000000000IR", "not-a-number"):
        resp = await app_client.get(f"/v1/shipments/{tn}", headers=shop.headers)
        assert resp.status == 404
        assert resp.content_type == "application/problem+json"


async def test_booking_knows_its_offices_route_and_delivery_date(app_client, shop):
    doc = await (await book(app_client, shop)).json()
    assert doc["origin_office"].startswith("THR") and doc["delivering_office"].startswith("IFN")
    assert doc["route"][0] == doc["origin_office"] and doc["route"][-1] == doc["delivering_office"]
    assert len(doc["route"]) >= 3  # through the sorting hubs
    assert doc["expected_delivery"] > doc["created_at"][:10]


async def test_a_receiver_outside_every_prefix_goes_to_the_nearest_office_of_its_province(app_client, shop):
    body = shipment_body()
    body["receiver"].update(postal_code="5766713331", province="آذربایجان غربی", city="ارومیه")
    doc = await (await book(app_client, shop, body)).json()
    assert doc["delivering_office"] == "OMH-01"  # Urmia's own office (docs/coverage.md), not one in another province
    pishtaz = doc["expected_delivery"]
    sefareshi = await (await book(app_client, shop, shipment_body(service="sefareshi"))).json()
    same_city = shipment_body()
    same_city["receiver"].update(postal_code="1916753411", province="تهران", city="تهران")
    local = await (await book(app_client, shop, same_city)).json()
    assert local["expected_delivery"] <= pishtaz <= sefareshi["expected_delivery"]


async def test_listing_rejects_out_of_calendar_dates_and_odd_digits(app_client, shop):
    for params in ({"created_from": "9999-12-31T23:00:00-05:00"}, {"created_to": "0001-01-01T00:00:00+05:00"},
                   {"limit": "²"}, {"limit": "①"}, {"client_order_id": ""}):
        resp = await app_client.get("/v1/shipments", params=params, headers=shop.headers)
        assert resp.status == 422, params


async def test_the_booked_event_is_the_documented_json_whatever_the_order_id_holds(app_client, shop, redis):
    order_id = 'سفارش "۴۲"\\ ب/\u200cج'  # quotes, a backslash, a slash, Persian and a ZWNJ: all must be escaped right
    doc = await (await book(app_client, shop, shipment_body(client_order_id=order_id))).json()
    tn = doc["tracking_number"]
    raw = (await redis.xrevrange(keys.shop_feed(shop.id), count=1))[0][1][b"e"]
    event = orjson.loads(raw)
    assert raw == orjson.dumps(event)  # byte for byte what orjson writes, as every other event
    assert event == {
        "id": f"evt_{tn}_1", "type": "booked", "tracking_number": tn, "shop_id": shop.id, "status": "pre_transit",
        "occurred_at": doc["created_at"], "recorded_at": doc["created_at"], "office": None,
        "data": {"client_order_id": order_id, "service": "pishtaz", "delivering_office": doc["delivering_office"],
                 "expected_delivery": doc["expected_delivery"]}}
