"""Business limits (``data/limits.toml``) and domestic postage pricing (``data/tariff.toml``).

Both files are read once at start-up; ``Tariff.quote`` then runs on every booking with no I/O and integer
arithmetic only. Money is integer rials. A rate is in basis points and applied as round half up to the rial,
``(amount * rate_bp + 5_000) // 10_000``. VAT is charged on base + cod_fee + insurance. The pricing rules are
written once, in the price table kernel (``_tariff_py.py``); this module loads and checks the data and explains
a refusal.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from kernel import fast
from kernel.errors import RuleViolation
from kernel.postal.text import place_match_key

_DATA_DIR = Path(__file__).with_name("data")
LIMITS_PATH = _DATA_DIR / "limits.toml"
TARIFF_PATH = _DATA_DIR / "tariff.toml"

SAME_CITY = "same_city"
SAME_PROVINCE = "same_province"
OTHER_PROVINCE = "other_province"
ZONES = (SAME_CITY, SAME_PROVINCE, OTHER_PROVINCE)  # cheapest first: prices must not decrease along it



class TariffError(RuleViolation):
    """A quote request outside what the tariff and limits allow (the ``code`` says which)."""

    title = "Cannot price this item"


class TariffDataError(ValueError):
    """limits.toml or tariff.toml is inconsistent: a deployment error, raised at start-up, never per request."""


def _int(table: Mapping[str, Any], key: str, where: str, *, minimum: int = 0) -> int:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise TariffDataError(f"{where}.{key} must be an integer >= {minimum}, got {value!r}")
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


# --- limits ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceLimits:
    s10_indicator: str
    max_weight_g: int
    max_declared_value_rial: int
    max_side_mm: int
    max_length_plus_girth_mm: int


@dataclass(frozen=True)
class Limits:
    services: Mapping[str, ServiceLimits]
    cod_min_goods_value_rial: int
    cod_max_goods_value_rial: int
    batch_max_items: int
    client_order_id_max_len: int
    request_max_body_bytes: int

    @classmethod
    def load(cls, path: Path | str | None = None) -> Limits:
        """The limits in path; the packaged limits.toml (read once, then shared) when path is None."""
        return _default_limits() if path is None else cls._from_file(Path(path))

    @classmethod
    def _from_file(cls, path: Path) -> Limits:
        data = _read_toml(path)
        services = {}
        for name, table in data.get("services", {}).items():
            where = f"{path.name}: services.{name}"
            indicator = table.get("s10_indicator")
            if not (isinstance(indicator, str) and len(indicator) == 2 and indicator.isascii() and indicator.isupper()):
                raise TariffDataError(f"{where}.s10_indicator must be two upper-case letters, got {indicator!r}")
            services[name] = ServiceLimits(
                s10_indicator=indicator,
                max_weight_g=_int(table, "max_weight_g", where, minimum=1),
                max_declared_value_rial=_int(table, "max_declared_value_rial", where),
                max_side_mm=_int(table, "max_side_mm", where, minimum=1),
                max_length_plus_girth_mm=_int(table, "max_length_plus_girth_mm", where, minimum=1),
            )
        if not services:
            raise TariffDataError(f"{path.name}: no [services.*] tables")
        indicators = [s.s10_indicator for s in services.values()]
        if len(set(indicators)) != len(indicators):  # the indicator is what tells services apart in a tracking number
            raise TariffDataError(f"{path.name}: services share an s10_indicator: {indicators}")
        cod, shipments, http = data.get("cod", {}), data.get("shipments", {}), data.get("http", {})
        limits = cls(
            services=MappingProxyType(services),
            cod_min_goods_value_rial=_int(cod, "min_goods_value_rial", f"{path.name}: cod", minimum=1),
            cod_max_goods_value_rial=_int(cod, "max_goods_value_rial", f"{path.name}: cod", minimum=1),
            batch_max_items=_int(shipments, "batch_max_items", f"{path.name}: shipments", minimum=1),
            client_order_id_max_len=_int(shipments, "client_order_id_max_len", f"{path.name}: shipments", minimum=1),
            request_max_body_bytes=_int(http, "request_max_body_bytes", f"{path.name}: http", minimum=1),
        )
        if limits.cod_min_goods_value_rial > limits.cod_max_goods_value_rial:
            raise TariffDataError(f"{path.name}: cod.min_goods_value_rial exceeds cod.max_goods_value_rial")
        return limits

    def service(self, name: str) -> ServiceLimits:
        limits = self.services.get(name)
        if limits is None:
            raise _unknown_service(self.services)
        return limits


@functools.cache
def _default_limits() -> Limits:
    return Limits._from_file(LIMITS_PATH)


def _unknown_service(known: Mapping[str, object]) -> TariffError:
    # The rejected value is not echoed: it is client input of any length.
    names = ", ".join(sorted(known))
    return TariffError(
        "service_unknown",
        f"Unknown postal service; expected one of: {names}.",
        f"سرویس پستی ناشناخته است؛ یکی از این‌ها را انتخاب کنید: {names}.",
    )


# --- zones ----------------------------------------------------------------------------------------------------


def zone_of(sender: dict, receiver: dict) -> str:
    """same_city, same_province or other_province for two parties the validator normalised (canonical province
    names, clean city text); cities compare spelling-insensitively ("بندر عباس" is "بندرعباس")."""
    if sender["province"] != receiver["province"]:
        return OTHER_PROVINCE
    if place_match_key(sender["city"]) == place_match_key(receiver["city"]):
        return SAME_CITY
    return SAME_PROVINCE


# --- pricing --------------------------------------------------------------------------------------------------


class PriceBreakdown(NamedTuple):  # a tuple, not a frozen dataclass: made on every quote and booking
    base: int
    cod_fee: int
    insurance: int
    vat: int
    total: int
    currency: str = "IRR"

    def to_dict(self) -> dict[str, int | str]:
        return {
            "base": self.base,
            "cod_fee": self.cod_fee,
            "insurance": self.insurance,
            "vat": self.vat,
            "total": self.total,
            "currency": self.currency,
        }


@dataclass(frozen=True)
class _ServiceRates:
    """One service's bands as parallel sorted arrays (the price table walks them)."""

    bounds_g: tuple[int, ...]  # ascending band upper bounds, inclusive
    prices: Mapping[str, tuple[int, ...]]  # zone -> price of each band
    per_extra_kg: Mapping[str, int] | None  # zone -> price per started kg over the last bound
    limits: ServiceLimits


def _read_service_rates(table: Mapping[str, Any], limits: ServiceLimits, where: str) -> _ServiceRates:
    bands = table.get("bands")
    if not isinstance(bands, list) or not bands:
        raise TariffDataError(f"{where}.bands must be a non-empty array")
    bounds = tuple(_int(band, "max_g", f"{where}.bands[{i}]", minimum=1) for i, band in enumerate(bands))
    if any(a >= b for a, b in zip(bounds, bounds[1:])):
        raise TariffDataError(f"{where}.bands: max_g must strictly increase, got {bounds}")
    prices = {
        zone: tuple(_int(band, zone, f"{where}.bands[{i}]", minimum=1) for i, band in enumerate(bands))
        for zone in ZONES
    }
    for zone, row in prices.items():
        if any(a > b for a, b in zip(row, row[1:])):
            raise TariffDataError(f"{where}: {zone} prices fall as weight rises: {row}")
    for i, band_prices in enumerate(zip(*(prices[zone] for zone in ZONES))):
        if list(band_prices) != sorted(band_prices):
            raise TariffDataError(f"{where}.bands[{i}]: a farther zone is cheaper than a nearer one")
    per_extra_kg = None
    if "per_extra_kg" in table:
        extra = table["per_extra_kg"]
        per_extra_kg = MappingProxyType({zone: _int(extra, zone, f"{where}.per_extra_kg", minimum=1) for zone in ZONES})
    elif limits.max_weight_g > bounds[-1]:  # weights between the last band and the limit would have no price
        raise TariffDataError(
            f"{where}: bands stop at {bounds[-1]} g but limits allow {limits.max_weight_g} g and no per_extra_kg is set"
        )
    return _ServiceRates(bounds, MappingProxyType(prices), per_extra_kg, limits)


class Tariff:
    """Prices postal items. Build with Tariff.load(); instances are immutable and shared across requests."""

    def __init__(
        self,
        services: Mapping[str, _ServiceRates],
        limits: Limits,
        vat_bp: int,
        cod_fee_bp: int,
        cod_fee_min: int,
        cod_fee_max: int,
        insurance_bp: int,
        insurance_min: int,
        sms_fee: int = 0,
        return_fee_bp: int = 10_000,
    ) -> None:
        self._services = services
        self.limits = limits
        self._vat_bp = vat_bp
        self._cod_fee_bp = cod_fee_bp
        self._cod_fee_min = cod_fee_min
        self._cod_fee_max = cod_fee_max
        self._insurance_bp = insurance_bp
        self._insurance_min = insurance_min
        self.sms_fee = sms_fee
        self.return_fee_bp = return_fee_bp
        self._table = self.price_table()

    def price_table(self, table_type: type = fast.PriceTable) -> fast.PriceTable:
        """This tariff's numbers for the kernel that prices every quote and booking (``price``)."""
        try:
            return self._new_table(table_type)
        except ValueError as exc:  # numbers beyond exact 64-bit pricing: a deployment error
            raise TariffDataError(str(exc)) from None

    def _new_table(self, table_type: type) -> fast.PriceTable:
        return table_type(
            {name: (rates.bounds_g, dict(rates.prices), dict(rates.per_extra_kg) if rates.per_extra_kg else None,
                    rates.limits.max_weight_g, rates.limits.max_declared_value_rial)
             for name, rates in self._services.items()},
            self._vat_bp, self._cod_fee_bp, self._cod_fee_min, self._cod_fee_max,
            self.limits.cod_min_goods_value_rial, self.limits.cod_max_goods_value_rial, self._insurance_bp,
            self._insurance_min, self.sms_fee)

    @classmethod
    def load(cls, path: Path | str | None = None, limits: Limits | None = None) -> Tariff:
        """The tariff in path checked against limits; with neither given, the packaged files (read once, shared)."""
        if path is None and limits is None:
            return _default_tariff()
        return cls._from_file(Path(path) if path is not None else TARIFF_PATH, limits or Limits.load())

    @classmethod
    def _from_file(cls, path: Path, limits: Limits) -> Tariff:
        data = _read_toml(path)
        tables = data.get("services", {})
        if set(tables) != set(limits.services):
            raise TariffDataError(
                f"{path.name} prices {sorted(tables)} but limits define {sorted(limits.services)}; they must match"
            )
        services = {
            name: _read_service_rates(table, limits.services[name], f"{path.name}: services.{name}")
            for name, table in tables.items()
        }
        vat, cod, insurance = data.get("vat", {}), data.get("cod_fee", {}), data.get("insurance", {})
        tariff = cls(
            services=MappingProxyType(services),
            limits=limits,
            vat_bp=_int(vat, "rate_bp", f"{path.name}: vat"),
            cod_fee_bp=_int(cod, "rate_bp", f"{path.name}: cod_fee"),
            cod_fee_min=_int(cod, "min_rial", f"{path.name}: cod_fee"),
            cod_fee_max=_int(cod, "max_rial", f"{path.name}: cod_fee"),
            insurance_bp=_int(insurance, "rate_bp", f"{path.name}: insurance"),
            insurance_min=_int(insurance, "min_rial", f"{path.name}: insurance"),
            sms_fee=_int(data.get("sms", {"fee_rial": 0}), "fee_rial", f"{path.name}: sms"),
            return_fee_bp=_int(data.get("returns", {"fee_bp": 10_000}), "fee_bp", f"{path.name}: returns"),
        )
        if tariff._cod_fee_min > tariff._cod_fee_max:
            raise TariffDataError(f"{path.name}: cod_fee.min_rial exceeds cod_fee.max_rial")
        return tariff

    def return_fee(self, price: dict[str, Any]) -> dict[str, int | str]:
        """The fee of a parcel's way back to its shop, from a price breakdown of the way out (a return to sender:
        the booking's own; a buyer's return: a quote from the buyer to the shop): ``fee_bp`` of the base postage,
        with the VAT that breakdown charged on it (its VAT in proportion). The one rule; the ledger posts it."""
        base = int(price.get("base") or 0)
        fee = base * self.return_fee_bp // 10_000
        net = base + int(price.get("cod_fee") or 0) + int(price.get("insurance") or 0)
        vat = int(price.get("vat") or 0) * fee // net if net else 0
        return {"fee": fee, "vat": vat, "total": fee + vat, "currency": "IRR"}

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(self._services)

    def quote(
        self,
        service: str,
        weight_g: int,
        zone: str,
        cod_goods_value: int | None = None,
        declared_value: int | None = None,
    ) -> PriceBreakdown:
        """Price one item. cod_goods_value None means no cash on delivery; declared_value None or 0, no insurance."""
        p = self.price(service, weight_g, zone, cod_goods_value, declared_value)
        return PriceBreakdown(p["base"], p["cod_fee"], p["insurance"], p["vat"], p["total"])  # type: ignore[arg-type]

    def price(self, service: str, weight_g: int, zone: str, cod_goods_value: int | None = None,
              declared_value: int | None = None, sms: bool = False) -> dict[str, int | str]:
        """``quote(...).to_dict()``: the price table (``fast.PriceTable``, the one place the pricing rules are
        written) prices it or names the rule it breaks, and the refusal is explained here. ``sms``: the shop has
        buyer SMS on, so the breakdown carries the add-on's ``sms`` line."""
        breakdown = self._table.quote(service, weight_g, zone, cod_goods_value, declared_value, sms)
        if type(breakdown) is str:
            raise self._refusal(breakdown, service, weight_g)
        return breakdown

    def _refusal(self, code: str, service: str, weight_g: int) -> TariffError:
        if code == "service_unknown":
            return _unknown_service(self._services)
        if code == "zone_unknown":
            return TariffError(
                "zone_unknown",
                f"Unknown zone; expected one of: {', '.join(ZONES)}.",
                f"منطقهٔ ارسال ناشناخته است؛ یکی از این‌ها را انتخاب کنید: {', '.join(ZONES)}.",
            )
        if code == "weight_invalid":
            return TariffError(
                "weight_invalid",
                "Weight must be a positive whole number of grams.",
                "وزن باید عددی صحیح و مثبت به گرم باشد.",
            )
        limits = self._services[service].limits
        if code == "weight_over_limit":
            max_weight = limits.max_weight_g
            return TariffError(
                "weight_over_limit",
                f"Weight {weight_g} g is over this service's limit of {max_weight} g.",
                f"وزن {weight_g} گرم از سقف {max_weight} گرم این سرویس بیشتر است.",
            )
        if code == "cod_value_out_of_range":
            low, high = self.limits.cod_min_goods_value_rial, self.limits.cod_max_goods_value_rial
            return TariffError(
                "cod_value_out_of_range",
                f"Cash-on-delivery goods value must be a whole number of rials from {low} to {high}.",
                f"مبلغ کالای پرداخت در محل باید عددی صحیح بین {low} و {high} ریال باشد.",
            )
        high = limits.max_declared_value_rial  # declared_value_out_of_range
        return TariffError(
            "declared_value_out_of_range",
            f"Declared value must be a whole number of rials from 0 to {high}.",
            f"ارزش اظهارشده باید عددی صحیح بین ۰ و {high} ریال باشد.",
        )


@functools.cache
def _default_tariff() -> Tariff:
    return Tariff._from_file(TARIFF_PATH, Limits.load())
