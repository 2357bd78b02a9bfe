"""Interface of the compiled kernels (``gateway/_fast.pyx``) and of their twin ``gateway/_fast_py.py``."""

from typing import Any

class ShipmentRules:
    """The limits of a booking, flattened once: ``services`` maps a service to (max weight g, max side mm, max
    length plus girth mm, max declared value rial); ``text_max`` is (name, address, city, contents); ``regions`` is
    (n, the first n digits of a postal code -> its province)."""

    def __init__(self, client_order_id_max_len: int, cod_min: int, cod_max: int,
                 services: dict[str, tuple[int, int, int, int]], provinces: frozenset[str],
                 text_max: tuple[int, int, int, int], regions: tuple[int, dict[str, str]]) -> None: ...

def canonical_shipment(body: Any, rules: ShipmentRules) -> tuple[str, str, dict, dict, dict, bool] | None:
    """(client_order_id, service, payment, receiver, parcel, another_parcel_of_order) exactly as the validator
    would make them, for a valid booking already in canonical form (but for Persian or Arabic-Indic digits in phone
    and postal code) that uses the shop's own sender; None for anything else."""

class PriceTable:
    """A tariff's numbers, flattened once: ``services`` maps a service to (weight band bounds in g, zone -> price
    of each band, zone -> price per started kg over the last band or None, max weight g, max declared value)."""

    def __init__(self, services: dict[str, tuple], vat_bp: int, cod_fee_bp: int, cod_fee_min: int,
                 cod_fee_max: int, cod_low: int, cod_high: int, insurance_bp: int, insurance_min: int) -> None: ...
    def quote(self, service: Any, weight_g: Any, zone: Any, cod_goods_value: Any, declared_value: Any
              ) -> dict[str, int | str] | None:
        """``Tariff.quote(...).to_dict()`` for a quote the tariff accepts; None for anything it would refuse."""

def s10_number(indicator: str, serial: int, country: str) -> str:
    """indicator, the 8-digit serial, its check digit and country: an S10 tracking number (ValueError for a serial
    outside 0..99999999)."""

def iso_ms(ts: float) -> str:
    """ts (seconds since the epoch) as ISO 8601 in UTC with milliseconds and a Z."""

def pack_commands(commands: list[tuple]) -> bytes:
    """The RESP encoding of the commands, back to back (str, bytes, int or float arguments; else TypeError)."""
