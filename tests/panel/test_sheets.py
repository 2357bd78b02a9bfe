"""Booking from a sheet: the template, reading .xlsx and CSV uploads as the API's requests, and the failed rows'
sheet (which must never carry a formula back to the shop's Excel)."""

from __future__ import annotations

import io

from aiohttp import FormData
from openpyxl import Workbook, load_workbook

from panel.sheets import COLUMNS

from .conftest import sign_in


async def _signed_in(app_client, shop, add_user) -> dict:
    _, csrf = await sign_in(app_client, await add_user(shop.id, "staff"))
    return {"X-CSRF-Token": csrf}


def _upload(data: bytes, name: str) -> FormData:
    form = FormData()
    form.add_field("file", data, filename=name)
    return form


async def test_the_template_reads_back_as_a_valid_booking(app_client, shop, add_user):
    h = await _signed_in(app_client, shop, add_user)
    template = await (await app_client.get("/shop/sheets/template.xlsx")).read()
    assert load_workbook(io.BytesIO(template)).active.sheet_view.rightToLeft
    parsed = await app_client.post("/shop/sheets/parse", data=_upload(template, "t.xlsx"), headers=h)
    rows = (await parsed.json())["rows"]
    assert [r["row"] for r in rows] == [2]
    booked = await app_client.post("/v1/shipments/batch", json={"shipments": [rows[0]["shipment"]]}, headers=h)
    assert (await booked.json())["booked"] == 1
    csv_template = await (await app_client.get("/shop/sheets/template.csv")).read()
    assert csv_template.startswith(b"\xef\xbb\xbf") and "نام گیرنده".encode() in csv_template


async def test_cells_become_the_apis_fields_as_a_shop_types_them(app_client, shop, add_user):
    h = await _signed_in(app_client, shop, add_user)
    wb = Workbook()
    ws = wb.active
    ws.append([key for key, _, _ in COLUMNS])  # the English keys work as headers too
    ws.append(["A-1", "pishtaz", "cod", "۲٬۵۰۰٬۰۰۰", "مریم", 9121234567, 8138634561, "اصفهان", "اصفهان",
               "خیابان چهارباغ", 1200.0, None, None])
    ws.append([None] * len(COLUMNS))  # a blank line between rows is skipped
    ws.append(["A-2", "pishtaz", "prepaid", None, "رضا", "0912 123 4567", "8138634561", "اصفهان", "اصفهان", "x", 900])
    out = io.BytesIO()
    wb.save(out)
    rows = (await (await app_client.post("/shop/sheets/parse", data=_upload(out.getvalue(), "s.xlsx"),
                                         headers=h)).json())["rows"]
    assert [r["row"] for r in rows] == [2, 4]
    first = rows[0]["shipment"]
    assert first["payment"] == {"type": "cod", "goods_value": 2_500_000}
    assert first["receiver"]["phone"] == "09121234567"  # Excel dropped the leading zero of a typed number
    assert first["receiver"]["postal_code"] == "8138634561" and first["parcel"] == {"weight_g": 1200}
    assert "declared_value" not in first["parcel"]


async def test_an_unreadable_or_headerless_file_is_a_persian_problem_and_books_nothing(app_client, shop, add_user):
    h = await _signed_in(app_client, shop, add_user)
    bad = await app_client.post("/shop/sheets/parse", data=_upload(b"PK\x03\x04broken", "x.xlsx"), headers=h)
    assert bad.status == 422 and (await bad.json())["code"] == "sheet_unreadable"
    odd = await app_client.post("/shop/sheets/parse", data=_upload("a,b\n1,2\n".encode(), "x.csv"), headers=h)
    problem = await odd.json()
    assert odd.status == 422 and problem["errors"][0]["code"] == "sheet_headers" and "سرستون" in problem["errors"][0][
        "message_fa"]
    not_a_form = await app_client.post("/shop/sheets/parse", json={"file": "x"}, headers=h)
    assert not_a_form.status == 415 and (await not_a_form.json())["code"] == "unsupported_media_type"
    no_boundary = await app_client.post("/shop/login", data=b"x", headers={"Content-Type": "multipart/form-data"})
    assert no_boundary.status == 415
    no_csrf = await app_client.post("/shop/sheets/parse", data=_upload(b"x", "x.csv"))
    assert no_csrf.status == 403


async def test_the_failed_rows_sheet_keeps_values_and_errors_and_carries_no_formula(app_client, shop, add_user):
    h = await _signed_in(app_client, shop, add_user)
    rows = [{"row": 3, "values": {"client_order_id": "=HYPERLINK(\"http://evil\")", "receiver_phone": "12"},
             "errors": ["receiver.phone: شماره همراه نادرست است"]}]
    answer = await app_client.post("/shop/sheets/failed", json={"rows": rows}, headers=h)
    assert answer.status == 200
    ws = load_workbook(io.BytesIO(await answer.read())).active
    values = [c.value for c in ws[2]]
    assert values[0] == 3 and values[-1] == "receiver.phone: شماره همراه نادرست است"
    assert values[1] == "'=HYPERLINK(\"http://evil\")" and ws.cell(2, 2).data_type == "s"
