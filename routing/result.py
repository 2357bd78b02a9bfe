"""What a solve returns."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Result:
    routes: list[list[int]]  # customer nodes per used vehicle, in visiting order (depot 0 implicit at both ends)
    cost: int  # objective in the problem's integer units (arc costs + fixed vehicle costs)
    vehicles: int
    feasible: bool  # every route within capacity, cash cap and time windows (checked by the solver's kernel)
    unassigned: list[int]  # customers in no route (only with allow_drops, or when nothing feasible was found)
    runtime_s: float
    stats: dict = field(default_factory=dict)  # phase costs and times, iterations, which start OR-Tools used
    # one entry per unassigned customer: node, reason code, English and Persian details (routing.feasibility)
    left_out: list[dict] = field(default_factory=list)
