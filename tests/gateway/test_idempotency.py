"""Idempotency-Key: replay with the same body, refusal with another, double booking without a key."""

from __future__ import annotations

import asyncio
import json

import orjson

from kernel.store import keys
from tests.conftest import shipment_body, stored_parcels


async def test_same_key_same_body_replays_the_first_answer(app_client, shop, redis):
    h = {**shop.headers, "Idempotency-Key": "order-77-try"}
    first = await app_client.post("/v1/shipments", json=shipment_body(), headers=h)
    second = await app_client.post("/v1/shipments", json=shipment_body(), headers=h)
    assert first.status == second.status == 201
    assert await first.read() == await second.read()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert await stored_parcels(redis, shop.id) == 1


async def test_same_key_other_body_is_refused(app_client, shop, redis):
    h = {**shop.headers, "Idempotency-Key": "k-1"}
    assert (await app_client.post("/v1/shipments", json=shipment_body(), headers=h)).status == 201
    resp = await app_client.post("/v1/shipments", json=shipment_body(client_order_id="other"), headers=h)
    assert resp.status == 409 and (await resp.json())["code"] == "idempotency_key_reused"
    assert await stored_parcels(redis, shop.id) == 1


async def test_concurrent_retries_with_one_key_book_once(app_client, shop, redis):
    h = {**shop.headers, "Idempotency-Key": "storm"}
    resps = await asyncio.gather(*[app_client.post("/v1/shipments", json=shipment_body(), headers=h)
                                   for _ in range(20)])
    bodies = {await r.read() for r in resps}
    assert len(bodies) == 1 and all(r.status == 201 for r in resps)
    assert await stored_parcels(redis, shop.id) == 1


async def test_keys_are_per_shop(app_client, make_shop):
    a, b = await make_shop("a"), await make_shop("b")
    ra = await app_client.post("/v1/shipments", json=shipment_body(), headers={**a.headers, "Idempotency-Key": "x"})
    rb = await app_client.post("/v1/shipments", json=shipment_body(), headers={**b.headers, "Idempotency-Key": "x"})
    assert (await ra.json())["tracking_number"] != (await rb.json())["tracking_number"]


async def test_keys_live_at_least_a_day(app_client, shop, redis):
    await app_client.post("/v1/shipments", json=shipment_body(), headers={**shop.headers, "Idempotency-Key": "ttl"})
    assert await redis.ttl(keys.idempotency(shop.id, "ttl")) >= 24 * 3600


async def test_without_a_key_a_retry_books_twice(app_client, shop, redis):
    for _ in range(2):
        assert (await app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)).status == 201
    assert await stored_parcels(redis, shop.id) == 2


async def test_batch_replay_and_cancel_replay(app_client, shop):
    h = {**shop.headers, "Idempotency-Key": "batch-1"}
    payload = {"shipments": [shipment_body(), shipment_body()]}
    first = await app_client.post("/v1/shipments/batch", json=payload, headers=h)
    second = await app_client.post("/v1/shipments/batch", json=payload, headers=h)
    assert await first.read() == await second.read()
    tn = (await first.json())["results"][0]["shipment"]["tracking_number"]
    hc = {**shop.headers, "Idempotency-Key": "cancel-1"}
    c1 = await app_client.post(f"/v1/shipments/{tn}/cancel", headers=hc)
    c2 = await app_client.post(f"/v1/shipments/{tn}/cancel", headers=hc)
    assert c1.status == c2.status == 200 and await c1.read() == await c2.read()


async def test_malformed_key_is_rejected(app_client, shop):
    resp = await app_client.post("/v1/shipments", json=shipment_body(),
                                 headers={**shop.headers, "Idempotency-Key": "x" * 300})
    assert resp.status == 422


async def test_quotes_honour_idempotency_keys_too(app_client, shop):
    h = {**shop.headers, "Idempotency-Key": "q-1"}
    first = await app_client.post("/v1/quotes", json=shipment_body(), headers=h)
    again = await app_client.post("/v1/quotes", json=shipment_body(), headers=h)
    assert again.headers.get("Idempotent-Replayed") == "true" and await first.read() == await again.read()
    other = await app_client.post("/v1/quotes", json=shipment_body(service="sefareshi"), headers=h)
    assert other.status == 409
    bad = await app_client.post("/v1/quotes", json=shipment_body(), headers={**shop.headers, "Idempotency-Key": "é"})
    assert bad.status == 422


async def test_a_replay_restores_an_index_write_that_died_with_the_first_attempt(app_client, shop, redis):
    from kernel.store import keys as k

    h = {**shop.headers, "Idempotency-Key": "crash-between"}
    doc = await (await app_client.post("/v1/shipments", json=shipment_body(), headers=h)).json()
    tn = doc["tracking_number"]
    await redis.delete(k.tracking_index(tn))  # as if the gateway died right after the booking script
    await redis.zrem(k.office_due(doc["delivering_office"]), tn)
    again = await app_client.post("/v1/shipments", json=shipment_body(), headers=h)
    assert again.status == 201 and (await again.json())["tracking_number"] == tn
    assert int(await redis.get(k.tracking_index(tn))) == shop.id
    assert await redis.zscore(k.office_due(doc["delivering_office"]), tn) is not None


def _spelled_otherwise(body: dict) -> bytes:
    """The same JSON with its keys in reverse order and generous whitespace."""
    def reverse(v):
        if isinstance(v, dict):
            return {k: reverse(v[k]) for k in reversed(list(v))}
        return v
    return json.dumps(reverse(body), ensure_ascii=False, indent=4).encode()


async def test_the_same_request_spelled_otherwise_replays(app_client, shop, redis):
    """Requests are compared parsed, as Stripe compares parameters: whitespace and key order do not matter."""
    h = {**shop.headers, "Idempotency-Key": "spelling", "Content-Type": "application/json"}
    body = shipment_body()
    first = await app_client.post("/v1/shipments", data=orjson.dumps(body), headers=h)
    again = await app_client.post("/v1/shipments", data=_spelled_otherwise(body), headers=h)
    assert first.status == again.status == 201, await again.text()
    assert again.headers.get("Idempotent-Replayed") == "true" and await first.read() == await again.read()
    batch = {"shipments": [shipment_body(), shipment_body(client_order_id="o-2")]}
    hb = {**h, "Idempotency-Key": "spelling-batch"}
    b1 = await app_client.post("/v1/shipments/batch", data=orjson.dumps(batch), headers=hb)
    b2 = await app_client.post("/v1/shipments/batch", data=_spelled_otherwise(batch), headers=hb)
    assert b2.headers.get("Idempotent-Replayed") == "true" and await b1.read() == await b2.read()
    hq = {**h, "Idempotency-Key": "spelling-quote"}
    q1 = await app_client.post("/v1/quotes", data=orjson.dumps(body), headers=hq)
    q2 = await app_client.post("/v1/quotes", data=_spelled_otherwise(body), headers=hq)
    assert q2.headers.get("Idempotent-Replayed") == "true" and await q1.read() == await q2.read()
    assert await stored_parcels(redis, shop.id) == 3


async def test_a_different_value_is_still_refused(app_client, shop):
    h = {**shop.headers, "Idempotency-Key": "value"}
    assert (await app_client.post("/v1/shipments", json=shipment_body(), headers=h)).status == 201
    other = shipment_body(parcel={"weight_g": 1201, "declared_value": 5_000_000, "contents": "کتاب"})
    resp = await app_client.post("/v1/shipments", json=other, headers=h)
    assert resp.status == 409 and (await resp.json())["code"] == "idempotency_key_reused"


async def test_keys_are_scoped_per_endpoint(app_client, shop, redis):
    """One key on two endpoints names two requests, each replayed on its own endpoint."""
    h = {**shop.headers, "Idempotency-Key": "shared"}
    quote = await app_client.post("/v1/quotes", json=shipment_body(), headers=h)
    booking = await app_client.post("/v1/shipments", json=shipment_body(), headers=h)
    assert quote.status == 200 and booking.status == 201
    assert "Idempotent-Replayed" not in booking.headers
    batch = await app_client.post("/v1/shipments/batch", json={"shipments": [shipment_body()]}, headers=h)
    assert batch.status == 200 and "Idempotent-Replayed" not in batch.headers
    tn = (await booking.json())["tracking_number"]
    cancel = await app_client.post(f"/v1/shipments/{tn}/cancel", headers=h)
    assert cancel.status == 200 and "Idempotent-Replayed" not in cancel.headers
    again = await app_client.post("/v1/shipments", json=shipment_body(), headers=h)
    assert again.headers.get("Idempotent-Replayed") == "true" and await again.read() == await booking.read()
    assert await stored_parcels(redis, shop.id) == 2
    # Within the cancel route, the key names one parcel's cancel: another parcel's is another request.
    tn2 = (await batch.json())["results"][0]["shipment"]["tracking_number"]
    other = await app_client.post(f"/v1/shipments/{tn2}/cancel", headers=h)
    assert other.status == 409 and (await other.json())["code"] == "idempotency_key_reused"
