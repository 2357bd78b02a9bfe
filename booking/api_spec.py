"""The booking feature's OpenAPI fragment: quotes and shipments (``booking.web``).

Numbers come from the code that enforces them (``Limits`` from limits.toml, the validator's constants), so the
document cannot drift from the rules. The gateway assembles it with the other features' fragments
(``gateway/openapi.py``); shared pieces (problems, ``ref``) come from ``kernel.openapi``.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from booking.idempotency import MAX_KEY_LEN
from booking.validation import ADDRESS_MAX, CONTENTS_MAX, LAT_RANGE, LON_RANGE, NAME_MAX, PAYMENT_TYPES, SERVICES
from booking.web import CURSOR_PATTERN, LIST_MAX
from kernel.openapi import IGNORED, JSON, json_body, problem_responses, ref
from kernel.postal.tariff import ZONES, Limits
from kernel.postal.text import CITY_MAX_LEN, provinces
from kernel.store.keys import STATUSES

# Whitespace (the characters both Python's str.split() and a JSON Schema (ECMA-262) regex call whitespace) and the
# dashes and ZWNJ that postal.py drops between digit groups: a phone or postal code may hold them anywhere.
_GAPS = r"[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\-\u2010-\u2013\u2212\u200c]*"


def _digit(allowed: str) -> str:
    """A character class of these digits in ASCII, Arabic-Indic and Persian forms (postal.normalize_digits)."""
    return "[" + "".join(f"{d}\\u{0x660 + int(d):04x}\\u{0x6f0 + int(d):04x}" for d in allowed) + "]"


def _invisible_ranges() -> str:
    """What postal.normalize_text drops or collapses: whitespace, control and format characters (bar ZWJ), ZWNJ
    and tatweel, as regex class ranges. The Basic Multilingual Plane only: \\u escapes are what every regex
    dialect reads, and the few format characters above it (tags, Egyptian hieroglyph controls) never come alone."""
    dropped = [c for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF and c != 0x200D and (
        chr(c).isspace() or unicodedata.category(chr(c)) in ("Cc", "Cf") or c in (0x200C, 0x640))]
    ranges, start = [], dropped[0]
    for prev, c in zip(dropped, [*dropped[1:], None]):
        if c != prev + 1:
            ranges.append((start, prev))
            start = c
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges)


# Free text must keep something after normalising: one character that is not dropped.
_VISIBLE = f"[^{_invisible_ranges()}]"


def _order_id_visible() -> str:
    """What the validator keeps of a client_order_id (control and format characters go, bar ZWNJ and ZWJ; the ends
    are trimmed of whitespace), as a class of the characters of which one must remain."""
    dropped = [c for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF and c not in (0x200C, 0x200D) and (
        chr(c).isspace() or unicodedata.category(chr(c)) in ("Cc", "Cf"))]
    ranges, start = [], dropped[0]
    for prev, c in zip(dropped, [*dropped[1:], None]):
        if c != prev + 1:
            ranges.append((start, prev))
            start = c
    return "[^" + "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges) + "]"


def _postal_code_pattern() -> str:
    """postal.normalize_postal_code's rule (no 0 or 2 in the first four digits, nor all four equal; fifth digit
    not 0, 2 or 5; no 2 in the last five) over what it accepts before normalising, as one regex."""
    first, fifth, rest, g = "13456789", "1346789", "013456789", _GAPS
    all_equal = "|".join(f"(?:{g}{_digit(d)}){{4}}" for d in first)
    return f"^(?!{all_equal}){g}(?:{_digit(first)}{g}){{4}}{_digit(fifth)}{g}(?:{_digit(rest)}{g}){{5}}$"


def _mobile_pattern() -> str:
    """postal.normalize_mobile's rule (+98 / 0098 / 98 with an optional 0, or a trunk 0, then 9 and nine digits)
    over what it accepts before normalising: group marks and parentheses anywhere."""
    g = _GAPS[:-2] + "()]*"
    d = {c: _digit(c) + g for c in "0189"}
    return (f"^{g}(?:(?:\\+{g}|{d['0']}{d['0']})?{d['9']}{d['8']}(?:{d['0']})?|{d['0']})?"
            f"{d['9']}(?:{_digit('0123456789')}{g}){{9}}$")


def _components(limits: Limits) -> dict[str, Any]:
    services = limits.services.values()
    max_weight = max(s.max_weight_g for s in services)
    max_side = max(s.max_side_mm for s in services)
    max_declared = max(s.max_declared_value_rial for s in services)
    per_service = "; ".join(
        f"{name}: weight <= {s.max_weight_g} g, sides <= {s.max_side_mm} mm, longest side + 2 x the others <= "
        f"{s.max_length_plus_girth_mm} mm, declared_value <= {s.max_declared_value_rial} rial"
        for name, s in limits.services.items())

    def text(max_len: int, description: str) -> dict[str, Any]:
        return {"type": "string", "minLength": 1, "maxLength": max_len, "pattern": _VISIBLE,
                "description": description + " Control characters are dropped and whitespace collapsed first; "
                                             "something visible must remain."}

    def integer(lo: int, hi: int, description: str, nullable: bool = False) -> dict[str, Any]:
        if nullable:  # the validator reads null as absent
            return {"type": ["integer", "null"], "minimum": lo, "maximum": hi,
                    "description": description + " null is the same as absent."}
        return {"type": "integer", "minimum": lo, "maximum": hi, "description": description}

    location = {"type": "object", "required": ["lat", "lon"], "description": "A point inside Iran (WGS 84).",
                "properties": {"lat": {"type": "number", "minimum": LAT_RANGE[0], "maximum": LAT_RANGE[1]},
                               "lon": {"type": "number", "minimum": LON_RANGE[0], "maximum": LON_RANGE[1]}}}
    nullable_location = {**location, "type": ["object", "null"], "description": "A point inside Iran (WGS 84); "
                         "null is the same as absent."}
    province_names = sorted({n for p in provinces() for n in (p.name_fa, p.name_en, p.code, *p.aliases)})
    party_props = {
        "name": text(NAME_MAX, "Person or business name."),
        "phone": {"type": "string", "pattern": _mobile_pattern(),
                  "description": "Iranian mobile: 09xxxxxxxxx, +98/0098/98 prefixes, Persian or Arabic digits, "
                                 "spaces, hyphens and parentheses accepted; answered as 09xxxxxxxxx. (A JSON "
                                 "integer of the same digits is still accepted; send a string.)",
                  "example": "09131234567"},
        "postal_code": {"type": "string", "pattern": _postal_code_pattern(),
                        "description": "10-digit Iranian postal code (ASCII, Persian or Arabic digits; spaces and "
                                       "hyphens between them accepted); answered as 10 ASCII digits. The rule: no 0 "
                                       "or 2 in the first four digits and not all four equal, the fifth not 0, 2 or "
                                       "5, no 2 in the last five. Its leading digits name its province: a `province` "
                                       "they contradict is refused (422, `postal_code_province_mismatch` on both "
                                       "fields). (A JSON integer of the same digits is still accepted; send a "
                                       "string.)", "example": "8138634561"},
        "province": {"enum": province_names, "description": "One of Iran's 31 provinces: its Persian or English "
                     "name or a listed spelling (other spellings that differ only in case, spacing, hyphens or "
                     "Arabic letters are matched too); answered as its Persian name."},
        "city": text(CITY_MAX_LEN, "City name."),
        "address": text(ADDRESS_MAX, "Street address."),
        "location": nullable_location,
    }
    place_props = {k: party_props[k] for k in ("province", "city")}
    dims = {d: integer(1, max_side, f"Millimetres. Per service: {per_service}.", nullable=True)
            for d in ("length_mm", "width_mm", "height_mm")}
    parcel_props = {
        "weight_g": integer(1, max_weight, f"Grams. Per service: {per_service}."), **dims,
        "declared_value": integer(0, max_declared, "Insured value in rials; 0 or absent means no insurance.",
                                  nullable=True),
    }
    # The one service's own maxima (the properties above give the largest over all services).
    per_service_limits = [
        {"if": {"required": ["service"], "properties": {"service": {"const": name}}},
         "then": {"properties": {"parcel": {"properties": {
             "weight_g": {"maximum": svc.max_weight_g}, "declared_value": {"maximum": svc.max_declared_value_rial},
             **{d: {"maximum": svc.max_side_mm} for d in dims}}}}}}
        for name, svc in limits.services.items() if name in SERVICES]
    payment = {
        "type": "object", "required": ["type"], "description": "`goods_value` (rials) is required for cash on "
        "delivery and ignored for prepaid." + IGNORED,
        "properties": {"type": {"enum": list(PAYMENT_TYPES)},
                       "goods_value": {"description": "Cash the postman collects, in rials (cash on delivery "
                                                      "only; any value is ignored for prepaid)."}},
        "if": {"properties": {"type": {"const": "cod"}}},
        "then": {"required": ["goods_value"], "properties": {"goods_value": integer(
            limits.cod_min_goods_value_rial, limits.cod_max_goods_value_rial, "Cash the postman collects, in rials.")}},
    }
    order_id = {"type": "string", "minLength": 1, "maxLength": limits.client_order_id_max_len,
                "pattern": _order_id_visible(),
                "description": "The shop's own order reference (not blank; trimmed; control characters dropped)."}
    timestamp = {"type": "string", "format": "date-time"}
    party_out = {"type": "object", "required": list(party_props)[:-1], "properties": {
        **{k: {"type": "string"} for k in list(party_props)[:-1]}, "location": location}}
    return {
        "securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer", "description": "The shop's API key, `bk_<shop_id>_<secret>`."}},
        "schemas": {
            "Place": {"type": "object", "required": ["province", "city"], "properties": place_props,
                      "description": "Where a party is; only the places matter for a quote." + IGNORED},
            "Party": {"type": "object", "required": list(party_props)[:-1], "properties": party_props,
                      "description": "Sender or receiver." + IGNORED},
            "Payment": payment,
            "ParcelQuote": {"type": "object", "required": ["weight_g"], "properties": parcel_props,
                            "description": "When all three sides are given, the per-service size rules apply."
                                           + IGNORED},
            "Parcel": {"type": "object", "allOf": [ref("ParcelQuote")], "properties": {
                "contents": {**text(CONTENTS_MAX, "What is inside; null is the same as absent."),
                             "type": ["string", "null"]}}},
            "QuoteRequest": {
                "type": "object", "required": ["service", "receiver", "parcel"], "description": IGNORED.strip(),
                "allOf": per_service_limits,
                "properties": {
                    "service": {"enum": list(SERVICES)},
                    "payment": {"anyOf": [ref("Payment"), {"type": "null"}],
                                "description": "Absent or null means prepaid."},
                    "sender": {"type": ["object", "null"], "properties": place_props,
                               "description": "Fields given override the shop's profile sender; absent, null or "
                                              "{} means the profile's. A shop whose profile has no sender place "
                                              "must give `province` and `city` here, else 422."},
                    "receiver": ref("Place"), "parcel": ref("ParcelQuote"),
                },
            },
            "ShipmentRequest": {
                "type": "object", "required": ["client_order_id", "service", "payment", "receiver", "parcel"],
                "description": IGNORED.strip(), "allOf": per_service_limits,
                "properties": {
                    "client_order_id": {**order_id, "description": "The shop's order id. A second shipment "
                                        "of an order whose earlier one is not cancelled is refused with 409 "
                                        "`client_order_id_exists` unless `another_parcel_of_order` is true."},
                    "another_parcel_of_order": {"type": "boolean", "default": False,
                                                "description": "This parcel is one more of an order that already "
                                                               "has a live shipment (docs/booking.md)."},
                    "delivery_verification": {"enum": ["none", "otp", "signature"], "description": "How the "
                                              "hand-over is proven (docs/pod.md); absent: the shop's setting, "
                                              "else a code for COD parcels above an amount."},
                    "service": {"enum": list(SERVICES)}, "payment": ref("Payment"),
                    "sender": {"type": ["object", "null"], "properties": party_props, "description": "Fields "
                               "given override the shop's profile sender (absent or null: the profile's); the "
                               "merged sender must be a complete Party, else 422."},
                    "receiver": ref("Party"), "parcel": ref("Parcel"),
                },
            },
            "BatchRequest": {"type": "object", "required": ["shipments"], "description": IGNORED.strip(),
                             "properties": {"shipments": {
                                 "type": "array", "minItems": 1, "maxItems": limits.batch_max_items,
                                 "description": "Each item is checked as a ShipmentRequest on its own: an invalid "
                                                "item (of any JSON type) is rejected in `results` with its "
                                                "`errors`, and the others are still booked. Only the array itself "
                                                "(missing, not an array, empty, too long) makes the whole request "
                                                "a 422.",
                                 # Any value is a well-formed item; ShipmentRequest is what gets booked.
                                 "items": {"anyOf": [ref("ShipmentRequest"), {}]}}}},
            "Price": {"type": "object", "required": ["base", "cod_fee", "insurance", "vat", "total", "currency"],
                      "description": "Integer rials; total = base + cod_fee + insurance (+ sms) + vat.",
                      "properties": {**{k: {"type": "integer", "minimum": 0}
                                        for k in ("base", "cod_fee", "insurance", "vat", "total")},
                                     "sms": {"type": "integer", "minimum": 0,
                                             "description": "The buyer-SMS add-on (tariff data), present only "
                                                            "while the shop has SMS on (PUT /v1/notifications)."},
                                     "currency": {"const": "IRR"}}},
            "Quote": {"type": "object", "required": ["service", "zone", "price"], "properties": {
                "service": {"enum": list(SERVICES)}, "zone": {"enum": list(ZONES)}, "price": ref("Price")}},
            "Shipment": {
                "type": "object",
                "required": ["tracking_number", "shop_id", "client_order_id", "service", "payment", "sender",
                             "receiver", "parcel", "zone", "price", "created_at", "status", "status_at",
                             "updated_at"],
                "properties": {
                    "tracking_number": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{9}IR$",
                                        "description": "UPU S10, e.g. EP123456785IR."},
                    "shop_id": {"type": "integer"}, "client_order_id": {"type": "string"},
                    "service": {"enum": list(SERVICES)},
                    "payment": {"type": "object", "required": ["type"], "properties": {
                        "type": {"enum": list(PAYMENT_TYPES)}, "goods_value": {"type": "integer"}}},
                    "sender": party_out, "receiver": party_out,
                    "parcel": {"type": "object", "required": ["weight_g"], "properties": {
                        **{k: {"type": "integer"} for k in parcel_props}, "contents": {"type": "string"}}},
                    "zone": {"enum": list(ZONES)}, "price": ref("Price"), "created_at": timestamp,
                    "status": {"enum": list(STATUSES)}, "status_at": timestamp, "updated_at": timestamp,
                    # Filled from the post-office network at booking (kernel.postal.network).
                    "origin_office": {"type": "string"}, "delivering_office": {"type": "string"},
                    "route": {"type": "array", "items": {"type": "string"}, "description": "Office codes, in order."},
                    "expected_delivery": {"type": "string", "description": "ISO 8601, Iran time."},
                    "delivery_verification": {"enum": ["none", "otp", "signature"],
                                              "description": "Decided at booking (docs/pod.md)."},
                },
            },
            "ShipmentWithHistory": {"allOf": [ref("Shipment")], "required": ["history"], "properties": {
                "history": {"type": "array", "items": ref("Event"), "description": "Oldest first."}}},
            "Event": {
                "type": "object", "required": ["id", "type", "tracking_number", "shop_id", "status", "occurred_at",
                                               "recorded_at", "office", "data"],
                "properties": {
                    "id": {"type": "string"}, "type": {"type": "string", "description": "e.g. booked, cancelled."},
                    "tracking_number": {"type": "string"}, "shop_id": {"type": "integer"},
                    "status": {"enum": list(STATUSES)}, "occurred_at": timestamp, "recorded_at": timestamp,
                    "office": {"type": ["string", "null"], "description": "Post-office code, null if none."},
                    "data": {"type": "object"},
                    "missort": {"const": True, "description": "Present on a sorting scan made at a hub off the "
                                                              "parcel's route."},
                },
            },
            "ShipmentPage": {"type": "object", "required": ["items", "next_cursor"], "properties": {
                "items": {"type": "array", "items": ref("Shipment")},
                "next_cursor": {"type": ["string", "null"], "description": "Pass as `cursor`; null on the last page."}}},
            "BatchResult": {
                "type": "object", "required": ["booked", "rejected", "results"],
                "properties": {
                    "batch_id": {"type": "string", "description": "The batch's id: `POST /v1/label-jobs` with "
                                 "`batch_id` prints the labels of the parcels it booked (kept 30 days)."},
                    "booked": {"type": "integer", "minimum": 0}, "rejected": {"type": "integer", "minimum": 0},
                    "results": {"type": "array", "description": "One per submitted item, in order.", "items": {
                        "oneOf": [
                            {"type": "object", "required": ["index", "result", "shipment"], "properties": {
                                "index": {"type": "integer"}, "result": {"const": "booked"},
                                "shipment": ref("Shipment")}},
                            {"type": "object", "required": ["index", "result", "status", "errors"],
                             "properties": {
                                "index": {"type": "integer"}, "result": {"const": "rejected"},
                                "status": {"enum": [409, 422], "description": "What the item would have got "
                                           "alone: 409 when its order already has a live shipment "
                                           "(`existing_tracking_number`), 422 for invalid fields."},
                                "existing_tracking_number": {"type": "string"},
                                "errors": {"type": "array", "items": ref("FieldError")}}},
                        ]}},
                },
            },
        },
        "headers": {
            "IdempotentReplayed": {"description": "`true` when this is the stored answer to an earlier request "
                                                  "with the same Idempotency-Key.", "schema": {"const": "true"}},
        },
        "parameters": {
            "IdempotencyKey": {
                "name": "Idempotency-Key", "in": "header", "required": False,
                "description": "Retrying with the same key and request replays the first answer (kept at least "
                               "24 h); the same key with another request is refused with 409. Requests are "
                               "compared as parsed JSON (whitespace and key order do not matter) with their path; "
                               "a key belongs to one endpoint (method and route) of one shop.",
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LEN, "pattern": "^[ -~]+$"}},
        },
    }


_QUOTE_EXAMPLE = {"service": "sefareshi", "receiver": {"province": "Tehran", "city": "تهران"},
                  "parcel": {"weight_g": 400}}
_SHIPMENT_EXAMPLE = {
    "client_order_id": "ORD-1001", "service": "pishtaz", "payment": {"type": "cod", "goods_value": 12_000_000},
    "receiver": {"name": "علی رضایی", "phone": "09131234567", "postal_code": "8138634561", "province": "اصفهان",
                 "city": "اصفهان", "address": "خیابان چهارباغ، کوچه ۵"},
    "parcel": {"weight_g": 1200, "declared_value": 5_000_000, "contents": "کتاب"},
}


_NULLABLE_TEXT = {"type": ["string", "null"]}
_SHOP_PROFILE = {
    "type": "object", "required": ["shop_id", "name", "status", "legal", "bank_account", "cod_allowed"],
    "properties": {
        "shop_id": {"type": "integer"}, "name": {"type": "string"}, "status": {"enum": ["active", "disabled"]},
        "enamad_id": _NULLABLE_TEXT, "sender": {"type": "object"}, "created_at": {"type": "string"},
        "legal": {"type": "object", "properties": {"type": {"enum": ["individual", "company", None]},
                                                   "national_id_masked": _NULLABLE_TEXT}},
        "bank_account": {"oneOf": [{"type": "null"}, {
            "type": "object", "required": ["sheba_masked", "bank_code", "verified"],
            "properties": {"sheba_masked": {"type": "string", "pattern": "^IR[0-9]{5}\\*+[0-9]{4}$"},
                           "bank_code": {"type": "string"}, "bank": _NULLABLE_TEXT, "bank_fa": _NULLABLE_TEXT,
                           "verified": {"type": "boolean"}}}]},
        "settlement_plan": _NULLABLE_TEXT,
        "cod_allowed": {"type": "boolean"},
        "cod_refusal": {"enum": ["cod_requires_verified_sheba", "cod_requires_enamad"]},
    },
}


def _paths(limits: Limits) -> dict[str, Any]:
    replayed = {"Idempotent-Replayed": {"$ref": "#/components/headers/IdempotentReplayed"}}
    idem = [{"$ref": "#/components/parameters/IdempotencyKey"}]
    tn = [{"$ref": "#/components/parameters/TrackingNumber"}]

    def body(schema: str, example: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {JSON: {"schema": ref(schema), "example": example}}}

    return {
        "/v1/shop": {"get": {
            "tags": ["shipments"], "summary": "The calling shop's record: legal identity, payout account, COD status",
            "description": "The national id and the Sheba number are shown masked. `cod_allowed` is false, with the "
                           "problem code a COD booking would get in `cod_refusal`, until the shop's Sheba account "
                           "is verified (and, where the money policy says so, its Enamad code recorded).",
            "operationId": "getShop",
            "responses": {"200": json_body(_SHOP_PROFILE, "The shop."), **problem_responses(401, 429, 503)}}},
        "/v1/quotes": {"post": {
            "tags": ["shipments"], "summary": "Price a parcel without booking it", "operationId": "createQuote",
            "parameters": idem, "requestBody": body("QuoteRequest", _QUOTE_EXAMPLE),
            "responses": {"200": json_body(ref("Quote"), "Zone and price.", replayed),
                          **problem_responses(401, 409, 413, 415, 422, 429, 503)}}},
        "/v1/shipments": {
            "post": {
                "tags": ["shipments"], "summary": "Book a shipment", "operationId": "createShipment",
                "parameters": idem, "requestBody": body("ShipmentRequest", _SHIPMENT_EXAMPLE),
                "responses": {"201": {**json_body(ref("Shipment"), "Booked.", replayed), "links": {
                                  op[0].upper() + op[1:]: {"operationId": op, "parameters": {
                                      "tracking_number": "$response.body#/tracking_number"}}
                                  for op in ("getShipment", "cancelShipment")}},
                              **problem_responses(401, 409, 413, 415, 422, 429, 503)}},
            "get": {
                "tags": ["shipments"], "summary": "List the shop's shipments, newest first",
                "operationId": "listShipments",
                "parameters": [
                    {"name": "status", "in": "query", "schema": {"enum": list(STATUSES)}},
                    {"name": "client_order_id", "in": "query", "schema": {
                        "type": "string", "minLength": 1, "maxLength": limits.client_order_id_max_len}},
                    *({"name": n, "in": "query", "description": "ISO 8601 time with a zone (inclusive).",
                       "schema": {"type": "string", "format": "date-time"}} for n in ("created_from", "created_to")),
                    {"name": "cursor", "in": "query", "description": "`next_cursor` of the previous page.",
                     "schema": {"type": "string", "pattern": CURSOR_PATTERN}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": LIST_MAX,
                                                                "default": 20}},
                ],
                "responses": {"200": json_body(ref("ShipmentPage"), "A page of shipments (without history)."),
                              **problem_responses(401, 422, 429, 503)}},
        },
        "/v1/shipments/batch": {"post": {
            "tags": ["shipments"], "summary": "Book many shipments; each item is booked or rejected on its own",
            "operationId": "createShipmentBatch", "parameters": idem, "requestBody": body("BatchRequest", {"shipments": [_SHIPMENT_EXAMPLE]}),
            "responses": {"200": json_body(ref("BatchResult"), "Per-item outcome.", replayed),
                          **problem_responses(401, 409, 413, 415, 422, 429, 503)}}},
        "/v1/shipments/{tracking_number}": {"get": {
            "tags": ["shipments"], "summary": "A shipment with its history", "operationId": "getShipment",
            "parameters": tn,
            "responses": {"200": json_body(ref("ShipmentWithHistory"), "The shipment."),
                          **problem_responses(401, 404, 429, 503)}}},
        "/v1/shipments/{tracking_number}/cancel": {"post": {
            "tags": ["shipments"], "summary": "Cancel a shipment not yet accepted by the post",
            "description": "Any request body is ignored (it only counts towards the Idempotency-Key fingerprint).",
            "operationId": "cancelShipment", "parameters": tn + idem,
            "responses": {"200": json_body(ref("ShipmentWithHistory"), "Cancelled.", replayed),
                          **problem_responses(401, 404, 409, 413, 422, 429, 503)}}},
    }


def fragment(limits: Limits) -> dict[str, Any]:
    """The booking operations and the components they name, for the gateway's document (gateway.openapi)."""
    return {"paths": _paths(limits), "components": _components(limits)}
