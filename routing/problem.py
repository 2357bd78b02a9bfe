"""The vehicle-routing problem the solver sees: integer matrices and per-node vectors, node 0 the depot."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidProblem

NO_LIMIT = 1 << 50  # "unbounded" that still leaves int64 room for sums


@dataclass(frozen=True, eq=False)
class Problem:
    """A homogeneous fleet leaving node 0 at ``ready[0]`` and back by ``due[0]``.

    ``distance`` is the cost (travel time for office days, scaled distance for benchmarks); ``duration`` the
    travel time used by time windows. Service at a node starts in [ready, due] (waiting allowed) and lasts
    ``service``. ``cod`` is a second capacity: cash on delivery a vehicle may collect, up to ``cod_capacity``.
    ``demand`` is delivered and ``pickup`` collected (mixed, not paired): a vehicle leaves with all its route's
    deliveries, the load falls at deliveries and rises at pickups, and stays within ``capacity`` throughout.
    """

    distance: np.ndarray
    duration: np.ndarray
    demand: np.ndarray
    ready: np.ndarray
    due: np.ndarray
    service: np.ndarray
    n_vehicles: int
    capacity: int
    cod: np.ndarray | None = None
    cod_capacity: int = NO_LIMIT
    vehicle_fixed_cost: int = 0
    name: str = ""
    has_time_windows: bool = True
    meta: dict = field(default_factory=dict)
    pickup: np.ndarray | None = None

    def __post_init__(self):
        n = self.n_nodes
        if n < 2:
            raise InvalidProblem("a problem needs a depot and at least one customer")
        if self.distance.shape != (n, n) or self.duration.shape != (n, n):
            raise InvalidProblem("distance and duration must be n×n matrices")
        vectors = {"demand": self.demand, "ready": self.ready, "due": self.due, "service": self.service}
        if self.cod is None:
            object.__setattr__(self, "cod", np.zeros(n, dtype=np.int64))
        vectors["cod"] = self.cod
        if self.pickup is None:
            object.__setattr__(self, "pickup", np.zeros(n, dtype=np.int64))
        vectors["pickup"] = self.pickup
        for name, vec in vectors.items():
            if vec.shape != (n,):
                raise InvalidProblem(f"{name} must have one entry per node ({n})")
        if self.n_vehicles < 1 or self.capacity < 1:
            raise InvalidProblem("at least one vehicle with a positive capacity is needed")
        if (self.ready > self.due).any():
            raise InvalidProblem("a time window opens after it closes")

    @property
    def has_pickups(self) -> bool:
        return bool(self.pickup.any())

    @property
    def n_nodes(self) -> int:
        return len(self.demand)

    @property
    def n_customers(self) -> int:
        return self.n_nodes - 1
