"""Interface of the compiled kernels (``gateway/_fast.pyx``) and of their twin ``gateway/_fast_py.py``."""

from typing import Any

class ShipmentRules:
    """The limits of a booking, flattened once: ``services`` maps a service to (max weight g, max side mm, max
    length plus girth mm, max declared value rial); ``text_max`` is (name, address, city, contents)."""

    def __init__(self, client_order_id_max_len: int, cod_min: int, cod_max: int,
                 services: dict[str, tuple[int, int, int, int]], provinces: frozenset[str],
                 text_max: tuple[int, int, int, int]) -> None: ...

def canonical_shipment(body: Any, rules: ShipmentRules) -> tuple[str, str, dict, dict, dict] | None:
    """(client_order_id, service, payment, receiver, parcel) exactly as the validator would make them, for a valid
    booking already in canonical form that uses the shop's own sender; None for anything else."""

def pack_commands(commands: list[tuple]) -> bytes:
    """The RESP encoding of the commands, back to back (str, bytes, int or float arguments; else TypeError)."""
