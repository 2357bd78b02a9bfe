"""The booking hot path's kernels: the compiled ``gateway._fast`` unless ``BARID_NO_EXTENSIONS=1`` is set or it
is not built, else the pure-Python twin ``gateway._fast_py`` (same functions, same results, slower)."""

from __future__ import annotations

import os

if os.environ.get("BARID_NO_EXTENSIONS"):
    from . import _fast_py as kernels
else:
    try:
        from . import _fast as kernels  # type: ignore[no-redef]
    except ImportError:  # not built: fall back, the twin is complete
        from . import _fast_py as kernels  # type: ignore[no-redef]

COMPILED = kernels.__name__.endswith("._fast")

ShipmentRules = kernels.ShipmentRules
canonical_shipment = kernels.canonical_shipment
pack_commands = kernels.pack_commands
