"""What buyers see: the public tracking view (JSON) and the Persian tracking page built from it.

The view never carries the receiver's phone, address or name, nor payment details: only statuses, times,
offices and failure reasons. The page is right-to-left, shows Jalali dates in Tehran time and Persian
digits, and is one self-contained HTML document (inline CSS, no scripts, fonts or images): about 3 KB,
under 1.5 KB gzipped for a typical history, so it loads in well under a second even on a 2G link.
"""

from __future__ import annotations

import html
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any

import jdatetime
import orjson

from kernel.postal.offices import Registry
from kernel.postal.text import fa_digits
from kernel.postal.timeutil import jalali_datetime

from .events import FAILURE_REASONS, RULES, STATUS_FA


def _office(registry: Registry, code: str | None) -> dict[str, Any] | None:
    office = registry.offices.get(code) if code else None
    if office is None:
        return None
    return {"code": office.code, "name_fa": office.name_fa, "name_en": office.name_en, "city": office.city,
            "province": office.province}


def public_view(parcel: dict[bytes, bytes], history: list[bytes], registry: Registry) -> dict[str, Any]:
    doc = orjson.loads(parcel[b"doc"])
    status = parcel[b"status"].decode()
    events = []
    for raw in history:
        e = orjson.loads(raw)
        item: dict[str, Any] = {"type": e["type"], "label_fa": RULES[e["type"]].label_fa,
                                "emsevt": RULES[e["type"]].emsevt, "occurred_at": e["occurred_at"],
                                "office": _office(registry, e.get("office"))}
        reason = e.get("data", {}).get("reason")
        if reason in FAILURE_REASONS:
            item["reason"], item["reason_fa"] = reason, FAILURE_REASONS[reason][1]
        events.append(item)
    receiver = doc.get("receiver", {})
    return {
        "tracking_number": doc["tracking_number"], "status": status, "status_fa": STATUS_FA[status],
        "status_at": parcel[b"status_at"].decode(), "service": doc.get("service"),
        "destination": {"city": receiver.get("city"), "province": receiver.get("province")},
        "expected_delivery": doc.get("expected_delivery"), "events": events,
    }


@lru_cache(maxsize=1)
def _template() -> Template:
    return Template((Path(__file__).with_name("templates") / "track.html").read_text(encoding="utf-8"))


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def render(view: dict[str, Any]) -> bytes:
    rows = []
    for e in reversed(view["events"]):  # newest first
        place = ""
        if e["office"]:
            place = f'<div class="muted">{_esc(e["office"]["name_fa"])}، {_esc(e["office"]["city"])}</div>'
        reason = f'<div>{_esc(e["reason_fa"])}</div>' if e.get("reason_fa") else ""
        rows.append(f'<li><div class="ev">{_esc(e["label_fa"])}</div>{reason}{place}'
                    f'<div class="muted"><time datetime="{_esc(e["occurred_at"])}">{_esc(jalali_datetime(e["occurred_at"]))}'
                    f"</time></div></li>")
    dest = view["destination"]
    where = f'<div class="muted">مقصد: {_esc(dest["city"])}، {_esc(dest["province"])}</div>' if dest["city"] else ""
    eta = ""
    if view.get("expected_delivery") and view["status"] not in ("delivered", "returned", "cancelled"):
        eta_date = jdatetime.date.fromgregorian(date=datetime.fromisoformat(view["expected_delivery"]).date(),
                                                locale="fa_IR")
        day = fa_digits(f"{eta_date.strftime('%A')} {eta_date.day} {eta_date.strftime('%B')}")
        eta = f"<div>تحویل پیش‌بینی‌شده: {_esc(day)}</div>"
    body = (f'<section class="card"><div class="muted">کد رهگیری</div><div class="tn">{_esc(view["tracking_number"])}'
            f'</div><div class="status st-{_esc(view["status"])}" id="status">{_esc(view["status_fa"])}</div>'
            f'<div class="muted">{_esc(jalali_datetime(view["status_at"]))}</div>{where}{eta}</section>'
            f'<section class="card"><h1>سوابق مرسوله</h1><ol id="history">{"".join(rows)}</ol></section>')
    return _template().substitute(title=f"رهگیری {_esc(view['tracking_number'])}", body=body).encode()


def render_not_found(tracking_number: str) -> bytes:
    body = (f'<section class="card"><div class="tn">{_esc(tracking_number)}</div>'
            '<div class="status st-cancelled" id="status">مرسوله‌ای با این کد رهگیری پیدا نشد</div>'
            '<div class="muted">کد را دوباره بررسی کنید؛ کد رهگیری ۱۳ نویسه است، مانند EP123456785IR.</div>'
            "</section>")
    return _template().substitute(title="مرسوله یافت نشد", body=body).encode()
