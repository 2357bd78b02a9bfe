"""The router's kernels: the compiled ``routing._fast``, or its pure-Python twin ``routing._fast_py`` (same
functions, same results, much slower), chosen by ``kernel.extensions``."""

from __future__ import annotations

from kernel.extensions import load_kernels

kernels = load_kernels("routing._fast", "routing._fast_py")
COMPILED = kernels.__name__ == "routing._fast"

haversine_matrices = kernels.haversine_matrices
euclidean_matrix = kernels.euclidean_matrix
nearest_neighbours = kernels.nearest_neighbours
evaluate_routes = kernels.evaluate_routes
sisr = kernels.sisr
