"""OR-Tools model of a ``Problem``: every matrix and vector registered in C++, so the search never calls Python.

Only ``RegisterTransitMatrix`` and ``RegisterUnaryTransitVector`` are used (Python transit callbacks cost
5–7× more CPU for the same search). The search starts from given routes (``ReadAssignmentFromRoutes``) or
from parallel cheapest insertion, which finds a first solution on time-window instances where
path-cheapest-arc does not (Solomon R101, RC101), then runs guided local search under the time limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from .problem import NO_LIMIT, Problem

FIRST_SOLUTION = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
LOCAL_SEARCH = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH


@dataclass
class OrtoolsModel:
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    registered_matrices: int = 0
    registered_vectors: int = 0

    def register_matrix(self, matrix: np.ndarray) -> int:
        self.registered_matrices += 1
        return self.routing.RegisterTransitMatrix(matrix.tolist())

    def register_vector(self, vector: np.ndarray) -> int:
        self.registered_vectors += 1
        return self.routing.RegisterUnaryTransitVector(vector.tolist())


def build_model(problem: Problem, allow_drops: bool) -> OrtoolsModel:
    manager = pywrapcp.RoutingIndexManager(problem.n_nodes, problem.n_vehicles, 0)
    model = OrtoolsModel(manager, pywrapcp.RoutingModel(manager))
    routing = model.routing
    cost = model.register_matrix(problem.distance)
    routing.SetArcCostEvaluatorOfAllVehicles(cost)
    if problem.vehicle_fixed_cost:
        routing.SetFixedCostOfAllVehicles(int(problem.vehicle_fixed_cost))
    if problem.has_pickups:
        _add_pickup_load(model, problem)
    else:
        load = model.register_vector(problem.demand)
        routing.AddDimension(load, 0, int(problem.capacity), True, "Load")
    if problem.cod_capacity < NO_LIMIT and problem.cod.any():
        cash = model.register_vector(problem.cod)
        routing.AddDimension(cash, 0, int(problem.cod_capacity), True, "Cash")
    if problem.has_time_windows:
        _add_time(model, problem)
    if allow_drops:
        # Dropping a stop must cost more than any detour that serves it.
        round_trip = problem.distance[0].max() + problem.distance[:, 0].max()
        penalty = int(100 * (round_trip + problem.vehicle_fixed_cost))
        for node in range(1, problem.n_nodes):
            routing.AddDisjunction([manager.NodeToIndex(node)], penalty)
    return model


def _add_pickup_load(model: OrtoolsModel, problem: Problem) -> None:
    """Load on board with deliveries and pickups mixed: each stop adds pickup - delivery to a cumul in
    [0, capacity] whose start is free; the start must be the route's whole delivery, which holds exactly when
    the load back at the depot equals what the route picked up (a second dimension counts that)."""
    routing = model.routing
    change = model.register_vector(problem.pickup - problem.demand)
    routing.AddDimension(change, 0, int(problem.capacity), False, "Load")
    picked = model.register_vector(problem.pickup)
    routing.AddDimension(picked, 0, int(problem.pickup.sum()) + 1, True, "Picked")
    load, total = routing.GetDimensionOrDie("Load"), routing.GetDimensionOrDie("Picked")
    solver = routing.solver()
    for vehicle in range(problem.n_vehicles):
        end = routing.End(vehicle)
        solver.Add(load.CumulVar(end) == total.CumulVar(end))


def _add_time(model: OrtoolsModel, problem: Problem) -> None:
    routing, manager = model.routing, model.manager
    # service time at the origin node is part of each arc, so the cumul is the service start
    transit = model.register_matrix(problem.duration + problem.service[:, None])
    horizon = int(problem.due[0])
    routing.AddDimension(transit, horizon, horizon, False, "Time")
    time = routing.GetDimensionOrDie("Time")
    for node in range(1, problem.n_nodes):
        time.CumulVar(manager.NodeToIndex(node)).SetRange(int(problem.ready[node]), int(problem.due[node]))
    for vehicle in range(problem.n_vehicles):
        time.CumulVar(routing.Start(vehicle)).SetRange(int(problem.ready[0]), horizon)
        time.CumulVar(routing.End(vehicle)).SetRange(int(problem.ready[0]), horizon)


def search_parameters(time_limit_s: float, gls_lambda: float) -> pywrapcp.DefaultRoutingSearchParameters:
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = FIRST_SOLUTION
    params.local_search_metaheuristic = LOCAL_SEARCH
    params.guided_local_search_lambda_coefficient = gls_lambda
    params.use_full_propagation = False
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    return params


def solve_model(model: OrtoolsModel, deadline: float, min_search_s: float, gls_lambda: float,
                start_routes: list[list[int]] | None) -> list[list[int]] | None:
    """Routes (customer node lists per vehicle, empty ones dropped) of the best solution, or None if none found.

    The search ends by ``deadline`` (a ``time.perf_counter()`` value; closing the model and loading the start
    count against it) but runs at least ``min_search_s``."""
    routing, manager = model.routing, model.manager
    routing.CloseModelWithParameters(search_parameters(1.0, gls_lambda))
    initial = None
    if start_routes:
        padded = start_routes + [[] for _ in range(routing.vehicles() - len(start_routes))]
        initial = routing.ReadAssignmentFromRoutes(padded, True)
    params = search_parameters(max(deadline - time.perf_counter(), min_search_s), gls_lambda)
    if initial is not None:
        solution = routing.SolveFromAssignmentWithParameters(initial, params)
    else:
        solution = routing.SolveWithParameters(params)
    if solution is None:
        return None
    routes = []
    for vehicle in range(routing.vehicles()):
        index = solution.Value(routing.NextVar(routing.Start(vehicle)))
        route = []
        while not routing.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = solution.Value(routing.NextVar(index))
        if route:
            routes.append(route)
    return routes
