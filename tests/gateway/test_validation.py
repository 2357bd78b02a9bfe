"""Bad input gets a problem+json answer listing every bad field, and changes nothing in the store."""

from __future__ import annotations

import pytest

from tests.conftest import shipment_body, stored_parcels


async def post_shipment(client, shop, body):
    return await client.post("/v1/shipments", json=body, headers=shop.headers)


def receiver(**changes):
    r = dict(shipment_body()["receiver"])
    r.update(changes)
    return r


@pytest.mark.parametrize(("body", "field", "code"), [
    (shipment_body(receiver=receiver(postal_code="12345")), "receiver.postal_code", "postal_code_format"),
    (shipment_body(receiver=receiver(postal_code="۰۱۲۳۴۵۶۷۸۹")), "receiver.postal_code", "postal_code_invalid"),
    (shipment_body(receiver=receiver(postal_code="1111345678")), "receiver.postal_code", "postal_code_invalid"),
    (shipment_body(receiver=receiver(postal_code="1345278901")), "receiver.postal_code", "postal_code_invalid"),
    (shipment_body(receiver=receiver(phone="02112345678")), "receiver.phone", "phone_invalid"),
    (shipment_body(receiver=receiver(phone="۰۹۱۲۳۴")), "receiver.phone", "phone_invalid"),
    (shipment_body(receiver=receiver(province="Atlantis")), "receiver.province", "province_unknown"),
    (shipment_body(receiver=receiver(city="")), "receiver.city", "city_invalid"),
    (shipment_body(receiver=receiver(name=None)), "receiver.name", "required"),
    (shipment_body(receiver=receiver(location={"lat": 51.4, "lon": 35.7})), "receiver.location.lat", "out_of_range"),
    (shipment_body(service="express"), "service", "enum"),
    (shipment_body(payment={"type": "cod"}), "payment.goods_value", "required"),
    (shipment_body(payment={"type": "cod", "goods_value": "100000"}), "payment.goods_value", "type_integer"),
    (shipment_body(payment={"type": "cod", "goods_value": 10**12}), "payment.goods_value", "too_large"),
    (shipment_body(payment={"type": "card"}), "payment.type", "enum"),
    (shipment_body(parcel={"weight_g": 0}), "parcel.weight_g", "too_small"),
    (shipment_body(parcel={"weight_g": 30_001}), "parcel.weight_g", "too_large"),
    (shipment_body(parcel={"weight_g": True}), "parcel.weight_g", "type_integer"),
    (shipment_body(parcel={"weight_g": 900, "declared_value": -1}), "parcel.declared_value", "too_small"),
    (shipment_body(parcel={"weight_g": 900, "length_mm": 1500, "width_mm": 800, "height_mm": 800}), "parcel",
     "too_large_girth"),
    (shipment_body(client_order_id="x" * 65), "client_order_id", "too_long"),
    (shipment_body(receiver="Isfahan"), "receiver", "type_object"),
])
async def test_each_rule_is_enforced(app_client, shop, redis, body, field, code):
    before = await stored_parcels(redis, shop.id)
    resp = await post_shipment(app_client, shop, body)
    assert resp.status == 422
    assert resp.content_type == "application/problem+json"
    problem = await resp.json()
    assert problem["code"] == "validation_failed" and problem["status"] == 422
    assert {"field": field, "code": code} in [{"field": e["field"], "code": e["code"]} for e in problem["errors"]]
    assert all(e["message"] and e["message_fa"] for e in problem["errors"])
    assert await stored_parcels(redis, shop.id) == before


async def test_every_bad_field_is_reported_at_once(app_client, shop):
    body = shipment_body(service="x", parcel={"weight_g": -5},
                         receiver=receiver(phone="1", postal_code="2", province="?"))
    del body["client_order_id"]
    problem = await (await post_shipment(app_client, shop, body)).json()
    assert {e["field"] for e in problem["errors"]} == {
        "client_order_id", "service", "parcel.weight_g", "receiver.phone", "receiver.postal_code",
        "receiver.province"}


@pytest.mark.parametrize("raw", [b"{", b"[1,2", b"\xff\xfe", b""])
async def test_malformed_json_is_422(app_client, shop, raw):
    resp = await app_client.post("/v1/shipments", data=raw,
                                 headers={**shop.headers, "Content-Type": "application/json"})
    assert resp.status == 422 and (await resp.json())["code"] == "malformed_json"


async def test_non_json_content_type_is_415(app_client, shop):
    resp = await app_client.post("/v1/shipments", data=b"a=b",
                                 headers={**shop.headers, "Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 415


async def test_unknown_fields_are_ignored(app_client, shop):
    body = shipment_body(gift_wrap=True)
    body["receiver"]["floor"] = 3
    resp = await post_shipment(app_client, shop, body)
    assert resp.status == 201
    doc = await resp.json()
    assert "gift_wrap" not in doc and "floor" not in doc["receiver"]


async def test_body_over_one_mib_is_413_and_books_nothing(app_client, shop, redis):
    body = shipment_body()
    body["padding"] = "x" * (1024 * 1024)
    resp = await post_shipment(app_client, shop, body)
    assert resp.status == 413
    assert (await resp.json())["code"] == "payload_too_large"
    assert await stored_parcels(redis, shop.id) == 0


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer bk_1_short", "Basic abc",
                                    "Bearer bk_999999_" + "a" * 43])
async def test_missing_or_bad_key_is_401(app_client, header):
    headers = {"Authorization": header} if header else {}
    resp = await app_client.post("/v1/shipments", json=shipment_body(), headers=headers)
    assert resp.status == 401 and resp.content_type == "application/problem+json"


async def test_bad_input_from_an_unknown_caller_is_401_not_422(app_client):
    resp = await app_client.post("/v1/shipments", json={}, headers={"Authorization": "Bearer bk_1_" + "z" * 43})
    assert resp.status == 401


async def test_unknown_route_is_problem_json(app_client):
    resp = await app_client.get("/v1/nothing-here")
    assert resp.status == 404 and (await resp.json())["code"] == "route_not_found"
