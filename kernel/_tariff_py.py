# cython: annotation_typing=False, boundscheck=True, wraparound=True
"""Pricing one postal item from a tariff's numbers: the one place the tariff's arithmetic and refusals are written.

``Tariff`` (``tariff.py``) reads and checks ``tariff.toml`` and ``limits.toml`` and builds a ``PriceTable``; every
price, the booking's and the quote endpoint's, is ``PriceTable.quote``. ``Tariff`` only turns a refusal code into
its explained error.

One source, two builds, as aiohttp builds its websocket reader: this file is the pure-Python kernel
(``kernel._tariff_py``), and ``kernel/_tariff_c.py``, a symlink to it, is compiled by Cython with the types in
``_tariff_c.pxd`` (C integers for the arithmetic). Keep it plain Python, without ``import cython``: the pure
kernel runs where Cython is not installed. Integers stay below 2**62 (``PriceTable`` refuses a tariff whose
numbers could pass it), so C's 64-bit arithmetic and Python's give the same answers.
"""

from __future__ import annotations

from typing import Any

# Why a price is refused: the error code ``Tariff`` raises.
SERVICE_UNKNOWN = "service_unknown"
ZONE_UNKNOWN = "zone_unknown"
WEIGHT_INVALID = "weight_invalid"
WEIGHT_OVER_LIMIT = "weight_over_limit"
COD_VALUE_OUT_OF_RANGE = "cod_value_out_of_range"
DECLARED_VALUE_OUT_OF_RANGE = "declared_value_out_of_range"

_AMOUNT_LIMIT = 2**62  # any amount, and amount x rate, of a table stays below: checked once, in __init__
_INT64_MAX = 2**63 - 1


class PriceTable:
    """A tariff's numbers, flattened once: ``services`` maps a service to (weight band bounds in g, zone -> price
    of each band, zone -> price per started kg over the last band or None, max weight g, max declared value).
    ValueError for numbers too large to price exactly with 64-bit integers."""

    def __init__(self, services: dict[str, tuple], vat_bp: int, cod_fee_bp: int, cod_fee_min: int, cod_fee_max: int,
                 cod_low: int, cod_high: int, insurance_bp: int, insurance_min: int, sms_fee: int = 0) -> None:
        self.services = {name: (tuple(bounds), {zone: tuple(row) for zone, row in prices.items()},
                                dict(extra) if extra is not None else None, max_weight, max_declared)
                         for name, (bounds, prices, extra, max_weight, max_declared) in services.items()}
        self.vat_bp, self.cod_fee_bp, self.cod_fee_min, self.cod_fee_max = vat_bp, cod_fee_bp, cod_fee_min, cod_fee_max
        self.cod_low, self.cod_high = cod_low, cod_high
        self.insurance_bp, self.insurance_min = insurance_bp, insurance_min
        self.sms_fee = sms_fee
        _check_fits(self.services, vat_bp, cod_fee_bp, cod_fee_max, cod_high, insurance_bp, insurance_min, sms_fee)

    def quote(self, service: Any, weight_g: Any, zone: Any, cod_goods_value: Any, declared_value: Any,
              sms: Any = False) -> dict[str, int | str] | str:
        """The price breakdown (base, cod_fee, insurance, [sms,] vat, total, currency), or the code of the refusal.
        cod_goods_value None means no cash on delivery; declared_value None or 0, no insurance; sms true adds the
        buyer-SMS add-on's line (a shop with SMS turned on)."""
        rates = self.services.get(service)
        if rates is None:
            return SERVICE_UNKNOWN
        bounds, zone_prices, extra, max_weight, max_declared = rates
        prices = zone_prices.get(zone)
        if prices is None:
            return ZONE_UNKNOWN
        if type(weight_g) is not int:  # not a bool either: True is no weight
            return WEIGHT_INVALID
        weight = _clamped(weight_g)
        if weight <= 0:
            return WEIGHT_INVALID
        if weight > max_weight:
            return WEIGHT_OVER_LIMIT
        band = 0
        nbands = len(bounds)
        while band < nbands and bounds[band] < weight:  # the first band whose inclusive bound holds the weight
            band += 1
        if band < nbands:
            base = prices[band]
        elif extra is None:  # a table Tariff builds never gets here: it refuses bands that stop short of the limit
            return WEIGHT_OVER_LIMIT
        else:  # per started kg over the last band
            base = prices[nbands - 1] + (weight - bounds[nbands - 1] + 999) // 1000 * extra[zone]
        cod_fee = 0
        if cod_goods_value is not None:
            if type(cod_goods_value) is not int:
                return COD_VALUE_OUT_OF_RANGE
            amount = _clamped(cod_goods_value)
            if amount < self.cod_low or amount > self.cod_high:
                return COD_VALUE_OUT_OF_RANGE
            cod_fee = min(max(_rate(amount, self.cod_fee_bp), self.cod_fee_min), self.cod_fee_max)
        insurance = 0
        if declared_value is not None:
            if type(declared_value) is not int:
                return DECLARED_VALUE_OUT_OF_RANGE
            amount = _clamped(declared_value)
            if amount < 0 or amount > max_declared:
                return DECLARED_VALUE_OUT_OF_RANGE
            if amount:
                insurance = max(_rate(amount, self.insurance_bp), self.insurance_min)
        sms_fee = self.sms_fee if sms else 0
        net = base + cod_fee + insurance + sms_fee
        vat = _rate(net, self.vat_bp)  # VAT is charged on the postage and every fee
        if sms:
            return {"base": base, "cod_fee": cod_fee, "insurance": insurance, "sms": sms_fee, "vat": vat,
                    "total": net + vat, "currency": "IRR"}
        return {"base": base, "cod_fee": cod_fee, "insurance": insurance, "vat": vat, "total": net + vat,
                "currency": "IRR"}


def _rate(amount: int, rate_bp: int) -> int:
    """amount x rate in basis points, rounded half up to the rial (both are never negative here)."""
    return (amount * rate_bp + 5_000) // 10_000


def _clamped(value: int) -> int:
    """value; compiled, one beyond 64 bits becomes the nearest 64-bit integer, which every bound refuses alike."""
    try:
        n = value
    except OverflowError:
        n = -_INT64_MAX if value < 0 else _INT64_MAX
    return n


def _check_fits(services: dict[str, tuple], vat_bp: int, cod_fee_bp: int, cod_fee_max: int, cod_high: int,
                insurance_bp: int, insurance_min: int, sms_fee: int = 0) -> None:
    """ValueError unless every amount, and amount x rate, the table can meet stays below _AMOUNT_LIMIT (bounds
    from above, in Python's integers: compiled, _rate would overflow on the numbers it is here to refuse)."""
    for name, (bounds, prices, extra, max_weight, max_declared) in services.items():
        base = max(row[-1] for row in prices.values())
        if extra is not None and max_weight > bounds[-1]:
            base += (max_weight - bounds[-1] + 999) // 1000 * max(extra.values())
        net = base + cod_fee_max + max_declared * insurance_bp // 10_000 + 1 + insurance_min + sms_fee
        products = (max_declared * insurance_bp, cod_high * cod_fee_bp, net * vat_bp, net + net * vat_bp // 10_000 + 1)
        if max(products) >= _AMOUNT_LIMIT or min(*products, vat_bp, cod_fee_bp, insurance_bp, sms_fee) < 0:
            raise ValueError(f"the tariff's amounts for {name} are too large to price exactly")
