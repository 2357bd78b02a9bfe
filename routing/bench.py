"""``python -m routing bench``: solve benchmark instances, check every solution independently, compare with
the best-known solutions and with pyvroom under the same time cap, in one run."""

from __future__ import annotations

import fnmatch
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import peer
from .checker import check
from .errors import RoutingError
from .instances import Instance, load_instance, read_bks
from .params import SolveParams, Stop
from .solver import solve

BENCH_DIR = Path(__file__).resolve().parents[2] / "shared" / "bench"  # ../shared/bench from the repo root
DEFAULT_TIME_LIMITS = {"solomon": 5.0, "cvrp": 10.0, "office": 5.0}
SET_DIRS = {"solomon": "solomon", "cvrp": "cvrp"}


@dataclass(frozen=True)
class BenchConfig:
    sets: tuple[str, ...] = ("solomon",)
    instances_dir: Path | None = None
    time_limit_s: float | None = None  # None: per-set default
    peer: str | None = None  # "vroom" or None
    json_path: Path | None = None
    only: str | None = None  # glob on instance names
    kernels: bool = True
    seed: int = 1


def run_record(instance: Instance, bks: float | None, time_limit_s: float, seed: int,
               use_peer: bool) -> dict:
    problem = instance.to_problem()
    result = solve(problem, SolveParams(stop=Stop(time_limit_s), seed=seed))
    record = _record(instance, bks, result.routes, result.runtime_s)
    if use_peer:
        routes, seconds = peer.solve_with_vroom(problem, time_limit_s)
        record["peer"] = _record(instance, bks, routes, seconds)
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
    line = f"{record['instance']:<14} {_fmt(record):<40}"
    return line + f"   |   {_fmt(record['peer'])}" if "peer" in record else line


def print_table(title: str, records: list[dict], out: Callable[[str], None]) -> None:
    out(f"\n{title}")
    head = f"{'cost':>11} {'gap':>7} {'veh':>4} {'time':>8} {'ok':>4}"
    peer_head = f"   |   {head}   (pyvroom)" if any("peer" in r for r in records) else ""
    out(f"{'instance':<14} {head:<40}{peer_head}")
    for r in records:
        out(_row(r))
    out(summary(records))


def summary(records: list[dict]) -> str:
    def stats(rows: list[dict]) -> str:
        solved = [r for r in rows if r.get("gap_pct") is not None and "error" not in r]
        feasible = sum(1 for r in rows if r.get("feasible"))
        mean = sum(r["gap_pct"] for r in solved) / len(solved) if solved else float("nan")
        return f"mean gap {mean:.2f}% over {len(solved)}, feasible {feasible}/{len(rows)}"

    line = f"{'router':<8} {stats(records)}"
    peers = [r["peer"] for r in records if "peer" in r]
    if peers:
        line += f"\n{'pyvroom':<8} {stats(peers)}"
    return line


def run_instances(kind: str | None, directory: Path, config: BenchConfig, out: Callable[[str], None]) -> list[dict]:
    bks = read_bks(directory)
    time_limit = config.time_limit_s or DEFAULT_TIME_LIMITS.get(kind or "solomon", 5.0)
    records = []
    for path in instance_files(directory, kind, config.only):
        try:
            instance = load_instance(path)
        except RoutingError as exc:
            records.append({"instance": path.stem, "error": exc.to_dict()})
            out(f"{path.stem:<14} {exc.code}: {exc.message}")
            continue
        record = run_record(instance, bks.get(path.stem, bks.get(instance.name)), time_limit, config.seed,
                            config.peer == "vroom")
        records.append(record)
        out(_row(record))
    print_table(f"{kind or 'instances'} in {directory} ({time_limit:g} s each)", records, out)
    return records


def run(config: BenchConfig, out: Callable[[str], None] = print) -> list[dict]:
    if config.peer == "vroom" and not peer.available():
        out("pyvroom is not installed (pip install 'barid[bench]'); running without the peer")
        config = BenchConfig(**{**config.__dict__, "peer": None})
    if config.kernels:
        from .kernel_bench import kernel_table

        out(kernel_table())
    records: list[dict] = []
    started = time.perf_counter()
    for kind in config.sets:
        if kind == "office":
            from .office_bench import run_office_days

            records += run_office_days(config.peer == "vroom", config.seed, out)
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
