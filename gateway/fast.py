"""The booking hot path's kernels: the compiled ``gateway._fast``, or its pure-Python twin ``gateway._fast_py``
(same functions, same results, slower), chosen by ``gateway.extensions``."""

from __future__ import annotations

from .extensions import load_kernels

kernels = load_kernels("gateway._fast", "gateway._fast_py")
COMPILED = kernels.__name__ == "gateway._fast"

ShipmentRules = kernels.ShipmentRules
canonical_shipment = kernels.canonical_shipment
pack_commands = kernels.pack_commands
PriceTable = kernels.PriceTable
s10_number = kernels.s10_number
iso_ms = kernels.iso_ms
