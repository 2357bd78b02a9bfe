import sys

import numpy as np
import pytest
from ortools.constraint_solver import pywrapcp

from bench.routing.checker import check
from routing import engine
from routing.errors import TimeLimitOutOfRange
from routing.params import SolveParams, Stop
from routing.problem import Problem
from routing.solver import solve


def _count_python_calls_inside_search(run):
    """Python functions entered while OR-Tools' Solve*WithParameters is on the stack (the search itself)."""
    state = {"depth": 0, "calls": []}
    solve_names = {"SolveWithParameters", "SolveFromAssignmentWithParameters"}

    def profiler(frame, event, arg):
        name = frame.f_code.co_name
        if event == "call":
            if name in solve_names and frame.f_code.co_filename == pywrapcp.__file__:
                state["depth"] += 1
            elif state["depth"]:
                state["calls"].append(f"{frame.f_code.co_filename}:{name}")
        elif event == "return" and name in solve_names and frame.f_code.co_filename == pywrapcp.__file__:
            state["depth"] -= 1

    sys.setprofile(profiler)
    try:
        result = run()
    finally:
        sys.setprofile(None)
    return result, state["calls"]


def test_no_python_callback_runs_during_the_search(r101_25):
    problem = r101_25.to_problem()
    params = SolveParams(stop=Stop(time_limit_s=1.0), construction="ortools")
    result, calls = _count_python_calls_inside_search(lambda: solve(problem, params))
    assert result.feasible and not result.unassigned
    assert calls == []
    model = engine.build_model(problem, allow_drops=False)
    assert (model.registered_matrices, model.registered_vectors) == (2, 1)  # cost, time; load


def test_the_profiler_does_see_a_python_transit_callback():
    """Control for the test above: a Python callback would be counted."""
    manager = pywrapcp.RoutingIndexManager(6, 1, 0)
    routing = pywrapcp.RoutingModel(manager)
    callback = routing.RegisterTransitCallback(lambda i, j: abs(manager.IndexToNode(i) - manager.IndexToNode(j)))
    routing.SetArcCostEvaluatorOfAllVehicles(callback)
    params = engine.search_parameters(0.2, 0.1)
    solution, calls = _count_python_calls_inside_search(lambda: routing.SolveWithParameters(params))
    assert solution is not None
    assert any("<lambda>" in c for c in calls)


def test_sisr_start_then_ortools_is_feasible_and_complete(r101_25):
    problem = r101_25.to_problem()
    result = solve(problem, SolveParams(stop=Stop(time_limit_s=1.0)))
    report = check(r101_25, result.routes)
    assert report.feasible, report.violations
    assert result.feasible and result.unassigned == []
    assert result.stats["sisr_iterations"] > 0
    assert report.cost <= 1.02 * 617.1


def test_parallel_cheapest_insertion_finds_a_first_solution_on_r101(r101):
    """Path-cheapest-arc finds none on R101; the engine's first-solution strategy does."""
    result = solve(r101.to_problem(), SolveParams(stop=Stop(time_limit_s=1.5), construction="ortools"))
    report = check(r101, result.routes)
    assert report.feasible, report.violations


def test_iteration_cap_makes_the_result_deterministic(r101_25):
    problem = r101_25.to_problem()
    params = SolveParams(stop=Stop(time_limit_s=30, max_iterations=300), ortools_share=0.0)
    first, second = solve(problem, params), solve(problem, params)
    assert first.stats["sisr_iterations"] == 300
    assert first.stats["sisr_cost"] == second.stats["sisr_cost"]


def test_fixed_cost_and_drops_when_the_fleet_is_too_small():
    # four customers far apart, one vehicle that can carry two of them
    n = 5
    matrix = np.full((n, n), 10, dtype=np.int64)
    np.fill_diagonal(matrix, 0)
    problem = Problem(matrix, matrix, np.array([0, 1, 1, 1, 1]), np.zeros(n, np.int64), np.full(n, 1000, np.int64),
                      np.zeros(n, np.int64), n_vehicles=1, capacity=2, vehicle_fixed_cost=1)
    result = solve(problem, SolveParams(stop=Stop(time_limit_s=1.0), allow_drops=True))
    assert len(result.unassigned) == 2 and result.vehicles == 1
    assert result.feasible and result.cost == 30 + 1


@pytest.mark.parametrize("limit", [0, 0.1, 10_000])
def test_time_limit_out_of_range(limit):
    with pytest.raises(TimeLimitOutOfRange) as err:
        Stop(time_limit_s=limit)
    assert err.value.code == "time_limit_out_of_range"
