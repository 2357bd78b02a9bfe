"""Manifests as a shop and a counter clerk use them: the manifest with its own barcode (decoded from the PDF) and
totals, a parcel on one open manifest only (409 naming it), and one staff call that accepts every parcel with its
own `accepted` event, answering accepted, missing and unexpected parcels."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import jdatetime
import pypdfium2 as pdfium
import zxingcpp
from pypdf import PdfReader

from handover import manifests
from kernel.postal.offices import load_registry
from tests.conftest import shipment_body
from tracking.staff import create_staff

IRAN = timezone(timedelta(hours=3, minutes=30))


async def _book(client, shop, **overrides) -> str:
    resp = await client.post("/v1/shipments", json=shipment_body(**overrides), headers=shop.headers)
    assert resp.status == 201, await resp.text()
    return (await resp.json())["tracking_number"]


async def _shipment(client, shop, tn) -> dict:
    return await (await client.get(f"/v1/shipments/{tn}", headers=shop.headers)).json()


async def _clerk(client, shop, redis, tn) -> dict[str, str]:
    origin = (await _shipment(client, shop, tn))["origin_office"]
    made = await create_staff(redis, load_registry(), origin, "باجهٔ پذیرش")
    return {"Authorization": f"Bearer {made['token']}"}


async def test_a_manifest_prints_its_barcode_and_totals_and_one_scan_accepts_it(app_client, shop, redis):
    cod = [await _book(app_client, shop) for _ in range(2)]  # 12,000,000 rials each, 1,200 g
    prepaid = await _book(app_client, shop, payment={"type": "prepaid"})
    resp = await app_client.post("/v1/manifests", json={"tracking_numbers": [*cod, prepaid]}, headers=shop.headers)
    assert resp.status == 201, await resp.text()
    m = await resp.json()
    assert m["status"] == "open" and m["count"] == 3 and m["tracking_numbers"] == [*cod, prepaid]
    assert m["total_cod_rials"] == 24_000_000 and m["total_weight_g"] == 3 * 1200
    today = jdatetime.datetime.fromgregorian(datetime=datetime.now(IRAN)).strftime("%Y/%m/%d")
    assert m["date_jalali"] == today
    pdf = await app_client.get(f"/v1/manifests/{m['manifest_id']}/pdf", headers=shop.headers)
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    body = await pdf.read()
    page = pdfium.PdfDocument(body)[0]
    codes = {r.text for r in zxingcpp.read_barcodes(page.render(scale=300 / 72).to_pil())
             if r.format.name == "Code128"}
    assert codes == {m["manifest_id"]}
    text = PdfReader(io.BytesIO(body)).pages[0].extract_text()
    for needle in (*cod, prepaid, "24,000,000", "3,600", today, "امضا"):
        assert needle in text, needle

    # The clerk scans the manifest: two of the three are on the counter, and one parcel not on it.
    stray = await _book(app_client, shop)
    clerk = await _clerk(app_client, shop, redis, cod[0])
    url = f"/v1/manifests/{m['manifest_id']}/accept"
    resp = await app_client.post(url, json={"present": [cod[0], prepaid, stray]}, headers=clerk)
    assert resp.status == 200, await resp.text()
    out = await resp.json()
    assert sorted(a["tracking_number"] for a in out["accepted"]) == sorted([cod[0], prepaid])
    assert all(a["status"] == "in_transit" and not a["duplicate"] for a in out["accepted"])
    assert [(x["tracking_number"], x["code"]) for x in out["missing"]] == [(cod[1], "not_presented")]
    assert out["unexpected"] == [stray]
    for tn in (cod[0], prepaid):  # its own event, as if scanned alone
        view = await _shipment(app_client, shop, tn)
        assert view["status"] == "in_transit"
        assert [e["type"] for e in view["history"]].count("accepted") == 1
    assert (await _shipment(app_client, shop, cod[1]))["status"] == "pre_transit"
    assert (await _shipment(app_client, shop, stray))["status"] == "pre_transit"
    # Scanned again: the same parcels, as duplicates; no second event.
    again = await (await app_client.post(url, json={"present": [cod[0], prepaid]}, headers=clerk)).json()
    assert all(a["duplicate"] for a in again["accepted"]) and len(again["accepted"]) == 2
    view = await _shipment(app_client, shop, cod[0])
    assert [e["type"] for e in view["history"]].count("accepted") == 1
    shown = await (await app_client.get(f"/v1/manifests/{m['manifest_id']}", headers=shop.headers)).json()
    assert shown["status"] == "accepted" and shown["accepted_count"] == 2
    # Accepted, the manifest is closed: the missing parcel can go on a new one.
    resp = await app_client.post("/v1/manifests", json={"tracking_numbers": [cod[1]]}, headers=shop.headers)
    assert resp.status == 201


async def test_a_parcel_is_on_one_open_manifest_only(app_client, shop, redis):
    a, b = await _book(app_client, shop), await _book(app_client, shop)
    first = await (await app_client.post("/v1/manifests", json={"tracking_numbers": [a]}, headers=shop.headers)).json()
    resp = await app_client.post("/v1/manifests", json={"tracking_numbers": [b, a]}, headers=shop.headers)
    problem = await resp.json()
    assert resp.status == 409 and problem["code"] == "manifest_parcels_taken"
    assert problem["manifested"] == [{"tracking_number": a, "manifest_id": first["manifest_id"]}]
    assert a in problem["detail"] and a in problem["detail_fa"]
    assert await redis.hget(manifests.manifested_key(shop.id), b) is None  # nothing changed


async def test_a_manifest_of_a_day_takes_the_parcels_waiting_that_day(app_client, shop):
    tns = [await _book(app_client, shop) for _ in range(2)]
    day = datetime.now(IRAN).date().isoformat()
    resp = await app_client.post("/v1/manifests", json={"date": day}, headers=shop.headers)
    assert resp.status == 201, await resp.text()
    m = await resp.json()
    assert set(tns) <= set(m["tracking_numbers"])
    resp = await app_client.post("/v1/manifests", json={"date": day}, headers=shop.headers)  # all taken now
    assert resp.status == 422 and (await resp.json())["code"] == "manifest_empty"


async def test_bad_manifests_are_refused_and_change_nothing(app_client, shop, make_shop, redis):
    good = await _book(app_client, shop)
    cancelled = await _book(app_client, shop)
    await app_client.post(f"/v1/shipments/{cancelled}/cancel", headers=shop.headers)
    other = await make_shop("other")
    foreign = await _book(app_client, other)
    resp = await app_client.post("/v1/manifests", json={"tracking_numbers": [good, cancelled, foreign]},
                                 headers=shop.headers)
    problem = await resp.json()
    assert resp.status == 422 and problem["code"] == "validation_failed"
    assert {(e["field"], e["code"]) for e in problem["errors"]} == {
        ("tracking_numbers[1]", "cancelled"), ("tracking_numbers[2]", "not_found")}
    assert await redis.hget(manifests.manifested_key(shop.id), good) is None
    for body in ({}, {"tracking_numbers": []}, {"date": "yesterday"},
                 {"tracking_numbers": [good], "date": "2026-01-01"}):
        resp = await app_client.post("/v1/manifests", json=body, headers=shop.headers)
        assert resp.status == 422, body
    m = await (await app_client.post("/v1/manifests", json={"tracking_numbers": [good]}, headers=shop.headers)).json()
    # another shop sees nothing; a shop key cannot accept; an unknown manifest is 404 for staff
    assert (await app_client.get(f"/v1/manifests/{m['manifest_id']}", headers=other.headers)).status == 404
    resp = await app_client.post(f"/v1/manifests/{m['manifest_id']}/accept", headers=shop.headers)
    assert resp.status == 401
    clerk = await _clerk(app_client, shop, redis, good)
    resp = await app_client.post("/v1/manifests/M999999XDEADBEEF00/accept", headers=clerk)
    assert resp.status == 404 and (await resp.json())["code"] == "manifest_not_found"
    assert (await _shipment(app_client, shop, good))["status"] == "pre_transit"
