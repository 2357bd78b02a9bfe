"""The gateway's kernels, one module per concern, each compiled or pure Python as ``kernel.extensions`` decides.

    tariff     ``PriceTable``: every price and its refusals       _tariff_py.py, compiled as _tariff_c (+ .pxd)
    shipment   ``ShipmentRules``, ``canonical_shipment``          _shipment_py.py, compiled as _shipment_c (+ .pxd)
    s10        ``check_digit``, ``s10_number``                   _s10_py.py, compiled as _s10_c (+ .pxd)
    resp       ``pack_commands``                                  _resp.pyx; twin _resp_py.py (hiredis)
    isotime    ``iso_ms``                                         _isotime.pyx; twin _isotime_py.py (strftime)

The first three are one Python source each, built twice (the ``*_c.py`` files are symlinks to the ``*_py.py``
ones, typed by their ``.pxd``), as aiohttp builds its websocket reader. The last two are protocol and format
encoders whose twins are the reference libraries they must match.
"""

from __future__ import annotations

from .extensions import load_kernels

tariff = load_kernels("kernel._tariff_c", "kernel._tariff_py")
shipment = load_kernels("kernel._shipment_c", "kernel._shipment_py")
s10 = load_kernels("kernel._s10_c", "kernel._s10_py")
resp = load_kernels("kernel._resp", "kernel._resp_py")
isotime = load_kernels("kernel._isotime", "kernel._isotime_py")
KERNELS = {"tariff": tariff, "shipment": shipment, "s10": s10, "resp": resp, "isotime": isotime}
COMPILED = all(not module.__name__.endswith("_py") for module in KERNELS.values())

ShipmentRules = shipment.ShipmentRules
canonical_shipment = shipment.canonical_shipment
pack_commands = resp.pack_commands
PriceTable = tariff.PriceTable
check_digit = s10.check_digit
s10_number = s10.s10_number
iso_ms = isotime.iso_ms
