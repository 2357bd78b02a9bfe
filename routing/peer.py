"""pyvroom as the benchmark's peer (optional extra ``bench``): the same integer problem, the same time cap."""

from __future__ import annotations

import time
from datetime import timedelta

from .problem import NO_LIMIT, Problem

EXPLORATION_LEVEL = 5


def available() -> bool:
    try:
        import vroom  # noqa: F401
    except ImportError:
        return False
    return True


def solve_with_vroom(problem: Problem, time_limit_s: float) -> tuple[list[list[int]], float]:
    """Routes (customer nodes per used vehicle) and wall time, VROOM at exploration level 5, one thread."""
    import vroom

    started = time.perf_counter()
    vrp = vroom.Input()
    vrp.set_durations_matrix("car", problem.duration)
    vrp.set_costs_matrix("car", problem.distance)
    with_cash = problem.cod_capacity < NO_LIMIT and bool(problem.cod.any())
    capacity = [int(problem.capacity)] + ([int(problem.cod_capacity)] if with_cash else [])
    window = vroom.TimeWindow(int(problem.ready[0]), int(problem.due[0])) if problem.has_time_windows else None
    vrp.add_vehicle([vroom.Vehicle(v + 1, start=0, end=0, capacity=capacity, time_window=window,
                                   costs=vroom.VehicleCosts(fixed=int(problem.vehicle_fixed_cost)))
                     for v in range(problem.n_vehicles)])
    jobs = []
    for node in range(1, problem.n_nodes):
        amount = [int(problem.demand[node])] + ([int(problem.cod[node])] if with_cash else [])
        windows = ([vroom.TimeWindow(int(problem.ready[node]), int(problem.due[node]))]
                   if problem.has_time_windows else ())
        jobs.append(vroom.Job(node, location=node, delivery=amount, default_service=int(problem.service[node]),
                              time_windows=windows))
    vrp.add_job(jobs)
    solution = vrp.solve(exploration_level=EXPLORATION_LEVEL, nb_threads=1,
                         timeout=timedelta(seconds=time_limit_s))
    routes = [[step["id"] for step in route["steps"] if step["type"] == "job"]
              for route in solution.to_dict().get("routes", [])]
    return [r for r in routes if r], time.perf_counter() - started
