"""The benchmark's peers (optional extra ``bench``): pyvroom and PyVRP, each given the same integer problem and
the same time cap, on one thread."""

from __future__ import annotations

import time
from datetime import timedelta

import numpy as np

from routing.problem import NO_LIMIT, Problem

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


def pyvrp_available() -> bool:
    try:
        import pyvrp  # noqa: F401
    except ImportError:
        return False
    return True


def solve_with_pyvrp(problem: Problem, time_limit_s: float, seed: int = 1) -> tuple[list[list[int]], float]:
    """Routes and wall time from PyVRP's own model, given the same integer matrices as the router: capacity and
    the cash cap as two load dimensions, time windows, the shift as the depot's and the vehicles' time window and
    their shift duration, the fixed cost per vehicle. PyVRP searches on one thread; building its model counts
    against the time cap, as the router's own set-up does."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    started = time.perf_counter()
    n = problem.n_nodes
    with_cash = problem.cod_capacity < NO_LIMIT and bool(problem.cod.any())
    windows = problem.has_time_windows
    open_, close = int(problem.ready[0]), int(problem.due[0])
    # the matrices carry the costs; coordinates, where the problem has them, only help PyVRP's geometry
    xs, ys = problem.meta.get("x"), problem.meta.get("y")
    locations = [pyvrp.Location(float(xs[i]), float(ys[i])) if xs is not None else pyvrp.Location(0, 0)
                 for i in range(n)]
    depot = (pyvrp.Depot(0, tw_early=open_, tw_late=close, service_duration=int(problem.service[0])) if windows
             else pyvrp.Depot(0))
    clients = []
    for node in range(1, n):
        amount = [int(problem.demand[node])] + ([int(problem.cod[node])] if with_cash else [])
        extra = ({"tw_early": int(problem.ready[node]), "tw_late": int(problem.due[node])} if windows else {})
        # PyVRP's pickups follow the same load profile as the router's (deliveries loaded at the depot)
        pickup = [int(problem.pickup[node])] + ([0] if with_cash else [])
        clients.append(pyvrp.Client(node, delivery=amount, pickup=pickup, service_duration=int(problem.service[node]),
                                    **extra))
    capacity = [int(problem.capacity)] + ([int(problem.cod_capacity)] if with_cash else [])
    shift = {"tw_early": open_, "tw_late": close, "shift_duration": close - open_} if windows else {}
    vehicles = pyvrp.VehicleType(num_available=int(problem.n_vehicles), capacity=capacity,
                                 fixed_cost=int(problem.vehicle_fixed_cost), **shift)
    data = pyvrp.ProblemData(locations, clients, [depot], [vehicles],
                             [np.ascontiguousarray(problem.distance, dtype=np.int64)],
                             [np.ascontiguousarray(problem.duration, dtype=np.int64)])
    remaining = max(time_limit_s - (time.perf_counter() - started), 0.01)
    result = pyvrp.solve(data, stop=MaxRuntime(remaining), seed=seed, collect_stats=False, display=False)
    # a client activity's idx numbers the clients list; each client's location is its problem node
    routes = [[int(clients[a.idx].location) for a in route.schedule() if a.is_client()]
              for route in result.best.routes()]
    return [r for r in routes if r], time.perf_counter() - started
