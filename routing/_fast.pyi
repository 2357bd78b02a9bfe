"""Interface of the compiled kernels (``routing/_fast.pyx``) and of their twin ``routing/_fast_py.py``."""

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

def haversine_matrices(lat: NDArray[np.float64], lon: NDArray[np.float64], road_factor: float,
                       speed_mps: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Road metres and driving seconds between every pair of points (great circle × road factor)."""

def euclidean_matrix(x: ArrayLike, y: ArrayLike, scale: float, round_up: bool = False) -> NDArray[np.int64]:
    """round(scale × distance), or its ceiling with round_up."""

def nearest_neighbours(matrix: ArrayLike, k: int) -> NDArray[np.int32]:
    """Per node, its k nearest customers (never itself nor the depot 0), nearest first, ties by index."""

def evaluate_routes(offsets: ArrayLike, nodes: ArrayLike, distance: ArrayLike, duration: ArrayLike,
                    demand: ArrayLike, cod: ArrayLike, ready: ArrayLike, due: ArrayLike,
                    service: ArrayLike, pickup: ArrayLike | None = None
                    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Per route [distance, duration, peak load, cash, lateness] and each stop's service start."""

def sisr(distance: ArrayLike, duration: ArrayLike, demand: ArrayLike, cod: ArrayLike, ready: ArrayLike,
         due: ArrayLike, service: ArrayLike, capacity: int, cod_capacity: int, n_vehicles: int, fixed_cost: int,
         neighbours: ArrayLike, initial_routes: Sequence[Sequence[int]], params: Sequence[float], seed: int,
         time_limit_s: float, max_iterations: int, pickup: ArrayLike | None = None
         ) -> tuple[list[list[int]], int, int]:
    """Ruin-and-recreate (SISR) from the given routes: (best routes, their cost, iterations run)."""
