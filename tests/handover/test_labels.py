"""Labels as a shop and a scanner meet them: every barcode and QR decoded (zxing-cpp) from the PDF pages, the
PNGs and the ZPL, the text extracted from the PDF, and the refusals (foreign, unknown, cancelled, bad query)."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from zebrafy import ZebrafyZPL

from handover.labels import SIZES, ZPL_SIZES, png_dimensions
from handover.web import PRINTS_FIELD
from kernel.store import keys
from tests.conftest import shipment_body

DOCS = Path(__file__).resolve().parents[2] / "docs" / "labels"


async def _book(client, shop, **overrides) -> str:
    resp = await client.post("/v1/shipments", json=shipment_body(**overrides), headers=shop.headers)
    assert resp.status == 201, await resp.text()
    return (await resp.json())["tracking_number"]


def _url(client, tn: str) -> str:
    return str(client.make_url(f"/track/{tn}"))


def _decoded(image: Image.Image) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in zxingcpp.read_barcodes(image):
        out.setdefault(r.format.name, set()).add(r.text)
    return out


def _assert_codes(image: Image.Image, tn: str, url: str) -> None:
    found = _decoded(image)
    assert found.get("Code128") == {tn}, found
    assert found.get("QRCode") == {url}, found


async def _label(client, shop, tn, **query):
    return await client.get(f"/v1/shipments/{tn}/label", params=query, headers=shop.headers)


@pytest.mark.parametrize("size", list(SIZES))
async def test_pdf_label_of_every_size_scans_and_reads(app_client, shop, size):
    tn = await _book(app_client, shop)
    resp = await _label(app_client, shop, tn, format="pdf", size=size)
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "application/pdf"
    body = await resp.read()
    doc = pdfium.PdfDocument(body)
    assert len(doc) == 1
    w_pt, h_pt = doc[0].get_size()
    assert (round(w_pt / 72 * 25.4), round(h_pt / 72 * 25.4)) == tuple(round(v) for v in SIZES[size])
    _assert_codes(doc[0].render(scale=300 / 72).to_pil(), tn, _url(app_client, tn))
    text = PdfReader(io.BytesIO(body)).pages[0].extract_text()
    assert "81386-34561" in text  # the receiver's postal code, 5-5
    assert tn in text
    assert "12,000,000" in text  # the amount to collect


@pytest.mark.parametrize("size", list(SIZES))
async def test_png_label_of_every_size_has_its_dimensions_and_scans(app_client, shop, size):
    tn = await _book(app_client, shop)
    resp = await _label(app_client, shop, tn, format="png", size=size)
    assert resp.status == 200 and resp.content_type == "image/png"
    body = await resp.read()
    image = Image.open(io.BytesIO(body))
    assert image.size == png_dimensions(size)
    _assert_codes(image, tn, _url(app_client, tn))
    kept = DOCS / f"label-{size}.png"  # for readers of docs/labels.md; BARID_DOC_LABELS=1 renews them
    if not kept.exists() or os.environ.get("BARID_DOC_LABELS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        kept.write_bytes(body)


def _gf_fields(zpl: str) -> list[tuple[int, int, bool, Image.Image]]:
    """Every ^FO x,y [^FR] ^GFA field, decoded back to an image (black = 0) by zebrafy, which reads ZPL's
    compressed ASCII hex as a printer does."""
    fields = []
    for m in re.finditer(r"\^FO(\d+),(\d+)(\^FR)?(\^GFA,(\d+),(\d+),(\d+),[^^]+\^FS)", zpl):
        [image] = ZebrafyZPL(m[4]).to_images()
        assert image.width == int(m[7]) * 8 and image.width * image.height == int(m[5]) * 8
        fields.append((int(m[1]), int(m[2]), bool(m[3]), image.convert("1")))
    return fields


@pytest.mark.parametrize("size", ZPL_SIZES)
async def test_zpl_label_uses_native_codes_and_bitmap_text(app_client, shop, size):
    tn = await _book(app_client, shop)
    resp = await _label(app_client, shop, tn, format="zpl", size=size)
    assert resp.status == 200 and resp.content_type == "application/zpl"
    zpl = (await resp.read()).decode("ascii")  # no font on the printer: nothing but ASCII commands
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    w_mm, h_mm = SIZES[size]
    assert f"^PW{round(w_mm * 8)}^LL{round(h_mm * 8)}" in zpl  # 203 dpi: 8 dots a mm
    assert re.findall(r"\^BC[^^]*\^FD([^^]*)\^FS", zpl) == [tn]  # native Code 128
    assert re.findall(r"\^BQ[^^]*\^FDMA,([^^]*)\^FS", zpl) == [_url(app_client, tn)]  # native QR, automatic mode
    fields = _gf_fields(zpl)
    assert len(fields) >= 15  # every line of Persian text is a graphic field
    barcode_y = int(re.search(r"\^FO\d+,(\d+)\^BC", zpl)[1])
    for x, y, _, image in fields:
        assert image.getextrema()[0] == 0, "a text field with no ink"
        assert x + image.width <= round(w_mm * 8) and y + image.height <= round(h_mm * 8)
        assert not (y < barcode_y + 18 * 8 and y + image.height > barcode_y), "text over the barcode"
    # The graphic fields rendered back to one page still carry the codes' text nowhere else: the only
    # barcodes a scanner finds on the label are the native ones.
    page = Image.new("1", (round(w_mm * 8), round(h_mm * 8)), 1)
    for x, y, _, image in fields:
        page.paste(image, (x, y))
    assert _decoded(page) == {}


async def test_labels_are_reprintable_with_an_etag_and_counted(app_client, shop, redis):
    tn = await _book(app_client, shop, payment={"type": "prepaid"}, service="sefareshi")
    first = await _label(app_client, shop, tn)
    assert first.status == 200 and first.headers["X-Label-Print-Count"] == "1"
    etag = first.headers["ETag"]
    cached = await app_client.get(f"/v1/shipments/{tn}/label", headers={**shop.headers, "If-None-Match": etag})
    assert cached.status == 304 and cached.headers["ETag"] == etag
    again = await _label(app_client, shop, tn)
    assert again.status == 200 and again.headers["ETag"] == etag and again.headers["X-Label-Print-Count"] == "2"
    assert await again.read() == await first.read()  # the same label, byte for byte
    other = await _label(app_client, shop, tn, format="zpl")
    assert other.headers["ETag"] != etag
    assert int(await redis.hget(keys.parcel(shop.id, tn), PRINTS_FIELD)) == 3
    _assert_codes(pdfium.PdfDocument(await again.read())[0].render(scale=300 / 72).to_pil(), tn,
                  _url(app_client, tn))


async def test_another_shops_or_an_unknown_parcel_is_not_found(app_client, shop, make_shop, redis):
    tn = await _book(app_client, shop)
    stranger = await make_shop("other")
    for who, number in ((stranger, tn), (shop, "EE000000000IR"), (shop, "nonsense")):
        resp = await _label(app_client, who, number)
        problem = await resp.json()
        assert resp.status == 404 and problem["code"] == "shipment_not_found" and problem["detail_fa"]
    assert await redis.hget(keys.parcel(shop.id, tn), PRINTS_FIELD) is None
    assert (await app_client.get(f"/v1/shipments/{tn}/label")).status == 401


async def test_a_cancelled_parcel_has_no_label(app_client, shop, redis):
    tn = await _book(app_client, shop)
    assert (await app_client.post(f"/v1/shipments/{tn}/cancel", headers=shop.headers)).status == 200
    resp = await _label(app_client, shop, tn)
    problem = await resp.json()
    assert resp.status == 409 and problem["code"] == "label_parcel_cancelled"
    assert "لغو شده" in problem["detail_fa"] and "برچسب" in problem["detail_fa"]
    assert await redis.hget(keys.parcel(shop.id, tn), PRINTS_FIELD) is None


@pytest.mark.parametrize("query, field, code", [
    ({"format": "eps"}, "format", "enum"),
    ({"size": "b5"}, "size", "enum"),
    ({"format": "zpl", "size": "a5"}, "size", "size_not_for_format"),
    ({"format": "zpl", "size": "a4-2up"}, "size", "size_not_for_format"),
])
async def test_unknown_format_or_size_is_refused_in_both_languages(app_client, shop, redis, query, field, code):
    tn = await _book(app_client, shop)
    resp = await _label(app_client, shop, tn, **query)
    problem = await resp.json()
    assert resp.status == 422 and problem["code"] == "validation_failed"
    [err] = problem["errors"]
    assert err["field"] == field and err["code"] == code
    assert re.search("[\u0600-\u06FF]", err["message_fa"])
    assert await redis.hget(keys.parcel(shop.id, tn), PRINTS_FIELD) is None


def test_openapi_documents_the_label_route():
    from gateway.openapi import openapi_document

    op = openapi_document()["paths"]["/v1/shipments/{tracking_number}/label"]["get"]
    assert set(op["responses"]) >= {"200", "304", "404", "409", "422"}
    assert set(op["responses"]["200"]["content"]) == {"application/pdf", "image/png", "application/zpl"}
