"""Pickups in the router: stops that load parcels, mixed with deliveries on the same routes (both kernels)."""

import dataclasses

import numpy as np
import pytest

from bench.routing.checker import check
from bench.routing.instances import Instance
from routing import _fast_py
from routing.params import SolveParams, Stop
from routing.problem import NO_LIMIT, Problem
from routing.solver import evaluate, solve

from .conftest import _compiled

PARAMS = (10, 10, 0.5, 0.5, 0.01, 0.4, 0.004, 0.01)


def _line(kernels, delivery, pickup, capacity, vehicles, ready=None, due=None):
    """Customers on a line east of the depot (customer i at 10·i), one time unit per distance unit."""
    n = len(delivery)
    x = np.arange(n, dtype=np.float64) * 10.0
    matrix = kernels.euclidean_matrix(x, np.zeros(n), 1.0)
    ready = np.zeros(n, np.int64) if ready is None else np.array(ready, np.int64)
    due = np.full(n, 10_000, np.int64) if due is None else np.array(due, np.int64)
    return Problem(matrix, matrix, np.array(delivery, np.int64), ready, due, np.zeros(n, np.int64), vehicles,
                   capacity, pickup=np.array(pickup, np.int64))


def _sisr(kernels, problem, iterations, seed=3):
    nn = kernels.nearest_neighbours(problem.distance, 40)
    return kernels.sisr(problem.distance, problem.duration, problem.demand, problem.cod, problem.ready, problem.due,
                        problem.service, problem.capacity, NO_LIMIT, problem.n_vehicles, 0, nn, [], PARAMS, seed, 0,
                        iterations, problem.pickup)


def _peak(problem, route) -> int:
    load = peak = int(sum(problem.demand[c] for c in route))
    for c in route:
        load += int(problem.pickup[c]) - int(problem.demand[c])
        peak = max(peak, load)
    return peak


def test_evaluate_reports_the_peak_load_not_the_start_load(kernels):
    problem = _line(kernels, [0, 6, 0, 4], [0, 0, 8, 0], 20, 1)
    offsets, nodes = np.array([0, 3]), np.array([1, 2, 3])
    args = (problem.distance, problem.duration, problem.demand, problem.cod, problem.ready, problem.due,
            problem.service)
    metrics, _ = kernels.evaluate_routes(offsets, nodes, *args, problem.pickup)
    # leaves with 10, 4 after customer 1, 12 after picking 8 up at 2, 8 after 3
    assert metrics[0, 2] == 12
    metrics, _ = kernels.evaluate_routes(offsets, nodes, *args)  # no pickups: the start load, as before
    assert metrics[0, 2] == 10


def test_a_route_that_would_overload_mid_route_is_split(kernels):
    """Deliveries of 5 and 4, pickups of 6 and 7, on a line: by the deliveries alone one vehicle of 10 takes
    all four (9 leaving the depot), but both pickups on one vehicle would be 13 on board: two vehicles."""
    problem = _line(kernels, [0, 0, 5, 4, 0], [0, 6, 0, 0, 7], 10, 3)
    routes, _, _ = _sisr(kernels, problem, 300)
    assert sorted(c for r in routes for c in r) == [1, 2, 3, 4]
    assert all(_peak(problem, r) <= 10 for r in routes), routes
    ignoring = dataclasses.replace(problem, pickup=np.zeros(5, np.int64))
    assert len(_sisr(kernels, ignoring, 300)[0]) == 1  # deliveries alone: one vehicle (9 ≤ 10), pickups free
    assert len(routes) >= 2


def test_pickups_alone_fill_vehicles_on_the_way_back(kernels):
    problem = _line(kernels, [0] + [0] * 6, [0] + [4] * 6, 10, 4)
    routes, _, _ = _sisr(kernels, problem, 300)
    assert sorted(c for r in routes for c in r) == list(range(1, 7))
    assert all(_peak(problem, r) <= 10 for r in routes) and len(routes) == 3  # two pickups of 4 per vehicle


def test_pickup_windows_are_hard(kernels):
    """A pickup at 30 whose shop opens at 100 and closes at 110: served in its window, waiting if need be."""
    problem = _line(kernels, [0, 3, 0, 2], [0, 0, 4, 0], 10, 2, ready=[0, 0, 100, 0], due=[1000, 1000, 110, 1000])
    routes, _, _ = _sisr(kernels, problem, 200)
    metrics, starts = kernels.evaluate_routes(np.cumsum([0] + [len(r) for r in routes]),
                                              np.array([c for r in routes for c in r]), problem.distance,
                                              problem.duration, problem.demand, problem.cod, problem.ready,
                                              problem.due, problem.service, problem.pickup)
    assert (metrics[:, 4] == 0).all()
    at = dict(zip([c for r in routes for c in r], starts.tolist()))
    assert 100 <= at[2] <= 110


def _random_pd(seed: int, n: int = 40):
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, 100, n + 1).astype(float), rng.integers(0, 100, n + 1).astype(float)
    demand = rng.integers(1, 10, n + 1)
    demand[0] = 0
    pickup = np.where(rng.random(n + 1) < 0.3, rng.integers(1, 12, n + 1), 0)
    pickup[0] = 0
    demand[pickup > 0] = np.where(rng.random(n + 1) < 0.5, 0, demand)[pickup > 0]  # some stops do both
    return Instance(f"pd{seed}", "cvrp", x, y, demand, np.zeros(n + 1), np.full(n + 1, NO_LIMIT),
                    np.zeros(n + 1), 12, 40, pickup=pickup)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_compiled_and_python_agree_with_pickups(seed):
    compiled = _compiled()
    if compiled is None:
        pytest.skip("routing._fast is not built")
    problem = _random_pd(seed).to_problem()
    python = _sisr(_fast_py, problem, 300, seed=seed)
    assert python == _sisr(compiled, problem, 300, seed=seed)
    tight = dataclasses.replace(_random_pd(seed), n_vehicles=4).to_problem()  # customers left out: ejections
    assert _sisr(_fast_py, tight, 300, seed=seed) == _sisr(compiled, tight, 300, seed=seed)


@pytest.mark.parametrize("seed, construction", [(1, "sisr"), (2, "sisr"), (1, "ortools")])
def test_solver_with_pickups_is_checked_feasible_independently(seed, construction):
    """The whole solve (and OR-Tools' own model, alone) keeps every route within capacity at every point."""
    instance = _random_pd(seed)
    params = SolveParams(stop=Stop(2.0, 3000), seed=seed, construction=construction)
    result = solve(instance.to_problem(), params)
    report = check(instance, result.routes)
    assert result.feasible and report.feasible, report.violations


def test_the_checker_catches_a_plan_over_capacity_mid_route():
    x = np.array([0.0, 10.0, 20.0])
    instance = Instance("mid", "cvrp", x, np.zeros(3), np.array([0, 8, 0]), np.zeros(3), np.full(3, NO_LIMIT),
                        np.zeros(3), 1, 10, pickup=np.array([0, 0, 9]))
    assert check(instance, [[1, 2]]).feasible  # 8 leaving, 0 after 1, 9 after 2
    report = check(instance, [[2, 1]])  # 8 leaving, 17 after picking 9 up at 2
    assert not report.feasible
    assert any("load 17 after customer 2 over capacity 10" in v for v in report.violations)
    problem = instance.to_problem()
    metrics, _ = evaluate(problem, [[2, 1]])
    assert metrics[0, 2] == 17  # the solver's own check sees it too


def test_solver_marks_a_stop_with_too_big_a_pickup():
    problem = _line(_fast_py, [0, 2, 0], [0, 0, 30], 10, 2)
    result = solve(problem, SolveParams(stop=Stop(1.0, 200), allow_drops=True))
    assert result.unassigned == [2] and result.left_out[0]["reason"] == "heavier_than_vehicle"


def test_the_pickup_bench_set_turns_every_fifth_customer_into_a_pickup(tmp_path, small_cvrp):
    from bench.routing.bench import BenchConfig, run, with_pickups
    from bench.routing.instances import load_instance

    instance = load_instance(small_cvrp)
    variant = with_pickups(instance)
    assert variant.name.endswith("-pd20") and list(np.flatnonzero(variant.pickup)) == list(range(5, 31, 5))
    assert (variant.pickup + variant.demand == instance.demand).all()
    records = run(BenchConfig(sets=("pickup",), instances_dir=tmp_path, time_limit_s=1.0, kernels=False),
                  lambda line: None)
    assert [r["instance"] for r in records] == ["T-n31-k5-pd20"] and records[0]["feasible"]


def test_cli_plan_takes_a_pickups_file(tmp_path):
    import json

    from .test_cli import _cli

    pickups = tmp_path / "pickups.json"
    pickups.write_text(json.dumps([{"id": "PK-1", "kind": "pickup", "lat": 35.718, "lon": 51.407, "load": 6,
                                    "window": [600, 720], "label": "کتاب‌فروشی"}]), encoding="utf-8")
    out = _cli("plan", "--office", "THR-06", "--date", "2030-01-01", "--time-limit", "1", "--demo-parcels", "100",
               "--pickups", str(pickups), "--json", str(tmp_path / "plan.json"), "--sheets", str(tmp_path / "s"))
    assert out.returncode == 0, out.stderr
    plan = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    stops = [s for p in plan["postmen"] for s in p["stops"] if s["kind"] == "pickup"]
    assert [s["pickup"]["id"] for s in stops] == ["PK-1"]
    assert any("جمع‌آوری ۶ مرسوله" in f.read_text(encoding="utf-8") for f in (tmp_path / "s").iterdir())


def test_compiled_and_python_agree_with_pickups_and_time_windows(r101_25):
    """Solomon R101 (25 customers) with every third customer a pickup: windows, waiting and the load profile."""
    compiled = _compiled()
    if compiled is None:
        pytest.skip("routing._fast is not built")
    demand, pickup = r101_25.demand.copy(), np.zeros_like(r101_25.demand)
    pickup[3::3], demand[3::3] = demand[3::3], 0
    problem = dataclasses.replace(r101_25, demand=demand, pickup=pickup).to_problem()
    python = _sisr(_fast_py, problem, 400, seed=5)
    assert python == _sisr(compiled, problem, 400, seed=5)
    assert all(_peak(problem, r) <= problem.capacity for r in python[0])
