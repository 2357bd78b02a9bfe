"""Turning a shop's JSON into a normalised shipment (or quote) request, reporting every bad field at once.

Unknown fields are ignored (documented in the README and the OpenAPI document), so shops can send richer
objects than we read; everything we do read is checked and normalised.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from kernel import fast
from kernel.errors import FieldError
from kernel.postal.regions import region_errors, region_table
from kernel.postal.tariff import Limits
from kernel.postal.text import (
    CITY_MAX_LEN,
    PostalError,
    canonical_province_names,
    normalize_city,
    normalize_mobile,
    normalize_postal_code,
    normalize_province,
    normalize_text,
    strip_controls,
)
from pod.policy import FIELD as VERIFICATION
from pod.policy import METHODS as VERIFICATION_METHODS

SERVICES = ("pishtaz", "sefareshi")
PAYMENT_TYPES = ("cod", "prepaid")
NAME_MAX = 100
ADDRESS_MAX = 300
CONTENTS_MAX = 200
# Iran's bounding box, with a margin: a location outside it is a typo (swapped lat/lon, most often).
LAT_RANGE = (24.0, 40.5)
LON_RANGE = (43.5, 63.5)
ANOTHER_PARCEL = "another_parcel_of_order"  # the booking field that allows a second live parcel of an order
PARTY_FIELDS = ("name", "phone", "postal_code", "province", "city", "address")
_DIMENSIONS = tuple((dim, f"parcel.{dim}") for dim in ("length_mm", "width_mm", "height_mm"))

_MSG = {
    "required": ("This field is required.", "این فیلد الزامی است."),
    "type_object": ("Must be a JSON object.", "باید یک شیء JSON باشد."),
    "type_string": ("Must be a string.", "باید رشته باشد."),
    "type_integer": ("Must be an integer.", "باید عدد صحیح باشد."),
    "type_number": ("Must be a number.", "باید عدد باشد."),
    "type_boolean": ("Must be true or false.", "باید true یا false باشد."),
    "enum": ("Must be one of: {}.", "باید یکی از این مقادیر باشد: {}."),
    "too_small": ("Must be at least {}.", "باید دست‌کم {} باشد."),
    "too_large": ("Must be at most {}.", "باید حداکثر {} باشد."),
    "too_long": ("Must be at most {} characters.", "باید حداکثر {} نویسه باشد."),
    "out_of_range": ("Must lie within Iran ({}).", "باید در محدوده ایران باشد ({})."),
    "too_large_girth": ("Longest side plus twice the other two must be at most {} mm.",
                        "مجموع بلندترین ضلع و دو برابر دو ضلع دیگر باید حداکثر {} میلی‌متر باشد."),
}

_JOINERS = str.maketrans({"\u200c": None, "\u0640": None})  # ZWNJ and tatweel show nothing alone


class Errors:
    """Collects field errors; the request is rejected if any were added."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, field: str, code: str, *fmt: object) -> None:
        en, fa = _MSG.get(code, (code, code))
        self.items.append(FieldError(field, code, en.format(*fmt), fa.format(*fmt)))

    def postal(self, field: str, exc: PostalError) -> None:
        self.items.append(FieldError(field, exc.code, exc.message, exc.message_fa))

    def __bool__(self) -> bool:
        return bool(self.items)


def _obj(value: Any, field: str, errs: Errors, required: bool = True) -> dict | None:
    if value is None:
        if required:
            errs.add(field, "required")
        return None
    if not isinstance(value, dict):
        errs.add(field, "type_object")
        return None
    return value


def _int(value: Any, field: str, errs: Errors, lo: int, hi: int, required: bool = True) -> int | None:
    if value is None:
        if required:
            errs.add(field, "required")
        return None
    if isinstance(value, float) and value.is_integer():  # 1.0 and 1e6 are integers to JSON (and its Schema)
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        errs.add(field, "type_integer")
        return None
    if value < lo:
        errs.add(field, "too_small", lo)
        return None
    if value > hi:
        errs.add(field, "too_large", hi)
        return None
    return value


def _enum(value: Any, field: str, errs: Errors, allowed: tuple[str, ...]) -> str | None:
    if value is None:
        errs.add(field, "required")
    elif not isinstance(value, str) or value not in allowed:
        errs.add(field, "enum", ", ".join(allowed))
    else:
        return value
    return None


def _text(value: Any, field: str, errs: Errors, max_len: int, required: bool = True) -> str | None:
    if value is None:
        if required:
            errs.add(field, "required")
        return None
    if not isinstance(value, str):
        errs.add(field, "type_string")
        return None
    if len(value) > max_len:  # as sent, as the OpenAPI document's maxLength says, not only once normalised
        errs.add(field, "too_long", max_len)
        return None
    try:
        return normalize_text(value, max_len, error_code="text_invalid")
    except PostalError as exc:
        errs.postal(field, exc)
        return None


def _normalised(fn, value: Any, field: str, errs: Errors) -> str | None:
    if value is None:
        errs.add(field, "required")
        return None
    try:
        return fn(value)
    except PostalError as exc:
        errs.postal(field, exc)
        return None


def _location(value: Any, field: str, errs: Errors) -> dict[str, float] | None:
    loc = _obj(value, field, errs, required=False)
    if loc is None:
        return None
    out = {}
    for axis, (lo, hi) in (("lat", LAT_RANGE), ("lon", LON_RANGE)):
        v = loc.get(axis)
        if v is None:
            errs.add(f"{field}.{axis}", "required")
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            errs.add(f"{field}.{axis}", "type_number")
        elif not lo <= v <= hi:
            errs.add(f"{field}.{axis}", "out_of_range", f"{lo}..{hi}")
        else:
            out[axis] = float(v)
    return out if len(out) == 2 else None


def _city(value: Any, field: str, errs: Errors) -> str | None:
    if isinstance(value, str) and len(value) > CITY_MAX_LEN:  # as sent (the document's maxLength)
        errs.add(field, "too_long", CITY_MAX_LEN)
        return None
    return _normalised(normalize_city, value, field, errs)


# Field -> checker(value, field path, errors), built once: validation runs on every booking.
PARTY_CHECKS = {
    "name": partial(_text, max_len=NAME_MAX),
    "phone": partial(_normalised, normalize_mobile),
    "postal_code": partial(_normalised, normalize_postal_code),
    "province": partial(_normalised, normalize_province),
    "city": _city,
    "address": partial(_text, max_len=ADDRESS_MAX),
}
# Field paths ("receiver.phone") formatted once, not per booking.
_PATHS = {prefix: {name: f"{prefix}.{name}" for name in (*PARTY_FIELDS, "location")}
          for prefix in ("sender", "receiver")}


def party(value: dict, prefix: str, errs: Errors, fields: tuple[str, ...] = PARTY_FIELDS) -> dict[str, Any]:
    """Sender or receiver: each named field required and normalised."""
    paths = _PATHS[prefix]
    out: dict[str, Any] = {name: PARTY_CHECKS[name](value.get(name), paths[name], errs) for name in fields}
    if "location" in value:
        loc = _location(value.get("location"), paths["location"], errs)
        if loc:
            out["location"] = loc
    errs.items.extend(region_errors(out, prefix))  # the postal code's province decides; a contradiction is refused
    return out


@dataclass(slots=True)
class ShipmentRequest:
    """A validated, normalised booking (or, without the order and parties' details, a quote)."""

    service: str
    payment: dict[str, Any]
    sender: dict[str, Any]
    receiver: dict[str, Any]
    parcel: dict[str, Any]
    client_order_id: str | None = None
    zone: str | None = None  # set once priced, so booking does not price twice
    price: dict[str, Any] | None = None
    # The shop says this is one more parcel of an order that already has one (docs/booking.md): without it a
    # second live parcel with the same client_order_id is refused.
    another_parcel: bool = False
    # The booking's own proof-of-delivery choice (None: its shop's setting or the default decides, pod.policy).
    delivery_verification: str | None = None
    sms: bool = False  # the shop has buyer SMS on: priced with the add-on's line (set from the caller's shop)

    @property
    def cod_goods_value(self) -> int | None:
        return self.payment.get("goods_value") if self.payment["type"] == "cod" else None


def shipment_rules(limits: Limits, rules_type: type = fast.ShipmentRules) -> fast.ShipmentRules:
    """The limits the booking kernel checks (``fast.canonical_shipment``), from the same sources as this module."""
    services = {name: (svc.max_weight_g, svc.max_side_mm, svc.max_length_plus_girth_mm, svc.max_declared_value_rial)
                for name, svc in limits.services.items() if name in SERVICES}
    return rules_type(limits.client_order_id_max_len, limits.cod_min_goods_value_rial,
                      limits.cod_max_goods_value_rial, services, canonical_province_names(),
                      (NAME_MAX, ADDRESS_MAX, CITY_MAX_LEN, CONTENTS_MAX), region_table())


class RequestValidator:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.rules = shipment_rules(limits)
        # A shop's default sender is checked once, not on every booking: id(profile dict) -> (dict, result).
        # The entry holds the dict itself, so its id cannot be reused while cached.
        self._senders: dict[int, tuple[dict, dict[str, Any], list[FieldError]]] = {}

    def _default_sender(self, defaults: dict[str, Any], fields: tuple[str, ...]) -> tuple[dict, list[FieldError]]:
        hit = self._senders.get(id(defaults)) if fields is PARTY_FIELDS else None
        if hit is not None and hit[0] is defaults:
            return hit[1], hit[2]
        errs = Errors()
        sender = party(defaults, "sender", errs, fields)
        if fields is PARTY_FIELDS:
            if len(self._senders) > 10_000:
                self._senders.clear()
            self._senders[id(defaults)] = (defaults, sender, errs.items)
        return sender, errs.items

    def shipment(self, body: Any, sender_defaults: dict[str, Any]) -> tuple[ShipmentRequest | None, Errors]:
        # Nearly every booking is valid and already canonical: the compiled kernel says so in a couple of
        # microseconds, and only the rest pays for the checks below that rewrite values and explain errors.
        accepted = fast.canonical_shipment(body, self.rules)
        if accepted is not None:
            sender, sender_errors = self._default_sender(sender_defaults, PARTY_FIELDS)
            if not sender_errors:
                client_order_id, service, payment, receiver, parcel, another = accepted
                return (ShipmentRequest(service, payment, sender, receiver, parcel, client_order_id,
                                        another_parcel=another), Errors())
        return self._validate(body, sender_defaults, quote=False)

    def quote(self, body: Any, sender_defaults: dict[str, Any]) -> tuple[ShipmentRequest | None, Errors]:
        return self._validate(body, sender_defaults, quote=True)

    def _validate(self, body: Any, sender_defaults: dict[str, Any], quote: bool):
        errs = Errors()
        if not isinstance(body, dict):
            errs.add("", "type_object")
            return None, errs
        lim = self.limits
        client_order_id = None
        if not quote:
            client_order_id = body.get("client_order_id")
            if client_order_id is None:
                errs.add("client_order_id", "required")
            elif not isinstance(client_order_id, str) or not client_order_id.strip():
                errs.add("client_order_id", "type_string")
            elif len(client_order_id) > lim.client_order_id_max_len:
                errs.add("client_order_id", "too_long", lim.client_order_id_max_len)
            else:  # free text from the shop: control characters go, as from every other text field
                client_order_id = strip_controls(client_order_id).strip()
                # Something visible must remain, as the document's pattern says: ZWNJ and tatweel alone are not.
                if not client_order_id.translate(_JOINERS).strip():
                    errs.add("client_order_id", "type_string")
        another = body.get(ANOTHER_PARCEL) if not quote else None
        if another is not None and not isinstance(another, bool):
            errs.add(ANOTHER_PARCEL, "type_boolean")
        verification = body.get(VERIFICATION) if not quote else None
        if verification is not None:
            verification = _enum(verification, VERIFICATION, errs, VERIFICATION_METHODS)
        service = _enum(body.get("service"), "service", errs, SERVICES)
        svc = lim.services.get(service) if service else None

        payment: dict[str, Any] = {}
        pay = _obj(body.get("payment"), "payment", errs, required=not quote)
        if pay is None and quote:
            payment = {"type": "prepaid"}
        elif pay is not None:
            ptype = _enum(pay.get("type"), "payment.type", errs, PAYMENT_TYPES)
            if ptype == "cod":
                gv = _int(pay.get("goods_value"), "payment.goods_value", errs, lim.cod_min_goods_value_rial,
                          lim.cod_max_goods_value_rial)
                payment = {"type": "cod", "goods_value": gv}
            elif ptype == "prepaid":
                payment = {"type": "prepaid"}

        party_fields = ("province", "city") if quote else PARTY_FIELDS
        sender_in = _obj(body.get("sender"), "sender", errs, required=False)
        if sender_in:
            sender = party({**sender_defaults, **sender_in}, "sender", errs, party_fields)
        else:
            sender, sender_errors = self._default_sender(sender_defaults, party_fields)
            errs.items.extend(sender_errors)
        receiver_in = _obj(body.get("receiver"), "receiver", errs)
        receiver = party(receiver_in, "receiver", errs, party_fields) if receiver_in is not None else {}

        parcel: dict[str, Any] = {}
        parcel_in = _obj(body.get("parcel"), "parcel", errs)
        if parcel_in is not None:
            max_w = svc.max_weight_g if svc else max(s.max_weight_g for s in lim.services.values())
            parcel["weight_g"] = _int(parcel_in.get("weight_g"), "parcel.weight_g", errs, 1, max_w)
            max_side = svc.max_side_mm if svc else max(s.max_side_mm for s in lim.services.values())
            sides = []
            for dim, path in _DIMENSIONS:
                v = _int(parcel_in.get(dim), path, errs, 1, max_side, required=False)
                if v is not None:
                    parcel[dim] = v
                    sides.append(v)
            if svc and len(sides) == 3:
                longest = max(sides)
                girth_total = longest + 2 * (sum(sides) - longest)
                if girth_total > svc.max_length_plus_girth_mm:
                    errs.add("parcel", "too_large_girth", svc.max_length_plus_girth_mm)
            max_dv = (svc.max_declared_value_rial if svc
                      else max(s.max_declared_value_rial for s in lim.services.values()))
            dv = _int(parcel_in.get("declared_value"), "parcel.declared_value", errs, 0, max_dv, required=False)
            if dv is not None:
                parcel["declared_value"] = dv
            if not quote:
                contents = _text(parcel_in.get("contents"), "parcel.contents", errs, CONTENTS_MAX, required=False)
                if contents is not None:
                    parcel["contents"] = contents
        if errs:
            return None, errs
        return ShipmentRequest(service, payment, sender, receiver, parcel, client_order_id,
                               another_parcel=bool(another), delivery_verification=verification), errs
