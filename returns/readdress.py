"""A corrected address on a failed-delivery case (``update_contact`` with ``address``), and where it sends the parcel.

The address is checked as a booking's receiver is (``booking.validation``: each field normalised, the postal code's
province decides). Its postal code may belong to another delivering office: then the parcel is redirected there.
The redirect is three fields of the parcel hash, written by the case's own script with the decision:
``delivery_office`` (the scan authority honours it: docs/scans.md), ``route`` (comma-separated office codes, from
the office that has the parcel now to the new one, for the missort check) and ``expected_delivery``; the corrected
address itself is ``receiver_address`` (JSON), which the router plans by. The offices' to-do lists
(``keys.office_due``) move after the script, and a plan of the old office drops a parcel redirected elsewhere
(``routing.jobs``), so a crash between the two loses nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from booking.validation import Errors, party
from kernel.errors import FieldError
from kernel.postal.network import IRAN_TIME, ParcelNetwork

ADDRESS_FIELDS = ("postal_code", "province", "city", "address")
OFFICE_FIELD, ROUTE_FIELD, EXPECTED_FIELD, ADDRESS_FIELD = ("delivery_office", "route", "expected_delivery",
                                                            "receiver_address")


def parse_address(raw: Any, field: str) -> dict[str, Any] | list[FieldError]:
    """The corrected address, normalised, or its field errors (paths under ``field``)."""
    if not isinstance(raw, dict):
        return [FieldError(field, "type_object", "Must be a JSON object.", "باید شیء JSON باشد.")]
    errs = Errors()
    out = party(raw, "receiver", errs, ADDRESS_FIELDS)  # the receiver's own checks, postal code ↔ province too
    if errs:
        return [FieldError(e.field.replace("receiver.", field + ".", 1), e.code, e.message, e.message_fa)
                for e in errs.items]
    return out


def redirect(network: ParcelNetwork, service: str, current_office: str, address: dict[str, Any],
             now: float) -> dict[str, str] | None:
    """The parcel's new office, route and expected date when ``address`` is served by another office, else None."""
    office = network.office_for(address).code
    if office == current_office:
        return None
    registry = network.registry
    booked = datetime.fromtimestamp(now, IRAN_TIME).replace(tzinfo=None)
    return {OFFICE_FIELD: office, ROUTE_FIELD: ",".join(registry.route(current_office, office)),
            EXPECTED_FIELD: registry.expected_delivery(service, current_office, office, booked).isoformat(),
            "from_office": current_office}
