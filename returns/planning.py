"""What a failed-delivery case tells the router (``routing.jobs.office_parcels`` calls these).

They read only fields of the parcel hash the planner loads anyway (``returns.cases`` writes them): a held parcel
waits at the counter for its buyer, and a parcel to be re-attempted or rescheduled goes out on its date, not before.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson


def plan_exclusion(parcel: dict[bytes, bytes], day: date) -> str | None:
    """Why a plan for ``day`` must not carry this parcel (``held_at_office``, ``scheduled_later``), else None."""
    if parcel.get(b"ndr_hold") == b"1":
        return "held_at_office"
    not_before = parcel.get(b"ndr_not_before")
    if not_before and int(day.strftime("%Y%m%d")) < int(not_before):
        return "scheduled_later"
    return None


def receiver_for_plan(parcel: dict[bytes, bytes], receiver: dict[str, Any]) -> dict[str, Any]:
    """The booked receiver with the contact the shop corrected on the case (phone, address notes, address)."""
    phone, notes, address = parcel.get(b"ndr_phone"), parcel.get(b"ndr_notes"), parcel.get(b"receiver_address")
    if not phone and not notes and not address:
        return receiver
    out = dict(receiver)
    if address:  # a corrected address (returns.readdress): the booked coordinates were of the old one
        out.pop("location", None)
        out.update(orjson.loads(address))
    if phone:
        out["phone"] = phone.decode()
    if notes:
        out["address_notes"] = notes.decode()
    return out
