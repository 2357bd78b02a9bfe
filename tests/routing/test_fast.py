"""Kernels: every test runs against the compiled extension and the pure-Python twin."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest

from kernel.postal.offices import haversine_m
from routing import _fast_py

from .conftest import _compiled

PARAMS = (10, 10, 0.5, 0.5, 0.01, 0.4, 0.004, 0.01)
NO_CASH = 1 << 50


def test_haversine_matrices(kernels):
    lat = np.array([35.7151, 35.8043, 35.6759])
    lon = np.array([51.4050, 51.4339, 51.4196])
    metres, seconds = kernels.haversine_matrices(lat, lon, 1.3, 5.0)
    assert metres.dtype == np.int64 and metres.shape == (3, 3)
    assert (metres == metres.T).all() and (np.diag(metres) == 0).all()
    expected = haversine_m(lat[0], lon[0], lat[1], lon[1]) * 1.3
    assert metres[0, 1] == pytest.approx(expected, abs=1)
    assert seconds[0, 1] == pytest.approx(expected / 5.0, abs=1)


def test_euclidean_matrix_rounding(kernels):
    x, y = np.array([0.0, 3.0, 1.0]), np.array([0.0, 4.0, 1.0])
    nearest = kernels.euclidean_matrix(x, y, 1000.0)
    assert nearest[0, 1] == 5000 and nearest[1, 0] == 5000
    assert nearest[0, 2] == round(math.sqrt(2) * 1000)  # 1414
    assert kernels.euclidean_matrix(x, y, 1000.0, True)[0, 2] == 1415
    assert kernels.euclidean_matrix(x, y, 1.0)[0, 2] == 1  # CVRPLIB nint


def test_nearest_neighbours_skip_self_and_depot_ties_by_index(kernels):
    x = np.array([0.0, 1.0, 2.0, 3.0, 2.0])
    y = np.zeros(5)
    matrix = kernels.euclidean_matrix(x, y, 1.0)
    nn = kernels.nearest_neighbours(matrix, 3)
    assert nn.shape == (5, 3)
    assert list(nn[2]) == [4, 1, 3]  # 4 at distance 0, then 1 and 3 at 1: lower index first
    assert list(nn[0]) == [1, 2, 4]
    assert all(0 not in row for row in nn)
    assert kernels.nearest_neighbours(matrix, 10).shape == (5, 3)


def test_evaluate_routes_with_waiting_and_lateness(kernels):
    # depot 0 and customers 1..3 on a line, one time unit per distance unit
    x = np.array([0.0, 10.0, 20.0, 30.0])
    matrix = kernels.euclidean_matrix(x, np.zeros(4), 1.0)
    demand = np.array([0, 4, 5, 6])
    cod = np.array([0, 100, 0, 50])
    ready = np.array([0, 30, 0, 0])
    due = np.array([200, 40, 100, 45])
    service = np.array([0, 5, 5, 5])
    offsets = np.array([0, 2, 3])
    nodes = np.array([1, 2, 3])
    metrics, starts = kernels.evaluate_routes(offsets, nodes, matrix, matrix, demand, cod, ready, due, service)
    # route 0: reach 1 at 10, wait until 30, leave 35, reach 2 at 45, leave 50, back at 70
    assert list(starts) == [30, 45, 30]
    assert list(metrics[0]) == [40, 70, 9, 100, 0]
    # route 1: reach 3 at 30 (due 45, fine), back at 65
    assert list(metrics[1]) == [60, 65, 6, 50, 0]
    late_due = due.copy()
    late_due[2] = 40
    metrics, _ = kernels.evaluate_routes(offsets, nodes, matrix, matrix, demand, cod, ready, late_due, service)
    assert metrics[0, 4] == 5


def _run_sisr(kernels, problem, iterations, seed=3, cod_capacity=NO_CASH, cod=None):
    nn = kernels.nearest_neighbours(problem.distance, 40)
    cod = problem.cod if cod is None else cod
    return kernels.sisr(problem.distance, problem.duration, problem.demand, cod, problem.ready, problem.due,
                        problem.service, problem.capacity, cod_capacity, problem.n_vehicles, 0, nn, [], PARAMS,
                        seed, 0, iterations)


def test_sisr_finds_feasible_routes(kernels, r101_25):
    from bench.routing.checker import check

    problem = r101_25.to_problem()
    routes, cost, iterations = _run_sisr(kernels, problem, 300)
    assert iterations == 300
    report = check(r101_25, routes)
    assert report.feasible, report.violations
    assert cost == sum(problem.distance[a, b] for r in routes for a, b in zip([0] + r, r + [0]))
    assert report.cost < 1.03 * 617.1  # the 25-customer R101's optimum is 617.1


def test_sisr_respects_the_cash_cap(kernels, r101_25):
    problem = r101_25.to_problem()
    cod = np.full(problem.n_nodes, 10, dtype=np.int64)
    cod[0] = 0
    routes, _, _ = _run_sisr(kernels, problem, 200, cod_capacity=30, cod=cod)
    assert all(len(r) <= 3 for r in routes)
    assert sorted(c for r in routes for c in r) == list(range(1, problem.n_nodes))


def test_compiled_and_python_sisr_agree_exactly(r101_25):
    compiled = _compiled()
    if compiled is None:
        pytest.skip("routing._fast is not built")
    problem = r101_25.to_problem()
    assert _run_sisr(compiled, problem, 400, seed=11) == _run_sisr(_fast_py, problem, 400, seed=11)


def test_one_switch_turns_the_extension_off():
    code = "import routing.fast as f; print(f.COMPILED, f.kernels.__name__)"
    env = {**os.environ, "BARID_NO_EXTENSIONS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "routing._fast_py"]
    if _compiled() is not None:
        env.pop("BARID_NO_EXTENSIONS")
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
        assert out.split() == ["True", "routing._fast"]


@pytest.mark.parametrize("routes", [[[0, 1]], [[1, 2], [2]], [[1, 999]], [[1]] * 30])
def test_sisr_refuses_bad_initial_routes(kernels, r101_25, routes):
    problem = r101_25.to_problem()
    nn = kernels.nearest_neighbours(problem.distance, 10)
    with pytest.raises(ValueError):
        kernels.sisr(problem.distance, problem.duration, problem.demand, problem.cod, problem.ready, problem.due,
                     problem.service, problem.capacity, NO_CASH, problem.n_vehicles, 0, nn, routes, PARAMS, 1, 0, 5)


def test_sisr_improves_given_initial_routes(kernels, r101_25):
    problem = r101_25.to_problem()
    nn = kernels.nearest_neighbours(problem.distance, 10)
    singles = [[c] for c in range(1, 26)]
    start_cost = sum(problem.distance[0, c] + problem.distance[c, 0] for c in range(1, 26))
    routes, cost, _ = kernels.sisr(problem.distance, problem.duration, problem.demand, problem.cod, problem.ready,
                                   problem.due, problem.service, problem.capacity, NO_CASH, problem.n_vehicles, 0, nn,
                                   singles, PARAMS, 1, 0, 200)
    assert cost < 0.6 * start_cost and sorted(c for r in routes for c in r) == list(range(1, 26))


# Tight fleets: the fleet at the best-known vehicle count, where a search on distance alone left one customer
# out (X-n101-k25 at 25 vehicles, whose total demand leaves 3 units of the fleet's capacity free; Solomon RC101
# at its hierarchical best-known 14 vehicles).
TIGHT = [("X-n101-k25.vrp", 25, (10, 10, 0.5, 0.5, 0.01, 0.4, 0.004, 0.01), 300_000),
         ("RC101.txt", 14, (10, 10, 0.5, 0.5, 0.01, 1.5, 0.02, 0.01), 80_000)]


@pytest.mark.slow
@pytest.mark.parametrize("name, fleet, params, iterations", TIGHT)
def test_sisr_serves_everyone_on_a_tight_fleet(name, fleet, params, iterations):
    import dataclasses

    from bench.routing.checker import check
    from bench.routing.instances import load_instance

    from .conftest import DATA

    compiled = _compiled()
    if compiled is None:
        pytest.skip("routing._fast is not built (the twin is checked against it on a smaller tight case)")
    instance = dataclasses.replace(load_instance(DATA / name), n_vehicles=fleet)
    problem = instance.to_problem()
    nn = compiled.nearest_neighbours(problem.distance, 40)
    routes, _, _ = compiled.sisr(problem.distance, problem.duration, problem.demand, problem.cod, problem.ready,
                                 problem.due, problem.service, problem.capacity, NO_CASH, fleet, 0, nn, [], params,
                                 1, 0, iterations)
    report = check(instance, routes)
    assert report.feasible, report.violations


def test_compiled_and_python_sisr_agree_while_customers_are_left_out(r101_25):
    """Seven vehicles cannot serve the 25-customer R101: the whole run is in the fleet-minimisation phase
    (absence counts, ejections, absence-first insertion), and both kernels must walk it identically."""
    import dataclasses

    compiled = _compiled()
    if compiled is None:
        pytest.skip("routing._fast is not built")
    problem = dataclasses.replace(r101_25, n_vehicles=7).to_problem()
    python = _run_sisr(_fast_py, problem, 400, seed=2)
    assert python == _run_sisr(compiled, problem, 400, seed=2)
    assert sum(len(r) for r in python[0]) == 24  # never loses a customer it could place, never duplicates one
    assert len({c for r in python[0] for c in r}) == 24


def test_sisr_left_out_customers_fit_no_route(kernels, r101_25):
    """When a customer stays out, it is because no route can take it, not because the nearby ones are full."""
    import dataclasses

    problem = dataclasses.replace(r101_25, n_vehicles=7).to_problem()
    routes, _, _ = _run_sisr(kernels, problem, 300)
    served = {c for r in routes for c in r}
    out = [c for c in range(1, problem.n_nodes) if c not in served]
    assert out
    from routing.solver import evaluate

    for c in out:
        for route in routes:
            for pos in range(len(route) + 1):
                trial = route[:pos] + [c] + route[pos:]
                metrics, _ = evaluate(problem, [trial])
                assert metrics[0, 2] > problem.capacity or metrics[0, 4] > 0
