"""Pure-Python twin of ``gateway/_fast.pyx``: the same functions, the same results, slower.

``canonical_shipment`` accepts what a shop's software almost always sends, a booking that is valid and already in
canonical form (phone and postal code digits may be Persian or Arabic-Indic: it translates them, as the validator
does), and returns it without the validator's machinery; anything else (an error, a value the validator
would rewrite, a field this check does not cover) returns None and the full validator decides and explains.
``PriceTable.quote`` is ``Tariff.quote`` for what a booking nearly always asks, and None where the tariff has to
explain a refusal. ``s10_number`` and ``iso_ms`` format a tracking number and a timestamp, which every booking
and scan does. ``pack_commands`` is the RESP encoding of a batch of store commands.
"""

from __future__ import annotations

import bisect
import re
import time
from typing import Any

import hiredis

from kernel.postal.text import normalize_digits

_ZWNJ = "\u200c"
_ZWJ = "\u200d"
# What normalize_text would rewrite in printable text: Arabic letters, tatweel, doubled spaces.
_NEEDS_NORMALISING = re.compile("[\u0640\u0643\u0649\u064a]|  ")
# A ZWNJ normalize_text would drop or merge: next to a space, at an edge, or doubled.
_LOOSE_ZWNJ = re.compile(f"^{_ZWNJ}|{_ZWNJ}$| {_ZWNJ}|{_ZWNJ} |{_ZWNJ}{_ZWNJ}")
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
    if type(value) is not str or not 0 < len(value) <= max_len or value[0] == " " or value[-1] == " ":
        return False
    if _NEEDS_NORMALISING.search(value) is not None:
        return False
    if value.isprintable():
        return True
    # Persian spelling needs the zero-width non-joiner; it is kept where it joins two letters.
    return (value.replace(_ZWNJ, "").replace(_ZWJ, "").isprintable()
            and _LOOSE_ZWNJ.search(value) is None)


def _ascii_number(value: Any, n: int) -> str | None:
    """n digits in ASCII, Persian or Arabic-Indic script, as ASCII (the same str when it already is); else None."""
    if type(value) is not str or len(value) != n:
        return None
    if not value.isascii():
        value = normalize_digits(value)
    return value if value.isascii() and value.isdigit() else None


def _postal_code(value: str) -> bool:
    # The rule of postal.normalize_postal_code for ten ASCII digits, spelled out: no 0 or 2 in the first four
    # digits and not all four equal, the fifth not 0, 2 or 5, no 2 in the last five.
    head = value[:4]
    return ("0" not in head and "2" not in head and head != head[0] * 4 and value[4] not in "025"
            and "2" not in value[5:])


def _int_in(value: Any, lo: int, hi: int) -> bool:
    return type(value) is int and lo <= value <= hi


def _receiver(value: Any, rules: ShipmentRules) -> dict[str, str] | None:
    if type(value) is not dict or "location" in value:
        return None
    name, province, city, address = value.get("name"), value.get("province"), value.get("city"), value.get("address")
    # Shops' forms often send Persian digits: translated here as the validator would translate them.
    phone, postal_code = _ascii_number(value.get("phone"), 11), _ascii_number(value.get("postal_code"), 10)
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
    kind = value.get("type")
    if type(kind) is not str:
        return None
    if kind == "prepaid":
        return {"type": "prepaid"}
    if kind == "cod":
        goods_value = value.get("goods_value")
        if _int_in(goods_value, rules.cod_min, rules.cod_max):
            return {"type": "cod", "goods_value": goods_value}
    return None


def _parcel(value: Any, limits: tuple[int, int, int, int], rules: ShipmentRules) -> dict[str, Any] | None:
    if type(value) is not dict:
        return None
    max_weight, max_side, max_girth, max_declared = limits
    weight = value.get("weight_g")
    if not _int_in(weight, 1, max_weight):
        return None
    parcel: dict[str, Any] = {"weight_g": weight}
    sides = []
    for dim in _DIMENSIONS:
        side = value.get(dim)
        if side is not None:
            if not _int_in(side, 1, max_side):
                return None
            parcel[dim] = side
            sides.append(side)
    if len(sides) == 3:
        longest = max(sides)
        if longest + 2 * (sum(sides) - longest) > max_girth:
            return None
    declared = value.get("declared_value")
    if declared is not None:
        if not _int_in(declared, 0, max_declared):
            return None
        parcel["declared_value"] = declared
    contents = value.get("contents")
    if contents is not None:
        if not _clean_text(contents, rules.contents_max):
            return None
        parcel["contents"] = contents
    return parcel


def canonical_shipment(body: Any, rules: ShipmentRules) -> tuple[str, str, dict, dict, dict, bool] | None:
    """(client_order_id, service, payment, receiver, parcel, another_parcel_of_order) exactly as
    RequestValidator.shipment would make them, when ``body`` is a valid booking already in canonical form (but for
    Persian or Arabic-Indic digits in phone and postal code) that uses the shop's own sender; else None."""
    if type(body) is not dict or body.get("sender") is not None:
        return None
    order_id = body.get("client_order_id")
    if (type(order_id) is not str or not 0 < len(order_id) <= rules.client_order_id_max_len
            or order_id[0].isspace() or order_id[-1].isspace() or not order_id.isprintable()):
        return None
    another = body.get("another_parcel_of_order")
    if another is None:
        another = False
    elif type(another) is not bool:
        return None
    service = body.get("service")
    limits = rules.services.get(service) if type(service) is str else None
    if limits is None:
        return None
    payment = _payment(body.get("payment"), rules)
    if payment is None:
        return None
    receiver = _receiver(body.get("receiver"), rules)
    if receiver is None:
        return None
    parcel = _parcel(body.get("parcel"), limits, rules)
    if parcel is None:
        return None
    return order_id, service, payment, receiver, parcel, another


def pack_commands(commands: list[tuple]) -> bytes:
    """The RESP encoding of the commands, back to back (arguments: str, bytes, int or float; else TypeError)."""
    return b"".join(map(hiredis.pack_command, commands))


class PriceTable:
    """A tariff's numbers, flattened once: ``services`` maps a service to (weight band bounds in g, zone -> price
    of each band, zone -> price per started kg over the last band or None, max weight g, max declared value)."""

    def __init__(self, services: dict[str, tuple], vat_bp: int, cod_fee_bp: int, cod_fee_min: int, cod_fee_max: int,
                 cod_low: int, cod_high: int, insurance_bp: int, insurance_min: int) -> None:
        self.services = dict(services)
        self.vat_bp, self.cod_fee_bp, self.cod_fee_min, self.cod_fee_max = vat_bp, cod_fee_bp, cod_fee_min, cod_fee_max
        self.cod_low, self.cod_high = cod_low, cod_high
        self.insurance_bp, self.insurance_min = insurance_bp, insurance_min

    def quote(self, service: Any, weight_g: Any, zone: Any, cod_goods_value: Any, declared_value: Any
              ) -> dict[str, int | str] | None:
        """The price breakdown ``Tariff.quote`` gives, as its ``to_dict()``; None for anything it would refuse."""
        rates = self.services.get(service)
        if rates is None:
            return None
        bounds, zone_prices, extra, max_weight, max_declared = rates
        prices = zone_prices.get(zone)
        if prices is None or type(weight_g) is not int or not 0 < weight_g <= max_weight:
            return None
        band = bisect.bisect_left(bounds, weight_g)
        if band < len(bounds):
            base = prices[band]
        elif extra is None:
            return None
        else:
            base = prices[-1] + -(-(weight_g - bounds[-1]) // 1000) * extra[zone]
        cod_fee = insurance = 0
        if cod_goods_value is not None:
            if type(cod_goods_value) is not int or not self.cod_low <= cod_goods_value <= self.cod_high:
                return None
            cod_fee = min(max(_rate(cod_goods_value, self.cod_fee_bp), self.cod_fee_min), self.cod_fee_max)
        if declared_value is not None:
            if type(declared_value) is not int or not 0 <= declared_value <= max_declared:
                return None
            if declared_value:
                insurance = max(_rate(declared_value, self.insurance_bp), self.insurance_min)
        net = base + cod_fee + insurance
        vat = _rate(net, self.vat_bp)
        return {"base": base, "cod_fee": cod_fee, "insurance": insurance, "vat": vat, "total": net + vat,
                "currency": "IRR"}


def _rate(amount: int, rate_bp: int) -> int:
    return (amount * rate_bp + 5_000) // 10_000  # rounded half up


_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def s10_number(indicator: str, serial: int, country: str) -> str:
    """indicator, the 8-digit serial, its check digit (UPU S10, see ``gateway/s10.py``) and country."""
    if not 0 <= serial <= 99_999_999:
        raise ValueError(f"S10 serial must be 0..99999999, got {serial}")
    digits = f"{serial:08d}"
    c = 11 - sum(w * int(d) for w, d in zip(_S10_WEIGHTS, digits)) % 11
    return f"{indicator}{digits}{0 if c == 10 else 5 if c == 11 else c}{country}"


def iso_ms(ts: float) -> str:
    """ts (seconds since the epoch) as ISO 8601 in UTC with milliseconds and a Z."""
    ms = int(ts * 1000)
    sec, frac = divmod(ms, 1000)
    global _last
    last_sec, prefix = _last  # one tuple, replaced whole: safe to share between threads
    if sec != last_sec:  # most stamps share their second with the previous one
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        _last = (sec, prefix)
    return "%s.%03dZ" % (prefix, frac)


_last: tuple[int | None, str] = (None, "")
