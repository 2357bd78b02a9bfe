"""Delivery verification: who needs a code or a signature, the code's life, wrong codes, the lock and its unlock.
Every rule against the real store, over real HTTP."""

from __future__ import annotations

import orjson

from kernel.store import keys
from pod.scan import code_key
from pod.service import delivery_code

from .conftest import OFFICE, PNG, b64

GOOD = "مریم احمدی"


async def _state(client, shop, tn: str) -> tuple[str, int]:
    got = await (await client.get(f"/v1/shipments/{tn}", headers=shop.headers)).json()
    return got["status"], len(got["history"])


async def test_the_verification_comes_from_the_booking_the_shop_or_the_default(client, shop, book):
    assert (await book())["delivery_verification"] == "none"  # COD of 12 million rials: under the default's line
    assert (await book(payment={"type": "cod", "goods_value": 60_000_000}))["delivery_verification"] == "otp"
    assert (await book(payment={"type": "prepaid"}))["delivery_verification"] == "none"
    assert (await book(delivery_verification="signature"))["delivery_verification"] == "signature"

    resp = await client.put("/v1/pod/policy", json={"delivery_verification": "otp"}, headers=shop.headers)
    assert resp.status == 200 and (await resp.json())["delivery_verification"] == "otp"
    assert (await book(payment={"type": "prepaid"}))["delivery_verification"] == "otp"  # the shop's setting
    assert (await book(delivery_verification="none"))["delivery_verification"] == "none"  # the booking's wins
    resp = await client.put("/v1/pod/policy", json={"delivery_verification": None}, headers=shop.headers)
    assert (await resp.json())["delivery_verification"] is None
    assert (await book())["delivery_verification"] == "none"


async def test_a_bad_verification_is_refused_like_any_booking_field(client, shop):
    from tests.conftest import shipment_body

    resp = await client.post("/v1/shipments", json=shipment_body(delivery_verification="fax"), headers=shop.headers)
    assert resp.status == 422
    errors = (await resp.json())["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("delivery_verification", "enum")]
    resp = await client.put("/v1/pod/policy", json={"delivery_verification": "fax"}, headers=shop.headers)
    assert resp.status == 422


async def test_the_code_is_issued_when_the_parcel_goes_out_and_only_its_hash_stays(client, shop, book, redis,
                                                                                   out_for_delivery):
    doc = await book(delivery_verification="otp")
    tn = doc["tracking_number"]
    assert await delivery_code(redis, tn) is None
    await out_for_delivery(doc)
    code = await delivery_code(redis, tn)
    assert code is not None and len(code) == 6 and code.isdigit()
    parcel = await redis.hgetall(keys.parcel(shop.id, tn))
    assert len(parcel[b"pod_code"]) == 32 and parcel[b"pod_code"] != code.encode()
    assert 0 < await redis.ttl(code_key(shop.id, tn)) <= 86_400  # the text is short-lived
    # the shop never sees it: not in its shipment, nor on its feed
    shown = await (await client.get(f"/v1/shipments/{tn}", headers=shop.headers)).read()
    assert b'"delivery_code"' not in shown and b"pod_code" not in shown

    plain = await book()  # no verification: no code, and no key for one
    await out_for_delivery(plain)
    assert await delivery_code(redis, plain["tracking_number"]) is None


async def test_a_wrong_code_is_422_and_changes_nothing_the_right_one_delivers(client, shop, book, redis, scan,
                                                                             out_for_delivery):
    tn = await out_for_delivery(await book(delivery_verification="otp"))
    code = await delivery_code(redis, tn)
    before = await _state(client, shop, tn)
    wrong = "000000" if code != "000000" else "111111"

    resp = await scan(tn, "delivered", receiver_name=GOOD, delivery_code=wrong)
    assert resp.status == 422
    problem = await resp.json()
    assert problem["code"] == "delivery_code_wrong" and problem["attempts_left"] == 4
    assert "نادرست" in problem["detail_fa"]
    assert await _state(client, shop, tn) == before

    resp = await scan(tn, "delivered", receiver_name=GOOD)  # no code at all: refused, not counted
    assert resp.status == 422 and (await resp.json())["code"] == "delivery_code_required"
    resp = await scan(tn, "delivered", receiver_name=GOOD, delivery_code="12a456")
    assert resp.status == 422 and (await resp.json())["errors"][0]["code"] == "delivery_code_invalid"
    assert await redis.hget(keys.parcel(shop.id, tn), "pod_wrong") == b"1"

    # Persian digits, as a postman's phone keyboard types them
    persian = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    resp = await scan(tn, "delivered", receiver_name=GOOD, delivery_code=persian, receiver_relation="self")
    assert resp.status == 201, await resp.text()
    pod = await (await client.get(f"/v1/shipments/{tn}/pod", headers=shop.headers)).json()
    assert pod["verification"] == "otp" and pod["received_by"] == {"name": GOOD, "relation": "self",
                                                                   "relation_fa": "خود گیرنده"}


async def test_five_wrong_codes_lock_until_a_supervisor_of_the_delivering_office_unlocks(
        client, shop, book, redis, scan, staff, supervisor, out_for_delivery):
    tn = await out_for_delivery(await book(delivery_verification="otp"))
    code = await delivery_code(redis, tn)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        resp = await scan(tn, "delivered", receiver_name=GOOD, delivery_code=wrong)
        assert resp.status == 422 and (await resp.json())["attempts_left"] == left
    resp = await scan(tn, "delivered", receiver_name=GOOD, delivery_code=wrong)
    assert resp.status == 409
    problem = await resp.json()
    assert problem["code"] == "delivery_locked" and problem["locked_now"] is True
    resp = await scan(tn, "delivered", receiver_name=GOOD, delivery_code=code)  # even the right code now
    assert resp.status == 409 and (await resp.json())["locked_now"] is False
    assert (await _state(client, shop, tn))[0] == "out_for_delivery"

    url = f"/v1/pod/{tn}/unlock"
    resp = await client.post(url, headers=await staff(OFFICE))  # not a supervisor
    assert resp.status == 403 and (await resp.json())["code"] == "supervisor_required"
    resp = await client.post(url, headers=await supervisor("THR-01"))  # a supervisor, of another office
    assert resp.status == 403
    problem = await resp.json()
    assert problem["code"] == "unlock_office_not_responsible" and problem["responsible_office"] == OFFICE
    resp = await client.post(url, headers=await supervisor(OFFICE))
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["wrong_codes_forgiven"] == 5
    resp = await client.post(url, headers=await supervisor(OFFICE))
    assert resp.status == 409 and (await resp.json())["code"] == "delivery_not_locked"

    # the shop was told both, in order (feed and webhooks carry the same events)
    feed = await (await client.get("/v1/events", headers=shop.headers)).json()
    mine = [e for e in feed["data"] if e["tracking_number"] == tn]
    kinds = [e["type"] for e in mine]
    assert kinds.index("delivery_locked") < kinds.index("delivery_unlocked")
    unlocked = next(e for e in mine if e["type"] == "delivery_unlocked")
    assert unlocked["office"] == OFFICE and unlocked["data"]["wrong_codes"] == 5

    resp = await scan(tn, "delivered", receiver_name=GOOD, delivery_code=code)
    assert resp.status == 201, await resp.text()
    pod = await (await client.get(f"/v1/shipments/{tn}/pod", headers=shop.headers)).json()
    assert len(pod["unlocks"]) == 1 and pod["unlocks"][0]["office"] == OFFICE


async def test_a_signature_parcel_is_delivered_only_with_a_signature(client, shop, book, scan, out_for_delivery):
    tn = await out_for_delivery(await book(delivery_verification="signature"))
    resp = await scan(tn, "delivered", receiver_name=GOOD)
    assert resp.status == 422 and (await resp.json())["code"] == "delivery_signature_required"
    resp = await scan(tn, "delivered", receiver_name=GOOD, signature=b64(PNG), receiver_relation="family")
    assert resp.status == 201, await resp.text()
    pod = await (await client.get(f"/v1/shipments/{tn}/pod", headers=shop.headers)).json()
    assert pod["verification"] == "signature" and pod["signature_url"] and pod["photo_url"] is None
    image = await client.get(pod["signature_url"])
    assert image.status == 200 and image.content_type == "image/png" and await image.read() == PNG


async def test_a_parcel_without_verification_is_delivered_as_before(client, shop, book, scan, out_for_delivery):
    tn = await out_for_delivery(await book())
    resp = await scan(tn, "delivered", receiver_name=GOOD)
    assert resp.status == 201, await resp.text()
    feed = await (await client.get("/v1/events", headers=shop.headers)).json()
    delivered = next(e for e in feed["data"] if e["tracking_number"] == tn and e["type"] == "delivered")
    assert delivered["data"]["receiver_name"] == GOOD
    assert set(delivered["data"]) == {"scan_id", "emsevt", "receiver_name"}  # the proof stays off the event
    assert b"\n" not in orjson.dumps(delivered)
