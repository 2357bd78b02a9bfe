import pytest

from bench.routing.checker import check
from bench.routing.instances import load_instance, parse_cvrplib, parse_solomon, read_bks
from routing.errors import InstanceParseError, RoutingError

from .conftest import DATA, write_cvrp


def test_parse_solomon(r101):
    assert r101.name == "R101" and r101.kind == "solomon"
    assert len(r101.x) == 101 and (r101.n_vehicles, r101.capacity) == (25, 200)
    first = (r101.x[1], r101.y[1], r101.demand[1], r101.ready[1], r101.due[1], r101.service[1])
    assert first == (41, 49, 10, 161, 171, 10)
    problem = r101.to_problem()
    assert problem.distance[0, 1] == round(((41 - 35) ** 2 + (49 - 35) ** 2) ** 0.5 * 1000)
    assert problem.due[1] == 171_000 and problem.service[1] == 10_000
    assert (problem.duration >= problem.distance).all()  # travel times rounded up


def test_parse_cvrplib_and_fleet_convention(small_cvrp):
    instance = parse_cvrplib(small_cvrp)
    assert instance.kind == "cvrp" and len(instance.x) == 31
    assert instance.n_vehicles == int(1 + 1.07 * instance.demand.sum() / instance.capacity)
    problem = instance.to_problem()
    assert not problem.has_time_windows


@pytest.mark.parametrize("content, message", [
    ("", "no VEHICLE section"),
    ("R1\nVEHICLE\nNUMBER CAPACITY\n25 200\nCUSTOMER\n0 35 35 0 0 230 0\n1 41 x 10 161 171 10\n", "not a number"),
    ("R1\nVEHICLE\n25 200\n0 35 35 0 0 230 0\n1 41 49 10 161\n", "expected 7 customer fields"),
    ("R1\nVEHICLE\n25 200\n0 35 35 0 0 230 0\n1 41 49 10 171 161 10\n", "closes before it opens"),
    ("R1\nVEHICLE\n25 200\n0 35 35 0 0 230 0\n2 41 49 10 161 171 10\n", "customer numbers"),
])
def test_bad_solomon_files(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(InstanceParseError) as err:
        parse_solomon(path)
    assert message in err.value.message and err.value.code == "instance_parse_error"


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.replace("CAPACITY : 40\n", ""), "missing CAPACITY"),
    (lambda t: t.replace("DEMAND_SECTION", "DEMANDS"), "missing DEMAND_SECTION"),
    (lambda t: t.replace("DIMENSION : 31", "DIMENSION : 40"), "expected 40"),
    (lambda t: t.replace("EUC_2D", "GEO"), "only EUC_2D"),
    (lambda t: t.replace("2 ", "2 abc ", 1), "malformed"),
])
def test_bad_cvrplib_files(small_cvrp, mutate, message):
    small_cvrp.write_text(mutate(small_cvrp.read_text()))
    with pytest.raises(InstanceParseError) as err:
        parse_cvrplib(small_cvrp)
    assert message in err.value.message


def test_unreadable_and_unknown_files(tmp_path):
    binary = tmp_path / "junk.vrp"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    for path in (binary, tmp_path / "missing.txt", tmp_path / "notes.csv"):
        with pytest.raises(RoutingError):
            load_instance(path)


def test_read_bks(tmp_path):
    (tmp_path / "bks.csv").write_text("instance,ref_distance,bks_dist_cost\nR101,1642.88,1642.88\n")
    assert read_bks(tmp_path) == {"R101": 1642.88}
    assert read_bks(tmp_path / "nowhere") == {}


def test_checker_catches_violations(r101_25):
    routes = [[c] for c in range(1, 26)]
    assert check(r101_25, routes).violations == []
    bad_time = [[2, 1] + list(range(3, 26))]  # one route through everyone misses windows and capacity
    report = check(r101_25, bad_time)
    assert not report.feasible
    assert any("after its due" in v for v in report.violations)
    assert any("over capacity" in v for v in report.violations)
    missing = check(r101_25, [[c] for c in range(1, 25)])
    assert not missing.feasible and "1 customers not served" in missing.violations[0]
    twice = check(r101_25, [[c] for c in range(1, 26)] + [[5]])
    assert any("more than once" in v for v in twice.violations)
    assert any("routes for a fleet" in v for v in twice.violations)


def test_checker_costs_exact_euclidean(r101_25):
    report = check(r101_25, [[1]] + [[c] for c in range(2, 26)])
    expected = sum(2 * ((r101_25.x[c] - 35) ** 2 + (r101_25.y[c] - 35) ** 2) ** 0.5 for c in range(1, 26))
    assert report.cost == round(expected, 2)


def test_write_cvrp_helper_round_trips(tmp_path):
    path = write_cvrp(tmp_path / "t.vrp", [(0, 0, 0), (3, 4, 1)], 5)
    instance = parse_cvrplib(path)
    assert check(instance, [[1]]).cost == 10.0
    assert DATA.is_dir()
