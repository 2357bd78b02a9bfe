"""Collection manifests: one barcode for a shop's handover of many parcels.

A shop makes a manifest of parcels it has booked and not yet handed over (``POST /v1/manifests``, by tracking
numbers or by booking day); the manifest has its own Code 128 number and a printable PDF (the parcels, count,
total weight, total COD, signature lines, Jalali date). A parcel is on at most one open manifest. A clerk scans the
manifest's barcode and accepts all its parcels in one call: each parcel gets its own ``accepted`` scan through the
tracking scan service, exactly as if scanned alone (scan ids derived from the manifest, so a repeated call is a
duplicate, never a second event).

Keys (the shop's hash-tag partition, one slot): ``{pN}:manifest:<shop>:<id>`` (JSON record),
``{pN}:manifested:<shop>`` (hash tracking number -> id of the open manifest holding it) and
``{pN}:manifests:<shop>`` (sorted set of the shop's manifest ids by creation time, for the listing). The manifest id carries
the shop id (``M<shop>X<random>``), so staff reach the record from the barcode alone.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import jdatetime
from fpdf import FPDF

from kernel.postal.timeutil import iso_ms
from kernel.store import keys

from . import pdfdoc
from .codes import _runs, code128_modules
from .labels import _EPOCH, _rials
from .pdftext import ltr

IRAN = timezone(timedelta(hours=3, minutes=30))
MAX_PARCELS = 1000
TTL_S = 90 * 24 * 3600  # a manifest is the shop's receipt: kept for a season


def manifest_key(shop_id: int, manifest_id: str) -> str:
    return f"{keys.tag(shop_id)}:manifest:{shop_id}:{manifest_id}"


def manifested_key(shop_id: int) -> str:
    """Hash: tracking number -> id of the open manifest that holds it."""
    return f"{keys.tag(shop_id)}:manifested:{shop_id}"


def shop_manifests_key(shop_id: int) -> str:
    """Sorted set: the shop's manifest ids, scored by creation time (epoch ms); trimmed to the records' lifetime."""
    return f"{keys.tag(shop_id)}:manifests:{shop_id}"


def new_manifest_id(shop_id: int) -> str:
    return f"M{shop_id}X{secrets.token_hex(5).upper()}"


def shop_of(manifest_id: str) -> int | None:
    """The shop id a manifest number carries, or None if it is not one of ours."""
    if not manifest_id.startswith("M") or "X" not in manifest_id or len(manifest_id) > 40:
        return None
    shop = manifest_id[1:manifest_id.index("X")]
    return int(shop) if shop.isdigit() else None


# Creates the manifest unless a parcel is already on an open one, and lists it in the shop's index (whose
# members older than a record's lifetime go, so the index never outgrows the records). KEYS: manifested hash,
# manifest record, the shop's index. ARGV: manifest id, record JSON, ttl (s), created (epoch ms), tracking
# numbers... Returns {} on success, else the taken pairs.
CREATE = """
local taken = {}
for i = 5, #ARGV do
  local m = redis.call('HGET', KEYS[1], ARGV[i])
  if m then taken[#taken + 1] = ARGV[i]; taken[#taken + 1] = m end
end
if #taken > 0 then return taken end
for i = 5, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], ARGV[1]) end
redis.call('SET', KEYS[2], ARGV[2], 'EX', tonumber(ARGV[3]))
local created = tonumber(ARGV[4])
redis.call('ZADD', KEYS[3], created, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (created - tonumber(ARGV[3]) * 1000))
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[3]))
return {}
"""

# Closes an open manifest: its parcels leave the manifested hash. KEYS: manifested hash, manifest record.
# ARGV: manifest id, the closed record JSON, tracking numbers...
CLOSE = """
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[1] then redis.call('HDEL', KEYS[1], ARGV[i]) end
end
redis.call('SET', KEYS[2], ARGV[2], 'KEEPTTL')
return 1
"""


def view(record: dict[str, Any], base: str) -> dict[str, Any]:
    out = {k: v for k, v in record.items() if k != "parcels"}
    out["parcels"] = [{k: p[k] for k in ("tracking_number", "receiver_name", "city", "weight_g", "cod_rials")}
                      for p in record["parcels"]]
    out["pdf"] = f"{base}/v1/manifests/{record['manifest_id']}/pdf"
    return out


def summary(record: dict[str, Any], base: str) -> dict[str, Any]:
    """A manifest in the shop's listing: its facts and PDF link, without the parcel rows."""
    out = {k: v for k, v in record.items() if k not in ("parcels", "tracking_numbers")}
    out["pdf"] = f"{base}/v1/manifests/{record['manifest_id']}/pdf"
    return out


def make_record(manifest_id: str, shop_id: int, shop_name: str, docs: list[dict[str, Any]]) -> dict[str, Any]:
    parcels = []
    for doc in docs:
        payment, parcel = doc.get("payment") or {}, doc.get("parcel") or {}
        cod = int(payment.get("goods_value") or payment.get("amount") or 0) if payment.get("type") == "cod" else 0
        parcels.append({"tracking_number": doc["tracking_number"], "receiver_name": doc["receiver"].get("name", ""),
                        "city": doc["receiver"].get("city", ""), "postal_code": doc["receiver"].get("postal_code", ""),
                        "weight_g": int(parcel.get("weight_g", 0)), "cod_rials": cod})
    now = time.time()
    return {"manifest_id": manifest_id, "shop_id": shop_id, "shop_name": shop_name, "status": "open",
            "count": len(parcels), "total_weight_g": sum(p["weight_g"] for p in parcels),
            "total_cod_rials": sum(p["cod_rials"] for p in parcels), "created_at": iso_ms(now),
            "date_jalali": jdatetime.datetime.fromgregorian(datetime=datetime.fromtimestamp(now, IRAN)).strftime(
                "%Y/%m/%d"),
            "tracking_numbers": [p["tracking_number"] for p in parcels], "parcels": parcels}


# -- the printable manifest ----------------------------------------------------------------------------------------

ROWS_PER_PAGE = 32


def render_pdf(record: dict[str, Any]) -> bytes:
    """A4 portrait, right to left: head with the manifest's barcode, the parcels' table, totals, signatures."""
    pdf, tw = pdfdoc.a4_document(_EPOCH)
    parcels = record["parcels"]
    pages = pdfdoc.page_count(len(parcels), ROWS_PER_PAGE)
    # columns, right to left: row, tracking number, receiver, city, weight, COD (x, width in mm)
    cols = [(185, 10), (145, 40), (95, 50), (65, 30), (42, 23), (12, 30)]
    heads = ["ردیف", "شماره رهگیری", "گیرنده", "شهر", "وزن (گرم)", "پرداخت در محل (ریال)"]
    for page in range(pages):
        pdf.add_page()
        pdf.set_draw_color(0)
        pdf.set_fill_color(0)
        pdf.set_line_width(0.3)
        tw.line(10, 10, 190, 9, "فهرست تحویل مرسولات (مانیفست)", 16, bold=True)
        tw.line(10, 20, 190, 6, f"فروشگاه: {record['shop_name']}", 10)
        tw.line(10, 26, 190, 6, f"تاریخ: {ltr(record['date_jalali'])}", 10)
        tw.line(10, 32, 190, 6, f"صفحه {ltr(str(page + 1))} از {ltr(str(pages))}", 9)
        _barcode(pdf, 12, 12, 80, 16, record["manifest_id"])
        tw.line(12, 29, 80, 6, record["manifest_id"], 11, align="C", bold=True)
        first = page * ROWS_PER_PAGE
        rows = ([ltr(str(i)), p["tracking_number"], p["receiver_name"], p["city"], ltr(f"{p['weight_g']:,}"),
                 ltr(_rials(p["cod_rials"])) if p["cod_rials"] else "—"]
                for i, p in enumerate(parcels[first:first + ROWS_PER_PAGE], start=first + 1))
        y = pdfdoc.table(pdf, tw, 42, cols, heads, rows, 8.5)
        if page == pages - 1:
            y += 4
            count, weight = ltr(str(record["count"])), ltr(f"{record['total_weight_g']:,}")
            tw.line(10, y, 190, 7, f"تعداد مرسولات: {count}", 11, bold=True)
            tw.line(10, y + 7, 190, 7, f"جمع وزن: {weight} گرم", 11)
            tw.line(10, y + 14, 190, 7, f"جمع مبلغ پرداخت در محل: {ltr(_rials(record['total_cod_rials']))} ریال",
                    11)
            y = max(y + 30, 250)
            tw.line(110, y, 90, 6, "امضای نمایندهٔ فروشگاه", 10)
            tw.line(10, y, 90, 6, "امضا و مهر متصدی باجهٔ پذیرش", 10)
            pdf.line(120, y + 22, 195, y + 22)
            pdf.line(15, y + 22, 90, y + 22)
    return pdfdoc.output(pdf)


def _barcode(pdf: FPDF, x: float, y: float, w: float, h: float, data: str) -> None:
    modules = code128_modules(data)
    mw = w / len(modules)
    k, hp = pdf.k, pdf.h_pt
    ops = [f"{(x + s * mw) * k:.2f} {hp - y * k:.2f} {n * mw * k:.2f} {-h * k:.2f} re" for s, n in _runs(modules)]
    pdf._out(" ".join(ops) + " f")
