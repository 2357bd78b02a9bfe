import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.routing import peer
from bench.routing.bench import BenchConfig, run

from .conftest import DATA

REPO = Path(__file__).resolve().parents[2]


def _cli(*args, cwd=REPO, module="routing"):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def _bench(*args):
    return _cli(*args, module="bench.routing")


@pytest.fixture
def bench_dir(tmp_path):
    """R101 cut to its first 25 customers, a broken file and a bks.csv."""
    lines = (DATA / "R101.txt").read_text().splitlines()
    depot = next(i for i, line in enumerate(lines) if line.split()[:1] == ["0"] and len(line.split()) == 7)
    (tmp_path / "R101.txt").write_text("\n".join(lines[: depot + 26]) + "\n")
    (tmp_path / "broken.txt").write_text("VEHICLE\n25 200\n0 1 2\n")
    (tmp_path / "bks.csv").write_text("instance,ref_distance\nR101,618.33\n")
    return tmp_path


def test_bench_records_checks_and_peer(bench_dir):
    lines = []
    records = run(BenchConfig(sets=("solomon",), instances_dir=bench_dir, time_limit_s=1.0,
                              peers=tuple(n for n, ok in (("vroom", peer.available()), ("pyvrp", peer.pyvrp_available())) if ok),
                              kernels=False,
                              json_path=bench_dir / "out.json"), lines.append)
    by_name = {r["instance"]: r for r in records}
    assert by_name["broken"]["error"]["code"] == "instance_parse_error"
    r101 = by_name["R101"]
    assert {"instance", "cost", "gap_pct", "vehicles", "seconds", "feasible"} <= r101.keys()
    assert r101["feasible"] and r101["gap_pct"] < 2.0
    for name, ok in (("vroom", peer.available()), ("pyvrp", peer.pyvrp_available())):
        if ok:  # each peer's routes are checked by the project's own checker, beside the router's record
            assert {"instance", "cost", "gap_pct", "vehicles", "seconds", "feasible"} <= r101["peers"][name].keys()
            assert r101["peers"][name]["feasible"]
    assert json.loads((bench_dir / "out.json").read_text()) == records
    assert any("mean gap" in line for line in lines)


def test_cli_bench_writes_json(bench_dir):
    out = bench_dir / "cli.json"
    proc = _bench("--instances", str(bench_dir), "--only", "R101", "--time-limit", "1", "--no-kernels",
                "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "R101" in proc.stdout and json.loads(out.read_text())[0]["feasible"] is True


def test_cli_plan_with_progress_and_sheets(tmp_path):
    proc = _cli("plan", "--office", "THR-06", "--date", "2026-11-29", "--time-limit", "1", "--demo-parcels", "100",
                "--postmen", "5", "--json", str(tmp_path / "plan.json"), "--sheets", str(tmp_path / "sheets"))
    assert proc.returncode == 0, proc.stderr
    assert "planning THR-06" in proc.stderr and "postman  1" in proc.stdout
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert len(list((tmp_path / "sheets").glob("*.html"))) == len(plan["postmen"])


@pytest.mark.parametrize("args, code", [
    (("plan", "--office", "THR-99", "--date", "2026-11-29"), "unknown_office"),
    (("plan", "--office", "THR-06", "--date", "2026-13-01"), "invalid_date"),
    (("plan", "--office", "THR-06", "--date", "2026-11-29", "--time-limit", "0"), "time_limit_out_of_range"),
])
def test_cli_errors_are_clear(args, code):
    proc = _cli(*args)
    assert proc.returncode == 2
    assert f"error: {code}:" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("argv, peers", [
    (["--peer", "vroom", "--peer", "pyvrp"], ("vroom", "pyvrp")),
    (["--peer", "pyvrp,vroom"], ("pyvrp", "vroom")),
    (["--peer", "pyvrp", "--peer", "pyvrp"], ("pyvrp",)),
    ([], ()),
])
def test_bench_peers_repeat_or_comma_separate(monkeypatch, argv, peers):
    from bench.routing import __main__ as cli

    seen = {}
    monkeypatch.setattr(cli, "bench_main", lambda config: seen.setdefault("config", config) and 0)
    assert cli.main(["--set", "tight", *argv]) == 0
    assert seen["config"].peer_list() == peers and seen["config"].sets == ("tight",)


def test_bench_refuses_an_unknown_peer():
    proc = _bench("--peer", "vroom,ortools")
    assert proc.returncode == 2 and "unknown peer 'ortools'" in proc.stderr


def test_tight_cases_cut_the_fleet_to_the_best_known_count(bench_dir):
    from bench.routing.bench import tight_cases

    (bench_dir / "bks.csv").write_text("instance,ref_distance,bks_vehmin_cost,bks_vehmin_vehicles\n"
                                       "R101,618.33,618.33,8\n")
    [(instance, fleet, reference, expect)] = tight_cases("solomon", bench_dir, "R101")
    assert (instance.name.split()[0], fleet, reference, expect) == ("R101", 8, 618.33, "feasible")


def test_office_day_bench_runs_pyvrp_on_its_own_model(monkeypatch):
    """The office day (load and cash caps, time windows, shift) goes to PyVRP through its own model; its routes
    are evaluated by the router's evaluation, beside the router's."""
    from bench.routing import office_bench

    if not peer.pyvrp_available():
        pytest.skip("pyvrp is not installed (extra 'bench')")
    monkeypatch.setattr(office_bench, "CASES", [(100, 5, 1.0)])
    lines = []
    [record] = office_bench.run_office_days(("pyvrp",), 1, lines.append)
    assert record["feasible"] and record["stops"] > 10
    other = record["peers"]["pyvrp"]
    assert other["feasible"] and other["seconds"] < 3.0 and other["cost"] > 0
    assert "PyVRP travel" in lines[-1]
