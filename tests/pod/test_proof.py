"""The proof of delivery itself: what the delivered scan records, its images (type, size, storage), and the shop's
view with signed links that expire."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

from pod.policy import POLICY
from pod.scan import POD_SCANS

from .conftest import JPEG, OFFICE, PNG, b64

GOOD = "رضا کریمی"


def _files(client) -> list:
    root = client.app[POD_SCANS].storage.root
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def test_the_delivered_scan_records_who_took_it_where_and_its_photo(client, shop, book, scan, out_for_delivery,
                                                                         tmp_path):
    tn = await out_for_delivery(await book())
    resp = await scan(tn, "delivered", receiver_name=GOOD, receiver_relation="building_guard",
                      location={"lat": 32.65, "lon": 51.67}, photo=b64(JPEG))
    assert resp.status == 201, await resp.text()
    files = _files(client)
    assert len(files) == 1 and files[0].is_relative_to(tmp_path / "pod")  # under BARID_DATA/pod by default
    pod = await (await client.get(f"/v1/shipments/{tn}/pod", headers=shop.headers)).json()
    assert pod["delivered_by"]["office"] == OFFICE and pod["delivered_by"]["staff_id"] > 0
    assert pod["received_by"]["relation"] == "building_guard"
    assert pod["received_by"]["relation_fa"] == POLICY.relation_fa("building_guard")
    assert pod["location"] == {"lat": 32.65, "lon": 51.67} and pod["verification"] == "none"
    image = await client.get(pod["photo_url"])
    assert image.status == 200 and image.content_type == "image/jpeg" and await image.read() == JPEG


async def test_bad_images_and_places_are_refused_and_change_nothing(client, shop, book, scan, out_for_delivery):
    tn = await out_for_delivery(await book(delivery_verification="signature"))
    gif = b"GIF89a" + bytes(40)
    big = b"\x89PNG\r\n\x1a\n" + bytes(POLICY.image_max_bytes)
    cases = [({"photo": b64(gif)}, "photo", "image_type_unsupported"),
             ({"signature": b64(big)}, "signature", "image_too_large"),
             ({"photo": "not base64!"}, "photo", "image_invalid"),
             ({"receiver_relation": "cousin"}, "receiver_relation", "receiver_relation_invalid"),
             ({"location": {"lat": 91, "lon": 51.6}}, "location.lat", "location_invalid")]
    for extra, field, code in cases:
        resp = await scan(tn, "delivered", receiver_name=GOOD, **{"signature": b64(PNG), **extra})
        assert resp.status == 422, (field, await resp.text())
        errors = (await resp.json())["errors"]
        assert [(e["field"], e["code"]) for e in errors] == [(field, code)]
        assert errors[0]["message_fa"]
    shipment = await (await client.get(f"/v1/shipments/{tn}", headers=shop.headers)).json()
    assert shipment["status"] == "out_for_delivery"
    assert _files(client) == []


async def test_a_refused_delivery_leaves_no_image_behind(client, book, scan, staff, out_for_delivery):
    doc = await book(delivery_verification="signature")
    tn = await out_for_delivery(doc)
    # the origin office may not deliver it: refused, and the photo it carried is gone
    resp = await scan(tn, "delivered", office="THR-01", receiver_name=GOOD, signature=b64(PNG), photo=b64(JPEG))
    assert resp.status == 403
    assert _files(client) == []
    resp = await scan(tn, "delivered", receiver_name=GOOD, photo=b64(JPEG))  # no signature: refused too
    assert resp.status == 422 and _files(client) == []


async def test_the_proof_is_its_shops_alone(client, shop, make_shop, book, scan, out_for_delivery):
    other = await make_shop("another shop")
    doc = await book()
    tn = doc["tracking_number"]
    resp = await client.get(f"/v1/shipments/{tn}/pod", headers=shop.headers)
    assert resp.status == 404 and (await resp.json())["code"] == "pod_not_found"  # not delivered yet
    await out_for_delivery(doc)
    assert (await scan(tn, "delivered", receiver_name=GOOD)).status == 201
    assert (await client.get(f"/v1/shipments/{tn}/pod", headers=shop.headers)).status == 200
    resp = await client.get(f"/v1/shipments/{tn}/pod", headers=other.headers)
    assert resp.status == 404 and "رسید تحویل" in (await resp.json())["detail_fa"]
    assert (await client.get(f"/v1/shipments/{tn}/pod")).status == 401


async def test_image_links_are_signed_and_expire(client, shop, book, scan, out_for_delivery):
    tn = await out_for_delivery(await book())
    assert (await scan(tn, "delivered", receiver_name=GOOD, photo=b64(JPEG))).status == 201
    pod = await (await client.get(f"/v1/shipments/{tn}/pod", headers=shop.headers)).json()
    url = urlsplit(pod["photo_url"])
    query = parse_qs(url.query)
    assert int(query["expires"][0]) - time.time() <= POLICY.link_ttl_s + 1

    tampered = await client.get(f"{url.path}?expires={query['expires'][0]}&signature={'0' * 64}")
    assert tampered.status == 403 and (await tampered.json())["code"] == "pod_link_invalid"
    longer = await client.get(f"{url.path}?expires={int(query['expires'][0]) + 3600}"
                              f"&signature={query['signature'][0]}")
    assert longer.status == 403 and (await longer.json())["code"] == "pod_link_invalid"

    key = url.path.removeprefix("/v1/pod/files/")
    stale = client.app[POD_SCANS].storage.signed_url(key, POLICY.link_ttl_s, now=time.time() - POLICY.link_ttl_s - 5)
    resp = await client.get(stale)
    assert resp.status == 403
    problem = await resp.json()
    assert problem["code"] == "pod_link_expired" and "مهلت" in problem["detail_fa"]
