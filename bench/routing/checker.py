"""Independent feasibility check of benchmark solutions, from the raw instance (floats), sharing no code with
the solver: exact Euclidean distances for Solomon, nint for CVRP, recomputed here from the coordinates."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .instances import Instance

EPS = 1e-6


@dataclass(frozen=True)
class CheckReport:
    feasible: bool
    cost: float  # Solomon: exact Euclidean, rounded to 2 decimals; CVRP: sum of nint distances
    vehicles: int
    violations: list[str] = field(default_factory=list)


def check(instance: Instance, routes: list[list[int]]) -> CheckReport:
    xs, ys = [float(v) for v in instance.x], [float(v) for v in instance.y]
    n = len(xs)
    exact = instance.kind == "solomon"

    def length(a: int, b: int) -> float:
        d = math.hypot(xs[a] - xs[b], ys[a] - ys[b])
        return d if exact else float(int(d + 0.5))

    violations: list[str] = []
    seen: dict[int, int] = {}
    total = 0.0
    used = [r for r in routes if r]
    if len(used) > instance.n_vehicles:
        violations.append(f"{len(used)} routes for a fleet of {instance.n_vehicles}")
    pickup = [0] * n if instance.pickup is None else [int(v) for v in instance.pickup]
    for number, route in enumerate(used):
        # a vehicle leaves with every delivery of its route; pickups come on board as it goes
        load = sum(int(instance.demand[c]) for c in route if 1 <= c < n)
        peak, where = load, "leaving the depot"
        clock, prev = float(instance.ready[0]), 0
        for node in route:
            if not 1 <= node < n:
                violations.append(f"route {number}: node {node} is not a customer")
                break
            seen[node] = seen.get(node, 0) + 1
            total += length(prev, node)
            clock = max(clock + float(instance.service[prev]) + length(prev, node), float(instance.ready[node]))
            if clock > float(instance.due[node]) + EPS:
                violations.append(f"route {number}: customer {node} served at {clock:.4f} "
                                  f"after its due {instance.due[node]}")
            load += pickup[node] - int(instance.demand[node])
            if load > peak:
                peak, where = load, f"after customer {node}"
            prev = node
        total += length(prev, 0)
        back = clock + float(instance.service[prev]) + length(prev, 0)
        if back > float(instance.due[0]) + EPS:
            violations.append(f"route {number}: back at the depot at {back:.4f} after {instance.due[0]}")
        if peak > instance.capacity:
            violations.append(f"route {number}: load {peak} {where} over capacity {instance.capacity}")
    missing = [c for c in range(1, n) if c not in seen]
    twice = [c for c, k in seen.items() if k > 1]
    if missing:
        violations.append(f"{len(missing)} customers not served (first: {missing[:5]})")
    if twice:
        violations.append(f"customers served more than once: {twice[:5]}")
    cost = round(total, 2) if exact else total
    return CheckReport(not violations, cost, len(used), violations)
