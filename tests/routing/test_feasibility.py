"""A plan that cannot serve everyone says which customers it leaves out and why, and stops at its time limit."""

import dataclasses
import time

import numpy as np

from routing.params import SolveParams, Stop
from routing.problem import Problem
from routing.solver import solve


def _line_problem(n_vehicles=2, capacity=10, demand=(0, 4, 4, 4), due=None):
    """Depot and customers on a line, one time unit per distance unit, a shift ending at 100."""
    x = np.arange(len(demand), dtype=np.int64) * 10
    matrix = np.abs(x[:, None] - x[None, :])
    n = len(demand)
    due = np.array(due if due is not None else [100] * n, dtype=np.int64)
    return Problem(matrix, matrix, np.array(demand, dtype=np.int64), np.zeros(n, np.int64), due,
                   np.zeros(n, np.int64), n_vehicles, capacity, name="line")


def _reasons(result) -> dict[int, str]:
    assert sorted(e["node"] for e in result.left_out) == sorted(result.unassigned)
    for entry in result.left_out:
        assert entry["detail"] and entry["detail_fa"] and entry["detail"] != entry["detail_fa"]
    return {e["node"]: e["reason"] for e in result.left_out}


def test_a_fleet_too_small_for_the_day_says_so_and_stops_at_its_time_limit(r101_25):
    problem = dataclasses.replace(r101_25, n_vehicles=1).to_problem()  # 200 units of capacity, 332 of demand
    started = time.perf_counter()
    result = solve(problem, SolveParams(stop=Stop(1.0)))
    assert time.perf_counter() - started < 3.0
    assert result.unassigned and set(_reasons(result).values()) == {"fleet_too_small"}
    assert {c for r in result.routes for c in r} | set(result.unassigned) == set(range(1, 26))


def test_a_tight_fleet_names_the_customers_it_found_no_room_for(r101_25):
    problem = dataclasses.replace(r101_25, n_vehicles=7).to_problem()  # enough capacity, too little time
    result = solve(problem, SolveParams(stop=Stop(1.0, max_iterations=300)))
    assert result.unassigned and set(_reasons(result).values()) == {"no_room_found"}


def test_a_stop_heavier_than_a_vehicle_or_out_of_reach_is_named():
    heavy = solve(_line_problem(demand=(0, 4, 12, 4)), SolveParams(stop=Stop(1.0, max_iterations=50)))
    assert _reasons(heavy) == {2: "heavier_than_vehicle"}
    late = solve(_line_problem(due=(100, 100, 100, 5)), SolveParams(stop=Stop(1.0, max_iterations=50)))
    assert _reasons(late) == {3: "out_of_reach"}


def test_a_plan_serving_everyone_leaves_nobody_out():
    result = solve(_line_problem(), SolveParams(stop=Stop(1.0, max_iterations=50)))
    assert result.unassigned == [] and result.left_out == []
