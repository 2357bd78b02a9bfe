"""Realistic request bodies: Iranian receivers and addresses, shipments, and a parcel's life as staff scan it.

Postal codes are drawn from the delivery offices' own prefixes (``kernel.postal.offices``), so every parcel has a
real route (origin office -> hubs -> delivering office) and staff scans happen at the offices it passes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from kernel.postal.offices import Registry

FIRST = ("علی", "محمد", "زهرا", "فاطمه", "حسین", "مریم", "رضا", "سارا", "مهدی", "نرگس", "امیر", "لیلا",
         "پریسا", "سعید", "الهام", "جواد")
LAST = ("رضایی", "احمدی", "محمدی", "حسینی", "کریمی", "موسوی", "جعفری", "رحیمی", "نوری", "صادقی", "قاسمی",
        "طاهری", "کاظمی", "یزدانی")
STREETS = ("خیابان ولیعصر", "خیابان انقلاب", "بلوار کشاورز", "خیابان امام خمینی", "خیابان چهارباغ عباسی",
           "بلوار وکیل‌آباد", "خیابان زند", "خیابان آزادی", "بلوار معلم", "خیابان شریعتی", "خیابان طالقانی",
           "بلوار جمهوری اسلامی")
CONTENTS = ("کتاب", "پوشاک", "لوازم آرایشی", "قطعات موبایل", "اسباب‌بازی", "زعفران", "ادویه", "کفش",
            "لوازم التحریر")
DIGITS_FA = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


# The national format (kernel.postal.offices.POSTAL_CODE_RULE), position by position: the first four digits from
# [13-9] (not all four equal), the fifth from [1346-9], the last five from [013-9].
_DIGITS_AT = ("13456789",) * 4 + ("1346789",) + ("013456789",) * 5


def postal_code(rng: random.Random, prefix: str) -> str:
    """A valid code starting with an office prefix (of any length), so it routes to that office."""
    while True:
        code = prefix + "".join(rng.choice(_DIGITS_AT[i]) for i in range(len(prefix), 10))
        if code[:4] != code[0] * 4:
            return code


def party(rng: random.Random, registry: Registry, office_code: str | None = None) -> dict[str, str]:
    """A person at a real address served by ``office_code`` (random office, Tehran-heavy, when None)."""
    offices = registry.delivery_offices()
    office = registry.get(office_code) if office_code else rng.choices(
        offices, weights=[3 if o.code.startswith("THR") else 1 for o in offices])[0]
    phone = "09" + rng.choice(("12", "13", "15", "17", "19", "35", "36", "01")) + f"{rng.randrange(10**7):07d}"
    if rng.random() < 0.2:  # shops often pass Persian digits straight from their forms
        phone = phone.translate(DIGITS_FA)
    return {"name": f"{rng.choice(FIRST)} {rng.choice(LAST)}", "phone": phone,
            "postal_code": postal_code(rng, rng.choice(office.prefixes)), "province": office.province,
            "city": office.city,
            "address": f"{office.city}، {rng.choice(STREETS)}، کوچه {rng.randint(1, 40)}، پلاک {rng.randint(1, 200)}"}


def shipment(rng: random.Random, registry: Registry, order_id: str) -> dict[str, Any]:
    """A booking body: 60 % COD, the rest prepaid; pishtaz or sefareshi; 0.2-8 kg."""
    cod = rng.random() < 0.6
    return {
        "client_order_id": order_id,
        "service": rng.choice(("pishtaz", "pishtaz", "sefareshi")),
        "payment": {"type": "cod", "goods_value": rng.randrange(50, 500) * 100_000} if cod else {"type": "prepaid"},
        "receiver": party(rng, registry),
        "parcel": {"weight_g": rng.randrange(200, 8000), "contents": rng.choice(CONTENTS)},
    }


def quote(rng: random.Random, registry: Registry) -> dict[str, Any]:
    office = rng.choice(registry.delivery_offices())
    return {"service": rng.choice(("pishtaz", "sefareshi")), "parcel": {"weight_g": rng.randrange(200, 8000)},
            "receiver": {"province": office.province, "city": office.city}}


@dataclass
class Parcel:
    """A booked parcel and the scans still ahead of it; ``last_ms`` keeps its scan times increasing."""

    tn: str
    steps: list[dict[str, Any]]
    last_ms: int
    done: int = 0
    shop: int = 0
    sent: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def office(self) -> str:
        return self.steps[self.done]["office"]

    def scan(self, index: int, at_ms: int) -> dict[str, Any]:
        """The scan body of step ``index``. Once made it is sent unchanged until acknowledged: a retry with the
        same scan_id is then a duplicate, not a different scan (which the API refuses)."""
        body = self.sent.get(index)
        if body is None:
            at_ms = max(at_ms, self.last_ms + 1)
            self.last_ms = at_ms
            when = datetime.fromtimestamp(at_ms / 1000, timezone.utc).isoformat(timespec="milliseconds")
            body = self.sent[index] = {**self.steps[index], "tracking_number": self.tn, "occurred_at": when,
                                       "scan_id": f"{self.tn}-{index}"}
        return body

    def acked(self, index: int) -> None:
        self.sent.pop(index, None)
        self.done = index + 1


def lifecycle(rng: random.Random, registry: Registry, origin: str, dest: str, cod_amount: int | None
              ) -> list[dict[str, Any]]:
    """Accepted at the origin office, sorted at each hub, out for delivery (10 % fail first), delivered,
    COD collected; 3 % are refused: the post then sends them home on a return leg of their own (a new parcel the
    system makes), and a scan of the original after that is refused, so the refused parcel's scans end there."""
    route = registry.route(origin, dest)
    steps = [{"event": "accepted", "office": route[0]}]
    for hub in route[1:-1]:
        steps += [{"event": "sorting_in", "office": hub}, {"event": "sorting_out", "office": hub}]
    steps += [{"event": "arrived_delivery_office", "office": dest}, {"event": "out_for_delivery", "office": dest}]
    roll = rng.random()
    if roll < 0.03:
        return steps + [{"event": "delivery_failed", "office": dest, "reason": "receiver_refused"}]
    if roll < 0.13:
        steps += [{"event": "delivery_failed", "office": dest, "reason": "receiver_absent"},
                  {"event": "out_for_delivery", "office": dest}]
    steps.append({"event": "delivered", "office": dest, "receiver_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}"})
    if cod_amount:
        card = rng.random() < 0.7
        steps.append({"event": "cod_collected", "office": dest, "amount": cod_amount,
                      "method": "card" if card else "cash",
                      **({"rrn": f"{rng.randrange(10**12):012d}"} if card else {})})
    return steps


def parcel_of(rng: random.Random, registry: Registry, doc: dict[str, Any], shop: int, origin: str) -> Parcel:
    """The Parcel for a booking answer (``doc`` is the shipment the API returned)."""
    # The booking names the delivering office, the only one that may record the delivery-side scans.
    dest = doc.get("delivering_office") or registry.delivering_office(doc["receiver"]["postal_code"]).code
    pay = doc.get("payment") or {}
    cod = pay.get("goods_value") if pay.get("type") == "cod" else None
    created = datetime.fromisoformat(doc["created_at"].replace("Z", "+00:00"))
    return Parcel(doc["tracking_number"], lifecycle(rng, registry, origin, dest, cod),
                  int(created.timestamp() * 1000), shop=shop)
