"""A printable route sheet for one postman, in Persian (RTL), with the Jalali date."""

from __future__ import annotations

from datetime import date
from html import escape

import jdatetime

from .errors import PlanNotFound

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
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
@media print { body { margin: 1cm; } tr { page-break-inside: avoid; } }
"""


def fa_digits(value) -> str:
    return str(value).translate(PERSIAN_DIGITS)


def _money(rials: int) -> str:
    return fa_digits(f"{rials:,}").replace(",", "٬")


def jalali_long(day: date) -> str:
    j = jdatetime.date.fromgregorian(date=day)
    return fa_digits(f"{WEEKDAYS_FA[day.weekday()]} {j.day} {j.j_months_fa[j.month - 1]} {j.year}")


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
        window = "–".join(stop["time_window"]) if stop["time_window"] else "—"
        cod = _money(stop["cod_rials"]) if stop["cod_rials"] else "—"
        parcels = "<br>".join(escape(t) for t in stop["parcels"])
        weight = fa_digits(f"{stop['weight_kg']:.1f}")
        rows.append(
            f"<tr><td class='num'>{fa_digits(stop['sequence'])}</td>"
            f"<td class='num'>{fa_digits(stop['service_start'])}</td>"
            f"<td>{escape(stop['address'])}</td>"
            f"<td class='code'>{fa_digits(stop['postal_code'])}</td>"
            f"<td class='code'>{parcels}</td>"
            f"<td class='num'>{fa_digits(window)}</td>"
            f"<td class='num'>{weight}</td>"
            f"<td class='num'>{cod}</td>"
            f"<td></td></tr>")
    parcel_count = sum(len(s["parcels"]) for s in postman["stops"])
    return f"""<!DOCTYPE html>
<html lang="fa" dir="rtl">
<head><meta charset="utf-8"><title>برگه مسیر نامه‌رسان {fa_digits(postman['index'])} — {escape(office['name_fa'])}</title>
<style>{STYLE}</style></head>
<body>
<h1>برگه مسیر توزیع — {escape(office['name_fa'])} ({escape(office['code'])})</h1>
<div class="meta">
تاریخ: {jalali_long(day)}<br>
نامه‌رسان شماره {fa_digits(postman['index'])} — شروع {fa_digits(postman['start'])}، پایان پیش‌بینی‌شده {fa_digits(postman['end'])}<br>
{fa_digits(len(postman['stops']))} توقف، {fa_digits(parcel_count)} مرسوله، وزن کل {fa_digits(f"{postman['load_kg']:.1f}")} کیلوگرم،
مسافت {fa_digits(f"{postman['distance_m'] / 1000:.1f}")} کیلومتر<br>
وجه نقد دریافتی (پس‌کرایه): {_money(postman['cod_rials'])} ریال
</div>
<table>
<thead><tr><th>ردیف</th><th>ساعت</th><th>نشانی</th><th>کد پستی</th><th>مرسوله‌ها</th><th>بازه تحویل</th>
<th>وزن (کیلوگرم)</th><th>مبلغ پس‌کرایه (ریال)</th><th>امضای گیرنده</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
<div class="sign"><span>امضای نامه‌رسان:</span><span>امضای مسئول توزیع:</span></div>
</body>
</html>
"""
