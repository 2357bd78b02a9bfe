"""A postal code and a province that contradict each other are refused (422 naming both fields); the postal code's
region decides, from the same table that routes the parcel (docs/coverage.md)."""

from __future__ import annotations

import pytest

from kernel.postal.offices import load_registry, postal_regions
from kernel.postal.regions import MISMATCH, province_of_postal_code
from kernel.postal.text import provinces
from tests.conftest import shipment_body, stored_parcels


def receiver(**changes):
    r = dict(shipment_body()["receiver"])
    r.update(changes)
    return r


def mismatch_fields(problem: dict) -> dict[str, dict]:
    return {e["field"]: e for e in problem["errors"] if e["code"] == MISMATCH}


@pytest.mark.parametrize(("postal_code", "province"), [
    ("8138634561", "تهران"),  # an Isfahan code claimed to be in Tehran (priced same-province from a Tehran shop)
    ("۸۱۳۸۶-۳۴۵۶۱", "Tehran"),  # the same, spelled as shops type it
    ("1916753411", "اصفهان"),  # a Tehran code claimed to be in Isfahan
    ("4714813111", "گلستان"),  # Babol (Mazandaran), not Golestan
    ("7591813111", "بوشهر"),  # Yasuj's 759 is Kohgiluyeh and Boyer-Ahmad inside Bushehr's 75
])
async def test_a_receiver_province_the_postal_code_contradicts_is_refused(app_client, shop, redis, postal_code,
                                                                        province):
    before = await stored_parcels(redis, shop.id)
    body = shipment_body(receiver=receiver(postal_code=postal_code, province=province))
    resp = await app_client.post("/v1/shipments", json=body, headers=shop.headers)
    assert resp.status == 422 and resp.content_type == "application/problem+json"
    problem = await resp.json()
    assert problem["code"] == "validation_failed"
    errors = mismatch_fields(problem)
    assert set(errors) == {"receiver.postal_code", "receiver.province"}
    for error in errors.values():
        assert error["message"] and error["message_fa"] and error["message"] != error["message_fa"]
        assert "province" in error["message"] and "استان" in error["message_fa"]
    assert await stored_parcels(redis, shop.id) == before
    # A quote with the same contradiction is priced by the province alone (quotes read no postal code).
    quote = await app_client.post("/v1/quotes", json=body, headers=shop.headers)
    assert quote.status == 200


async def test_the_messages_name_both_provinces(app_client, shop):
    body = shipment_body(receiver=receiver(postal_code="8138634561", province="تهران"))
    problem = await (await app_client.post("/v1/shipments", json=body, headers=shop.headers)).json()
    error = mismatch_fields(problem)["receiver.province"]
    assert "Isfahan" in error["message"] and "Tehran" in error["message"]
    assert "اصفهان" in error["message_fa"] and "تهران" in error["message_fa"]
    assert "۸۱۳۸۶۳۴۵۶۱" in error["message_fa"]


async def test_a_sender_province_the_postal_code_contradicts_is_refused(app_client, shop, redis):
    before = await stored_parcels(redis, shop.id)
    # The shop's own sender is in Tehran; overriding only the province makes it contradict the postal code.
    body = shipment_body(sender={"province": "فارس", "city": "شیراز"})
    resp = await app_client.post("/v1/shipments", json=body, headers=shop.headers)
    assert resp.status == 422
    assert set(mismatch_fields(await resp.json())) == {"sender.postal_code", "sender.province"}
    assert await stored_parcels(redis, shop.id) == before
    # Both together, agreeing: booked, from Shiraz.
    body = shipment_body(sender={"province": "فارس", "city": "شیراز", "postal_code": "7134873411"})
    resp = await app_client.post("/v1/shipments", json=body, headers=shop.headers)
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["origin_office"].startswith("SYZ")


async def test_a_batch_refuses_only_the_contradicting_item(app_client, shop):
    good = shipment_body(client_order_id="B-1")
    bad = shipment_body(client_order_id="B-2", receiver=receiver(postal_code="1916753411"))
    resp = await app_client.post("/v1/shipments/batch", json={"shipments": [good, bad]}, headers=shop.headers)
    assert resp.status == 200
    results = (await resp.json())["results"]
    assert [r["result"] for r in results] == ["booked", "rejected"]
    assert {e["field"] for e in results[1]["errors"] if e["code"] == MISMATCH} == {
        "receiver.postal_code", "receiver.province"}


@pytest.mark.parametrize("province", sorted(p.name_fa for p in provinces()))
async def test_a_receiver_in_every_province_is_booked_and_delivered_there(app_client, shop, province):
    registry = load_registry()
    office = next(o for o in registry.delivery_offices() if o.province == province)
    prefix = next(p for p, name in sorted(postal_regions().items()) if name == province)
    code = next(c for c in (prefix + tail for tail in ("34113579", "4113579", "113579"))
                if len(c) == 10 and province_of_postal_code(c) == province)
    body = shipment_body(receiver=receiver(postal_code=code, province=province, city=office.city))
    resp = await app_client.post("/v1/shipments", json=body, headers=shop.headers)
    assert resp.status == 201, await resp.text()
    doc = await resp.json()
    assert registry.get(doc["delivering_office"]).province == province
    assert doc["route"][-1] == doc["delivering_office"] and doc["expected_delivery"]
