# cython: annotation_typing=False, boundscheck=True, wraparound=True
"""The booking's fast check, written once: accept a booking that is valid and already canonical, else defer.

``canonical_shipment`` accepts what a shop's software almost always sends, a booking that is valid and already in
canonical form (phone and postal code digits may be Persian or Arabic-Indic: it translates them, as the validator
does), and returns it without the validator's machinery; anything else (an error, a value the validator would
rewrite, a field this check does not cover) returns None and the full validator (``validation.py``) decides and
explains. The tests drive both against each other.

One source, two builds: this file is the pure-Python kernel (``kernel._shipment_py``), and
``kernel/_shipment_c.py``, a symlink to it, is compiled by Cython with the types in ``_shipment_c.pxd``, so the
character loops below walk each string's code points in C. Keep it plain Python, without ``import cython``.
"""

from __future__ import annotations

from typing import Any

from kernel.postal.text import normalize_digits

_DIMENSIONS = ("length_mm", "width_mm", "height_mm")


class ShipmentRules:
    """The limits of a booking, flattened once for ``canonical_shipment``.

    ``services`` maps a service name to (max weight g, max side mm, max length plus girth mm, max declared value
    rial); ``text_max`` is (name, address, city, contents) maximum lengths; ``regions`` is (n, the first n digits
    of a postal code -> the province they belong to).
    """

    def __init__(self, client_order_id_max_len: int, cod_min: int, cod_max: int,
                 services: dict[str, tuple[int, int, int, int]], provinces: frozenset[str],
                 text_max: tuple[int, int, int, int], regions: tuple[int, dict[str, str]]) -> None:
        self.client_order_id_max_len = client_order_id_max_len
        self.cod_min = cod_min
        self.cod_max = cod_max
        self.services = dict(services)
        self.provinces = frozenset(provinces)
        self.name_max, self.address_max, self.city_max, self.contents_max = text_max
        self.region_digits, self.regions = regions[0], dict(regions[1])


def _clean_text(value: Any, max_len: int) -> bool:
    """True when normalize_text(value, max_len) would return value itself."""
    if type(value) is not str:
        return False
    text: str = value
    n = len(text)
    if n == 0 or n > max_len:
        return False
    prev = " "  # a space before the first character: an edge counts as one
    for c in text:
        if c == " ":
            if prev == " " or prev == "\u200c":  # doubled or leading space, or a ZWNJ before a space
                return False
        elif c == "\u200c":  # Persian spelling needs the zero-width non-joiner, but only between two letters
            if prev == " " or prev == "\u200c":  # at the start, after a space, or doubled
                return False
        elif c == "\u0640" or c == "\u0643" or c == "\u0649" or c == "\u064a":  # tatweel, Arabic kaf and yehs
            return False
        elif c != "\u200d" and not c.isprintable():
            return False
        prev = c
    return prev != " " and prev != "\u200c"


def _ascii_number(value: Any, n: int) -> str | None:
    """n digits in ASCII, Persian or Arabic-Indic script, as ASCII (the same str when it already is); else None."""
    if type(value) is not str:
        return None
    text: str = value
    if len(text) != n:
        return None
    for c in text:
        if c < "0" or c > "9":
            break
    else:
        return text
    text = normalize_digits(text)  # shops' forms often send Persian digits: translated as the validator does
    return text if text.isascii() and text.isdigit() else None


def _postal_code(code: str) -> bool:
    # The rule of postal.normalize_postal_code for ten ASCII digits, spelled out: no 0 or 2 in the first four
    # digits and not all four equal, the fifth not 0, 2 or 5, no 2 in the last five.
    for i in range(4):
        c = code[i]
        if c == "0" or c == "2":
            return False
    if code[0] == code[1] and code[1] == code[2] and code[2] == code[3]:
        return False
    c = code[4]
    if c == "0" or c == "2" or c == "5":
        return False
    for i in range(5, 10):
        if code[i] == "2":
            return False
    return True


def _int_in(value: Any, lo: int, hi: int) -> bool:
    return type(value) is int and lo <= value <= hi


def _receiver(value: Any, rules: ShipmentRules) -> dict[str, str] | None:
    if type(value) is not dict:
        return None
    d: dict = value
    if "location" in d:
        return None
    name, province, city, address = d.get("name"), d.get("province"), d.get("city"), d.get("address")
    phone, postal_code = _ascii_number(d.get("phone"), 11), _ascii_number(d.get("postal_code"), 10)
    if not (_clean_text(name, rules.name_max) and phone is not None and phone.startswith("09")
            and postal_code is not None and _postal_code(postal_code) and type(province) is str
            and province in rules.provinces and _clean_text(city, rules.city_max)
            and _clean_text(address, rules.address_max)):
        return None
    if rules.regions.get(postal_code[:rules.region_digits]) != province:  # the validator explains the contradiction
        return None
    return {"name": name, "phone": phone, "postal_code": postal_code, "province": province, "city": city,
            "address": address}


def _payment(value: Any, rules: ShipmentRules) -> dict[str, Any] | None:
    if type(value) is not dict:
        return None
    d: dict = value
    kind = d.get("type")
    if type(kind) is not str:
        return None
    if kind == "prepaid":
        return {"type": "prepaid"}
    if kind == "cod":
        goods_value = d.get("goods_value")
        if _int_in(goods_value, rules.cod_min, rules.cod_max):
            return {"type": "cod", "goods_value": goods_value}
    return None


def _parcel(value: Any, limits: tuple[int, int, int, int], rules: ShipmentRules) -> dict[str, Any] | None:
    if type(value) is not dict:
        return None
    d: dict = value
    max_weight, max_side, max_girth, max_declared = limits
    weight = d.get("weight_g")
    if not _int_in(weight, 1, max_weight):
        return None
    parcel = {"weight_g": weight}
    count = side_sum = longest = 0
    for dim in _DIMENSIONS:
        side = d.get(dim)
        if side is not None:
            if not _int_in(side, 1, max_side):
                return None
            parcel[dim] = side
            length = side
            count += 1
            side_sum += length
            if length > longest:
                longest = length
    if count == 3 and longest + 2 * (side_sum - longest) > max_girth:
        return None
    declared = d.get("declared_value")
    if declared is not None:
        if not _int_in(declared, 0, max_declared):
            return None
        parcel["declared_value"] = declared
    contents = d.get("contents")
    if contents is not None:
        if not _clean_text(contents, rules.contents_max):
            return None
        parcel["contents"] = contents
    return parcel


def canonical_shipment(body: Any, rules: ShipmentRules) -> tuple[str, str, dict, dict, dict, bool] | None:
    """(client_order_id, service, payment, receiver, parcel, another_parcel_of_order) exactly as
    RequestValidator.shipment would make them, when ``body`` is a valid booking already in canonical form (but for
    Persian or Arabic-Indic digits in phone and postal code) that uses the shop's own sender; else None."""
    if type(body) is not dict:
        return None
    b: dict = body
    if b.get("sender") is not None:
        return None
    order_id = b.get("client_order_id")
    if type(order_id) is not str:
        return None
    oid: str = order_id
    n = len(oid)
    if n == 0 or n > rules.client_order_id_max_len or oid[0].isspace() or oid[n - 1].isspace():
        return None
    if not oid.isprintable():  # control characters: the validator strips them
        return None
    another = b.get("another_parcel_of_order")
    if another is None:
        another = False
    elif type(another) is not bool:
        return None
    service = b.get("service")
    if type(service) is not str:
        return None
    limits = rules.services.get(service)
    if limits is None:
        return None
    payment = _payment(b.get("payment"), rules)
    if payment is None:
        return None
    receiver = _receiver(b.get("receiver"), rules)
    if receiver is None:
        return None
    parcel = _parcel(b.get("parcel"), limits, rules)
    if parcel is None:
        return None
    return oid, service, payment, receiver, parcel, another
