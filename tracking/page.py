"""What buyers see: the public tracking view (JSON) and the Persian tracking page built from it.

The view never carries the receiver's phone, address or name, nor payment details: only statuses, times,
offices and failure reasons. The page is right-to-left, shows Jalali dates in Tehran time and Persian
digits, and is one self-contained HTML document (inline CSS, no scripts, fonts or images): about 3 KB,
under 1.5 KB gzipped for a typical history, so it loads in well under a second even on a 2G link.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from kernel import templates
from kernel.postal.offices import Registry

from .events import FAILURE_REASONS, RULES, STATUS_FA

# Events of other features a parcel's own history carries (returns.legs), as the buyer sees them; any other
# event that is not a scan rule stays off the public view.
OTHER_LABELS_FA = {"return_started": "بازگشت به فرستنده آغاز شد", "return_requested": "درخواست مرجوعی ثبت شد"}


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
        rule = RULES.get(e["type"])
        label = rule.label_fa if rule else OTHER_LABELS_FA.get(e["type"])
        if label is None:
            continue
        item: dict[str, Any] = {"type": e["type"], "label_fa": label, "emsevt": rule.emsevt if rule else None,
                                "occurred_at": e["occurred_at"], "office": _office(registry, e.get("office"))}
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


def render(view: dict[str, Any]) -> bytes:
    eta = None
    if view.get("expected_delivery") and view["status"] not in ("delivered", "returned", "cancelled"):
        eta = datetime.fromisoformat(view["expected_delivery"]).date()
    return templates.render("tracking", "track.html", title=f"رهگیری {view['tracking_number']}", view=view,
                            events=list(reversed(view["events"])), eta=eta).encode()  # newest first


def render_not_found(tracking_number: str) -> bytes:
    return templates.render("tracking", "track.html", title="مرسوله یافت نشد", view=None,
                            tracking_number=tracking_number).encode()
