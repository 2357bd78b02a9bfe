"""The router's kernels: the compiled ``routing._fast`` unless ``BARID_NO_EXTENSIONS=1`` is set or it is not
built, else the pure-Python twin ``routing._fast_py`` (same functions, same results, much slower)."""

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

haversine_matrices = kernels.haversine_matrices
euclidean_matrix = kernels.euclidean_matrix
nearest_neighbours = kernels.nearest_neighbours
evaluate_routes = kernels.evaluate_routes
sisr = kernels.sisr
