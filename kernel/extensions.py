"""The one switch for the project's compiled kernels (``kernel.fast`` lists the gateway's, ``routing/_fast.pyx``).

Each compiled module has a pure-Python twin with the same functions and results (for most, the very source it
is compiled from). ``BARID_NO_EXTENSIONS=1``, or a
kernel that was not built, selects the twin.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType


def load_kernels(compiled: str, twin: str) -> ModuleType:
    """The module named ``compiled`` unless the switch is set or it cannot be imported; else ``twin``."""
    if not os.environ.get("BARID_NO_EXTENSIONS"):
        try:
            return importlib.import_module(compiled)
        except ImportError:  # not built: the twin is complete
            pass
    return importlib.import_module(twin)
