"""Booking many parcels from a spreadsheet: the template, reading an .xlsx or .csv upload into shipment requests,
and the sheet of failed rows with their errors.

Reading only reshapes cells into the API's request objects; whether a row is valid is the booking API's answer
(the page sends the rows to POST /v1/shipments/batch), so a sheet is held to exactly the API's rules.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook, load_workbook

from kernel.errors import BaridError, FieldError, validation_failed

# (column key, Persian header, the request field it fills). The first row holds the Persian headers; the key is
# accepted as a header too, for sheets made by a program.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("client_order_id", "شماره سفارش", "client_order_id"),
    ("service", "سرویس (pishtaz یا sefareshi)", "service"),
    ("payment_type", "نوع پرداخت (cod یا prepaid)", "payment.type"),
    ("goods_value", "مبلغ کالا برای پس‌کرایه (ریال)", "payment.goods_value"),
    ("receiver_name", "نام گیرنده", "receiver.name"),
    ("receiver_phone", "تلفن همراه گیرنده", "receiver.phone"),
    ("receiver_postal_code", "کد پستی گیرنده", "receiver.postal_code"),
    ("receiver_province", "استان گیرنده", "receiver.province"),
    ("receiver_city", "شهر گیرنده", "receiver.city"),
    ("receiver_address", "نشانی گیرنده", "receiver.address"),
    ("weight_g", "وزن (گرم)", "parcel.weight_g"),
    ("declared_value", "ارزش اظهارشده (ریال)", "parcel.declared_value"),
    ("contents", "محتویات", "parcel.contents"),
)
_BY_HEADER = {h.strip(): k for k, h, _ in COLUMNS} | {k: k for k, _, _ in COLUMNS}
_INTS = {"goods_value", "weight_g", "declared_value"}
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
EXAMPLE = ("order-1001", "pishtaz", "cod", 2500000, "مریم احمدی", "09121234567", "1969833111", "تهران", "تهران",
           "خیابان ولیعصر، کوچه بهار، پلاک ۱۲", 1200, 0, "کتاب")
MAX_ROWS = 5000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class SheetUnreadable(BaridError):
    code = "sheet_unreadable"
    title = "The uploaded file is not a readable sheet"


def template_xlsx() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "parcels"
    ws.sheet_view.rightToLeft = True
    ws.append([h for _, h, _ in COLUMNS])
    ws.append(list(EXAMPLE))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def template_csv() -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([h for _, h, _ in COLUMNS])
    w.writerow(EXAMPLE)
    return ("\ufeff" + out.getvalue()).encode()  # the BOM makes Excel read the Persian text as UTF-8


def _cell(key: str, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        if key in _INTS:
            plain = value.translate(_DIGITS).replace(",", "").replace("٬", "")
            return int(plain) if plain.isdecimal() else value  # anything else: the API says what is wrong
        return value
    if key in ("receiver_phone", "receiver_postal_code", "client_order_id") and isinstance(value, int):
        text = str(value)
        return "0" + text if key == "receiver_phone" and len(text) == 10 else text  # Excel drops a leading 0
    return value


def _shipment(row: dict[str, Any]) -> dict[str, Any]:
    """The API's request object for one row (fields left empty are left out, as a client would)."""
    body: dict[str, Any] = {}
    for key, _, path in COLUMNS:
        value = row.get(key)
        if value is None:
            continue
        head, _, leaf = path.partition(".")
        if leaf:
            body.setdefault(head, {})[leaf] = value
        else:
            body[head] = value
    return body


def _rows(data: bytes, filename: str) -> list[list[Any]]:
    if data[:2] == b"PK":  # an .xlsx is a zip
        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise SheetUnreadable(f"not a readable .xlsx file ({type(exc).__name__})",
                                  "فایل اکسل خوانا نیست؛ الگوی فایل را بارگیری و دوباره پر کنید") from None
        return [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SheetUnreadable(f"{filename[:60]} is neither an .xlsx file nor UTF-8 CSV",
                              "فایل نه اکسل (.xlsx) است و نه CSV با کدگذاری UTF-8") from None
    return [list(r) for r in csv.reader(io.StringIO(text))]


def read_upload(data: bytes, filename: str) -> list[dict[str, Any]]:
    """[{"row": sheet row number, "shipment": request object, "values": the row's cells by column key}]."""
    rows = _rows(data, filename)
    if not rows:
        raise validation_failed([FieldError("file", "sheet_empty", "The sheet is empty.", "فایل خالی است.")])
    header = [_BY_HEADER.get(str(h).strip()) if h is not None else None for h in rows[0]]
    if "receiver_phone" not in header:
        raise validation_failed([FieldError(
            "file", "sheet_headers", "The first row must hold the template's headers.",
            "سطر نخست فایل باید سرستون‌های الگو را داشته باشد؛ الگو را بارگیری کنید.")])
    out = []
    for number, cells in enumerate(rows[1:], start=2):
        values = {k: _cell(k, v) for k, v in zip(header, cells) if k is not None}
        if all(v is None for v in values.values()):
            continue  # blank lines between rows are common in hand-made sheets
        out.append({"row": number, "shipment": _shipment(values), "values": values})
        if len(out) > MAX_ROWS:
            raise validation_failed([FieldError(
                "file", "sheet_too_long", f"At most {MAX_ROWS} rows per file.",
                f"هر فایل حداکثر {MAX_ROWS} سطر می‌تواند داشته باشد؛ آن را به چند فایل تقسیم کنید.")])
    return out


def _inert(value: Any) -> Any:
    """A cell as text or a number, never a formula: the values came from the browser."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None if value is None or isinstance(value, bool) else str(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def failed_xlsx(rows: list[dict[str, Any]]) -> bytes:
    """The failed rows as they were, with a last column of their errors (in Persian), ready to fix and upload."""
    wb = Workbook()
    ws = wb.active
    ws.title = "errors"
    ws.sheet_view.rightToLeft = True
    ws.append(["سطر", *(h for _, h, _ in COLUMNS), "خطاها"])
    for r in rows:
        values = r.get("values") if isinstance(r.get("values"), dict) else {}
        errors = r.get("errors") if isinstance(r.get("errors"), list) else []
        ws.append([r.get("row"), *(_inert(values.get(k)) for k, _, _ in COLUMNS), "؛ ".join(str(e) for e in errors)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
