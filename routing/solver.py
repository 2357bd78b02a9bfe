"""``solve(problem, params) -> Result``: Cython ruin-and-recreate start, OR-Tools guided local search after it."""

from __future__ import annotations

import time

import numpy as np

from . import engine, fast
from .errors import SolverFailed
from .feasibility import explain_unassigned
from .params import SolveParams
from .problem import Problem
from .result import Result

FINISH_MARGIN = 0.01  # share of the time limit kept for reading back and checking the routes


def evaluate(problem: Problem, routes: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Per-route metrics [distance, duration, peak load, cash, lateness] and service start per stop (flat)."""
    offsets = np.zeros(len(routes) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(r) for r in routes])
    nodes = np.array([c for r in routes for c in r], dtype=np.int64)
    return fast.evaluate_routes(offsets, nodes, problem.distance, problem.duration, problem.demand, problem.cod,
                                problem.ready, problem.due, problem.service, problem.pickup)


def _cost(problem: Problem, metrics: np.ndarray) -> int:
    return int(metrics[:, 0].sum()) + problem.vehicle_fixed_cost * len(metrics)


def solve(problem: Problem, params: SolveParams | None = None) -> Result:
    params = params or SolveParams()
    started = time.perf_counter()
    limit = params.stop.time_limit_s
    stats: dict = {"construction": params.construction}
    start_routes: list[list[int]] | None = None
    if params.construction == "sisr":
        neighbours = fast.nearest_neighbours(problem.distance, params.sisr.granularity)
        sisr_time = limit * (1.0 - params.ortools_share) - (time.perf_counter() - started)
        start_routes, sisr_cost, iterations = fast.sisr(
            problem.distance, problem.duration, problem.demand, problem.cod, problem.ready, problem.due,
            problem.service, problem.capacity, problem.cod_capacity, problem.n_vehicles, problem.vehicle_fixed_cost,
            neighbours, [], params.sisr.as_tuple(problem.has_time_windows), params.seed, max(sisr_time, 0.01),
            params.stop.max_iterations, problem.pickup)
        stats.update(sisr_cost=sisr_cost, sisr_iterations=iterations, sisr_seconds=time.perf_counter() - started)
    model = engine.build_model(problem, params.allow_drops)
    # OR-Tools gets what is left (only its share when an iteration cap stopped the first phase early), keeping
    # a small margin for reading the routes back; at least a moment to check a start, more to find one.
    deadline = started + limit * (1.0 - FINISH_MARGIN)
    if start_routes is not None:
        deadline = min(deadline, time.perf_counter() + params.ortools_share * limit)
    min_search = 0.05 if start_routes is not None else 0.5
    routes = engine.solve_model(model, deadline, min_search, params.gls_lambda,
                                _complete_or_none(problem, start_routes, params))
    stats["ortools_seconds"] = time.perf_counter() - started - stats.get("sisr_seconds", 0.0)
    if routes is None and start_routes is not None:
        routes = start_routes  # OR-Tools rejected the start (it only happens when the start is incomplete)
    if routes is None:
        raise SolverFailed(f"no feasible solution found for {problem.name or 'the problem'} within {limit} s")
    metrics, _ = evaluate(problem, routes)
    feasible = _feasible(problem, metrics)
    if not feasible and start_routes is not None and routes is not start_routes:
        # the kernel's own check is the last word: a start it found feasible beats an infeasible search result
        start_metrics, _ = evaluate(problem, start_routes)
        if _feasible(problem, start_metrics):
            routes, metrics, feasible = start_routes, start_metrics, True
            stats["ortools_rejected"] = True
    served = {c for r in routes for c in r}
    unassigned = [c for c in range(1, problem.n_nodes) if c not in served]
    stats["ortools_cost"] = _cost(problem, metrics)
    return Result(routes, _cost(problem, metrics), len(routes), feasible, unassigned,
                  time.perf_counter() - started, stats, explain_unassigned(problem, unassigned))


def _feasible(problem: Problem, metrics: np.ndarray) -> bool:
    """Every route within capacity at its peak load, within the cash cap, and on time."""
    return bool((metrics[:, 2] <= problem.capacity).all() and (metrics[:, 3] <= problem.cod_capacity).all()
                and (metrics[:, 4] == 0).all())


def _complete_or_none(problem: Problem, routes: list[list[int]] | None, params: SolveParams):
    """The start handed to OR-Tools: must serve everyone unless stops may be dropped."""
    if routes is None:
        return None
    if not params.allow_drops and sum(len(r) for r in routes) < problem.n_customers:
        return None
    return routes
