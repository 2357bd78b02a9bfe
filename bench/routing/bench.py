"""``python -m bench.routing``: solve benchmark instances, check every solution independently, compare with
the best-known solutions and with the peers (pyvroom, PyVRP) under the same time cap, in one run.

The ``tight`` set re-runs the benchmark instances with the fleet cut to the best-known vehicle count (X: the
best-known solution's count, and one fewer; Solomon: the hierarchical best-known count), where a search that
minimises distance alone tends to leave a customer out.
"""

from __future__ import annotations

import csv
import dataclasses
import fnmatch
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from routing.errors import RoutingError
from routing.params import SolveParams, Stop
from routing.solver import solve

from . import peer
from .checker import check
from .instances import Instance, load_instance, read_bks

# ../shared/bench from the repo root; BARID_BENCH_DIR points elsewhere (a git worktree sits one level deeper)
BENCH_DIR = Path(os.environ.get("BARID_BENCH_DIR") or Path(__file__).resolve().parents[2] / "shared" / "bench")
DEFAULT_TIME_LIMITS = {"solomon": 5.0, "cvrp": 10.0, "office": 5.0, "pickup": 10.0}
LARGE_CUSTOMERS, LARGE_TIME_LIMIT = 600, 60.0  # default cap for instances beyond this size (X-n1001-k43)
SET_DIRS = {"solomon": "solomon", "cvrp": "cvrp", "pickup": "cvrp"}
PICKUP_EVERY = 5  # the pickup set: every fifth customer collects its demand instead of receiving it
PEERS = ("vroom", "pyvrp")
PEER_LABELS = {"vroom": "pyvroom", "pyvrp": "PyVRP"}


@dataclass(frozen=True)
class BenchConfig:
    sets: tuple[str, ...] = ("solomon",)
    instances_dir: Path | None = None
    time_limit_s: float | None = None  # None: per-set default
    peer: str | None = None  # one peer (kept for callers of the single-peer bench); merged into peers
    peers: tuple[str, ...] = ()  # any of PEERS, each run on every instance after the router
    json_path: Path | None = None
    only: str | None = None  # glob on instance names
    kernels: bool = True
    seed: int = 1


    def peer_list(self) -> tuple[str, ...]:
        peers = list(self.peers)
        if self.peer and self.peer not in peers:
            peers.insert(0, self.peer)
        return tuple(peers)


def solve_peer(name: str, problem, time_limit_s: float, seed: int) -> tuple[list[list[int]], float]:
    if name == "vroom":
        return peer.solve_with_vroom(problem, time_limit_s)
    return peer.solve_with_pyvrp(problem, time_limit_s, seed)


def run_record(instance: Instance, bks: float | None, time_limit_s: float, seed: int,
               peers: tuple[str, ...] | bool = ()) -> dict:
    """The router's record, with each peer's record (same problem, cap and seed) under ``peers``."""
    if peers is True:  # the single-peer signature of earlier callers
        peers = ("vroom",)
    problem = instance.to_problem()
    result = solve(problem, SolveParams(stop=Stop(time_limit_s), seed=seed))
    record = _record(instance, bks, result.routes, result.runtime_s)
    if result.left_out:
        record["left_out"] = [{"node": e["node"], "reason": e["reason"]} for e in result.left_out[:20]]
    for name in peers or ():
        routes, seconds = solve_peer(name, problem, time_limit_s, seed)
        record.setdefault("peers", {})[name] = _record(instance, bks, routes, seconds)
    return record


def _record(instance: Instance, bks: float | None, routes: list[list[int]], seconds: float) -> dict:
    report = check(instance, routes)
    gap = None if bks is None else round(100.0 * (report.cost - bks) / bks, 3)
    record = {"instance": instance.name, "cost": report.cost, "gap_pct": gap, "vehicles": report.vehicles,
              "seconds": round(seconds, 2), "feasible": report.feasible}
    if report.violations:
        record["violations"] = report.violations[:5]
    return record


def instance_files(directory: Path, kind: str | None, only: str | None) -> list[Path]:
    patterns = {"solomon": ["*.txt"], "cvrp": ["*.vrp"], None: ["*.txt", "*.vrp"]}[kind]
    files = sorted({f for p in patterns for f in directory.glob(p) if f.name.lower() != "readme.txt"},
                   key=lambda f: (len(f.stem), f.stem))
    return [f for f in files if only is None or fnmatch.fnmatch(f.stem, only)]


def _fmt(record: dict) -> str:
    if "error" in record:
        return f"{'error: ' + record['error']['code']:>40}"
    gap = "   n/a" if record["gap_pct"] is None else f"{record['gap_pct']:6.2f}"
    return (f"{record['cost']:>11.2f} {gap}% {record['vehicles']:>4} {record['seconds']:>7.2f}s "
            f"{'yes' if record['feasible'] else 'NO':>4}")


def _row(record: dict) -> str:
    line = f"{record['instance']:<17} {_fmt(record):<40}"
    for name in PEERS:
        if name in record.get("peers", {}):
            line += f"   |   {_fmt(record['peers'][name])}"
    return line


def _peers_in(records: list[dict]) -> list[str]:
    return [name for name in PEERS if any(name in r.get("peers", {}) for r in records)]


def print_table(title: str, records: list[dict], out: Callable[[str], None]) -> None:
    out(f"\n{title}")
    head = f"{'cost':>11} {'gap':>7} {'veh':>4} {'time':>8} {'ok':>4}"
    heads = "".join(f"   |   {head + ' (' + PEER_LABELS[name] + ')':<40}" for name in _peers_in(records))
    out(f"{'instance':<17} {head + ' (router)':<40}{heads}")
    for r in records:
        out(_row(r))
    out(summary(records))


def _stats(rows: list[dict]) -> str:
    solved = [r for r in rows if r.get("gap_pct") is not None and "error" not in r]
    feasible = sum(1 for r in rows if r.get("feasible"))
    mean = sum(r["gap_pct"] for r in solved) / len(solved) if solved else float("nan")
    return f"mean gap {mean:.2f}% over {len(solved)}, feasible {feasible}/{len(rows)}"


def summary(records: list[dict]) -> str:
    """Per solver: mean gap and feasible count; with peers, also the mean gap over the instances that every
    solver served feasibly (the fair comparison when one of them leaves customers out somewhere)."""
    rows = [r for r in records if "error" not in r]
    names = _peers_in(rows)
    lines = [f"{'router':<8} {_stats(rows)}"]
    lines += [f"{PEER_LABELS[n]:<8} {_stats([r['peers'][n] for r in rows if n in r.get('peers', {})])}"
              for n in names]
    if names:
        common = [r for r in rows if r.get("feasible") and r.get("gap_pct") is not None
                  and all(r.get("peers", {}).get(n, {}).get("feasible") for n in names)]
        if common:
            means = [sum(r["gap_pct"] for r in common) / len(common)]
            means += [sum(r["peers"][n]["gap_pct"] for r in common) / len(common) for n in names]
            labels = ["router"] + [PEER_LABELS[n] for n in names]
            lines.append(f"where all {len(common)} are feasible: "
                         + ", ".join(f"{lab} {m:.2f}%" for lab, m in zip(labels, means)))
    return "\n".join(lines)


def with_pickups(instance: Instance, every: int = PICKUP_EVERY) -> Instance:
    """A pickup-and-delivery variant: every ``every``-th customer's demand is collected, not delivered. Any
    plan of the original stays feasible (a route never carries more than its summed demands), so the original's
    best-known cost bounds the variant's from above: its gap says how far the router is from that bound."""
    demand, pickup = instance.demand.copy(), np.zeros_like(instance.demand)
    marked = np.arange(len(demand)) % every == 0
    marked[0] = False
    pickup[marked], demand[marked] = demand[marked], 0
    return dataclasses.replace(instance, name=f"{instance.name}-pd{100 // every}", demand=demand, pickup=pickup)


def run_instances(kind: str | None, directory: Path, config: BenchConfig, out: Callable[[str], None]) -> list[dict]:
    bks = read_bks(directory)
    time_limit = config.time_limit_s or DEFAULT_TIME_LIMITS.get(kind or "solomon", 5.0)
    records = []
    for path in instance_files(directory, "cvrp" if kind == "pickup" else kind, config.only):
        try:
            instance = load_instance(path)
            if kind == "pickup":
                instance = with_pickups(instance)
        except RoutingError as exc:
            records.append({"instance": path.stem, "error": exc.to_dict()})
            out(f"{path.stem:<14} {exc.code}: {exc.message}")
            continue
        record = run_record(instance, bks.get(path.stem, bks.get(instance.name)), _limit(config, instance, time_limit),
                            config.seed, config.peer_list())
        records.append(record)
        out(_row(record))
    print_table(f"{kind or 'instances'} in {directory} ({time_limit:g} s each)", records, out)
    return records


def _limit(config: BenchConfig, instance: Instance, default: float) -> float:
    if config.time_limit_s is None and len(instance.x) - 1 > LARGE_CUSTOMERS:
        return LARGE_TIME_LIMIT
    return default


def read_bks_rows(directory: Path) -> dict[str, dict[str, str]]:
    path = directory / "bks.csv"
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as fh:
        return {row["instance"]: row for row in csv.DictReader(fh)}


def tight_cases(kind: str, directory: Path, only: str | None) -> list[tuple[Instance, int, float | None, str]]:
    """(instance, fleet, reference cost, expectation) per tight run. X: the best-known solution's vehicle count
    (reference: its cost) and one fewer (no reference; "infeasible" when the fleet's total capacity is short of
    the demand, else "unknown"); Solomon: the hierarchical best-known vehicle count and its distance."""
    rows = read_bks_rows(directory)
    cases = []
    for path in instance_files(directory, kind, only):
        row = rows.get(path.stem)
        if row is None:
            continue
        instance = load_instance(path)
        if kind == "cvrp" and row.get("bks_vehicles"):
            fleet = int(row["bks_vehicles"])
            cases.append((instance, fleet, float(row["bks_cost"]), "feasible"))
            short = int(instance.demand[1:].sum()) > (fleet - 1) * instance.capacity
            cases.append((instance, fleet - 1, None, "infeasible" if short else "unknown"))
        elif kind == "solomon" and row.get("bks_vehmin_vehicles"):
            cases.append((instance, int(row["bks_vehmin_vehicles"]), float(row["bks_vehmin_cost"]), "feasible"))
    return cases


def run_tight(config: BenchConfig, out: Callable[[str], None]) -> list[dict]:
    records = []
    for kind in ("cvrp", "solomon"):
        # --instances: one directory holding .vrp and/or .txt files and their bks.csv
        directory = config.instances_dir or BENCH_DIR / SET_DIRS[kind]
        if not directory.is_dir():
            out(f"no instance directory {directory}")
            continue
        time_limit = config.time_limit_s or DEFAULT_TIME_LIMITS[kind]
        kind_records = []
        for instance, fleet, reference, expect in tight_cases(kind, directory, config.only):
            tight = dataclasses.replace(instance, name=f"{instance.name}@{fleet}", n_vehicles=fleet)
            record = run_record(tight, reference, _limit(config, instance, time_limit), config.seed,
                                config.peer_list())
            record.update(fleet=fleet, expect=expect)
            kind_records.append(record)
            line = _row(record) + f"   expect {expect}"
            if "left_out" in record:
                reasons = sorted({e["reason"] for e in record["left_out"]})
                line += f"; router left out {len(record['left_out'])} ({', '.join(reasons)})"
            out(line)
        print_table(f"tight fleets, {kind} ({time_limit:g} s each; X-n1001 {LARGE_TIME_LIMIT:g} s unless "
                    f"--time-limit)", kind_records, out)
        records += kind_records
    return records


def run(config: BenchConfig, out: Callable[[str], None] = print) -> list[dict]:
    available = {"vroom": peer.available, "pyvrp": peer.pyvrp_available}
    missing = [name for name in config.peer_list() if not available[name]()]
    for name in missing:
        out(f"{PEER_LABELS[name]} is not installed (pip install 'barid[bench]'); running without it")
    if missing:
        config = dataclasses.replace(config, peer=None,
                                     peers=tuple(n for n in config.peer_list() if n not in missing))
    if config.kernels:
        from .kernel_bench import kernel_table

        out(kernel_table())
    records: list[dict] = []
    started = time.perf_counter()
    for kind in config.sets:
        if kind == "office":
            from .office_bench import run_office_days

            records += run_office_days(config.peer_list(), config.seed, out)
            continue
        if kind == "tight":
            records += run_tight(config, out)
            continue
        if config.instances_dir is not None:
            directory = config.instances_dir
        else:
            directory = BENCH_DIR / SET_DIRS[kind]
        if not directory.is_dir():
            out(f"no instance directory {directory}")
            continue
        records += run_instances(kind, directory, config, out)
    out(f"\ntotal {time.perf_counter() - started:.0f} s")
    if config.json_path is not None:
        config.json_path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
        out(f"records written to {config.json_path}")
    return records


def main(config: BenchConfig) -> int:
    records = run(config, lambda line: print(line, flush=True))
    bad = [r for r in records if "error" not in r and not r.get("feasible")]
    return 1 if bad else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(BenchConfig()))
