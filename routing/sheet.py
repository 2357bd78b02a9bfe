"""A printable route sheet for one postman, in Persian (RTL), with the Jalali date; it reads on a phone too.

The page has no script and one ``<style>`` element, allowed by its hash in ``SHEET_CSP`` (served with the sheet).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date
from html import escape

import jdatetime

from .errors import PlanNotFound

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ASCII_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
WEEKDAYS_FA = ["دوشنبه", "سه‌شنبه", "چهارشنبه", "پنجشنبه", "جمعه", "شنبه", "یکشنبه"]

STYLE = """
body { font-family: Vazirmatn, Tahoma, sans-serif; margin: 1.5cm; color: #111; }
h1 { font-size: 1.3em; margin: 0 0 .3em; }
.meta { margin-bottom: 1em; line-height: 1.8; }
table { border-collapse: collapse; width: 100%; font-size: .9em; }
th, td { border: 1px solid #555; padding: 4px 6px; vertical-align: top; }
th { background: #eee; }
td.num, td.code { direction: ltr; text-align: center; unicode-bidi: embed; }
.sign { margin-top: 2em; display: flex; justify-content: space-between; }
td.cod { white-space: nowrap; }
a[href^="tel:"] { direction: ltr; unicode-bidi: embed; white-space: nowrap; }
.note { font-size: .85em; color: #555; }
tr.pickup td { background: #eef6ee; }
.kind { font-weight: bold; border: 1px solid #2a7a2a; border-radius: .3em; padding: 0 .3em; color: #1d5e1d; }
@media print { body { margin: 1cm; } tr { page-break-inside: avoid; } }
@media screen and (max-width: 700px) {
  body { margin: .5em; font-size: 1.05em; }
  thead { display: none; }
  table, tbody, tr, td { display: block; width: auto; }
  tr { border: 1px solid #555; margin-bottom: .8em; padding: .3em; }
  td { border: none; padding: 3px 4px; text-align: right; }
  td.num, td.code { text-align: right; }
  td::before { content: attr(data-label) ": "; font-weight: bold; }
  td.signature { min-height: 2.5em; }
  a[href^="tel:"] { display: inline-block; padding: .4em .6em; border: 1px solid #06c; border-radius: .4em; }
}
"""
# The page's only style, allowed by its hash; nothing else may load or run (no script at all).
SHEET_CSP = ("default-src 'none'; style-src 'sha256-"
             + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
             + "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def fa_digits(value) -> str:
    return str(value).translate(PERSIAN_DIGITS)


def fa_decimal(value: float, places: int = 1) -> str:
    """A decimal in Persian digits with the Persian decimal separator (٫), e.g. ۱۲٫۵."""
    return fa_digits(f"{value:.{places}f}").replace(".", "٫")


def _money(rials: int) -> str:
    return fa_digits(f"{rials:,}").replace(",", "٬")


def tel_href(phone: str) -> str:
    """A ``tel:`` URI for a phone number as booked (Persian or ASCII digits, spaces, dashes)."""
    text = str(phone).translate(ASCII_DIGITS)
    digits = "".join(ch for ch in text if ch.isascii() and ch.isdigit())
    return "tel:" + ("+" if text.lstrip().startswith("+") else "") + digits


def _receivers_cell(receivers: list[dict]) -> tuple[str, str]:
    names, phones = [], []
    for who in receivers:
        if who.get("name"):
            names.append(escape(who["name"]))
        if who.get("phone"):
            phones.append(f'<a href="{escape(tel_href(who["phone"]))}">{escape(fa_digits(who["phone"]))}</a>')
    return "<br>".join(names) or "—", "<br>".join(phones) or "—"


def jalali_long(day: date) -> str:
    j = jdatetime.date.fromgregorian(date=day)
    return fa_digits(f"{WEEKDAYS_FA[day.weekday()]} {j.day} {j.j_months_fa[j.month - 1]} {j.year}")


def _pickup_row(stop: dict) -> str:
    """A pickup: marked «جمع‌آوری», with the shop, how many parcels to collect and its window."""
    pickup = stop["pickup"]
    window = "–".join(stop["time_window"]) if stop["time_window"] else "—"
    names, phones = _receivers_cell(stop.get("receivers") or [])
    return (f"<tr class='pickup'><td class='num' data-label='ردیف'>{fa_digits(stop['sequence'])}</td>"
            f"<td class='num' data-label='ساعت'>{fa_digits(stop['service_start'])}</td>"
            f"<td data-label='فرستنده'><span class='kind'>جمع‌آوری</span> {names}</td>"
            f"<td data-label='تلفن'>{phones}</td>"
            f"<td data-label='شهر'>—</td>"
            f"<td data-label='نشانی'>{escape(stop['address'] or '—')}</td>"
            f"<td class='code' data-label='کد پستی'>—</td>"
            f"<td data-label='مرسوله‌ها'>جمع‌آوری {fa_digits(pickup['expected_count'])} مرسوله"
            f"<br><span class='note'>شناسه {escape(pickup['id'])}</span></td>"
            f"<td class='num' data-label='بازه جمع‌آوری'>{fa_digits(window)}</td>"
            f"<td class='num' data-label='وزن (کیلوگرم)'>+{fa_decimal(pickup['load_kg'])}</td>"
            f"<td class='cod' data-label='پرداخت در محل'>—</td>"
            f"<td class='signature' data-label='امضای فرستنده'></td></tr>")


def render_route_sheet(plan: dict, postman_index: int) -> str:
    """HTML for postman ``postman_index`` (0-based) of a plan from ``plan_office_day``."""
    postmen = plan.get("postmen", [])
    if not 0 <= postman_index < len(postmen):
        raise PlanNotFound(f"the plan has no postman {postman_index + 1} (it has {len(postmen)})")
    postman = postmen[postman_index]
    office = plan["office"]
    day = date.fromisoformat(plan["date"])
    rows = []
    for stop in postman["stops"]:
        if stop.get("kind") == "pickup":
            rows.append(_pickup_row(stop))
            continue
        window = "–".join(stop["time_window"]) if stop["time_window"] else "—"
        cod = f"دریافت از گیرنده: {_money(stop['cod_rials'])} ریال" if stop["cod_rials"] else "—"
        parcels = "<br>".join(escape(t) for t in stop["parcels"])
        names, phones = _receivers_cell(stop.get("receivers") or [])
        shared = ("<br><span class='note'>بخشی از مرسوله‌های این نشانی با نامه‌رسان دیگری است</span>"
                  if stop.get("split_parts", 1) > 1 else "")
        rows.append(
            f"<tr><td class='num' data-label='ردیف'>{fa_digits(stop['sequence'])}</td>"
            f"<td class='num' data-label='ساعت'>{fa_digits(stop['service_start'])}</td>"
            f"<td data-label='گیرنده'>{names}</td>"
            f"<td data-label='تلفن'>{phones}</td>"
            f"<td data-label='شهر'>{escape(stop.get('city') or '—')}</td>"
            f"<td data-label='نشانی'>{escape(stop['address'])}{shared}</td>"
            f"<td class='code' data-label='کد پستی'>{fa_digits(stop['postal_code'])}</td>"
            f"<td class='code' data-label='مرسوله‌ها'>{parcels}</td>"
            f"<td class='num' data-label='بازه تحویل'>{fa_digits(window)}</td>"
            f"<td class='num' data-label='وزن (کیلوگرم)'>{fa_decimal(stop['weight_kg'])}</td>"
            f"<td class='cod' data-label='پرداخت در محل'>{cod}</td>"
            f"<td class='signature' data-label='امضای گیرنده'></td></tr>")
    parcel_count = sum(len(s["parcels"]) for s in postman["stops"])
    pickups = [s for s in postman["stops"] if s.get("kind") == "pickup"]
    collect = (f"<br>{fa_digits(len(pickups))} جمع‌آوری از فرستنده، حدود "
               f"{fa_digits(sum(s['pickup']['expected_count'] for s in pickups))} مرسوله برای بازگرداندن به دفتر"
               if pickups else "")
    return f"""<!DOCTYPE html>
<html lang="fa" dir="rtl">
<head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>برگه مسیر نامه‌رسان {fa_digits(postman['index'])} — {escape(office['name_fa'])}</title>
<style>{STYLE}</style></head>
<body>
<h1>برگه مسیر توزیع — {escape(office['name_fa'])} ({escape(office['code'])})</h1>
<div class="meta">
تاریخ: {jalali_long(day)}<br>
نامه‌رسان شماره {fa_digits(postman['index'])} — شروع {fa_digits(postman['start'])}، پایان پیش‌بینی‌شده {fa_digits(postman['end'])}<br>
{fa_digits(len(postman['stops']))} توقف، {fa_digits(parcel_count)} مرسوله، وزن کل {fa_decimal(postman['load_kg'])} کیلوگرم،
مسافت {fa_decimal(postman['distance_m'] / 1000)} کیلومتر{collect}<br>
جمع دریافت از گیرندگان (پرداخت در محل): {_money(postman['cod_rials'])} ریال
</div>
<table>
<thead><tr><th>ردیف</th><th>ساعت</th><th>گیرنده</th><th>تلفن</th><th>شهر</th><th>نشانی</th><th>کد پستی</th>
<th>مرسوله‌ها</th><th>بازه تحویل</th><th>وزن (کیلوگرم)</th><th>پرداخت در محل (ریال)</th><th>امضای گیرنده</th></tr>
</thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
<div class="sign"><span>امضای نامه‌رسان:</span><span>امضای مسئول توزیع:</span></div>
</body>
</html>
"""
