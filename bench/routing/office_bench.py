"""Office-day benchmark: 300 parcels / 15 postmen at 5 s against the same solver's 60 s result, and
2,000 parcels / 60 postmen at 60 s (demo days of THR-06)."""

from __future__ import annotations

import time
from datetime import date
from typing import Callable

from kernel.postal.offices import load_registry
from routing.demo import generate_day
from routing.office_day import Fleet, build_problem, merge_stops
from routing.params import SolveParams, Stop
from routing.solver import evaluate, solve

OFFICE = "THR-06"
DAY = date(2026, 11, 29)
CASES = [(300, 15, 5.0), (300, 15, 60.0), (2000, 60, 60.0)]


def _problem(n_parcels: int, postmen: int):
    office = load_registry().get(OFFICE)
    stops = merge_stops(office, generate_day(OFFICE, DAY, n_parcels))
    problem, _ = build_problem(office, stops, Fleet(postmen=postmen), n_parcels)
    return problem


def _record(name: str, problem, routes, seconds: float, reference: float | None) -> dict:
    metrics, _ = evaluate(problem, routes)
    served = sum(len(r) for r in routes)
    feasible = bool(served == problem.n_customers and (metrics[:, 2] <= problem.capacity).all()
                    and (metrics[:, 3] <= problem.cod_capacity).all() and (metrics[:, 4] == 0).all())
    travel = int(metrics[:, 0].sum())
    gap = None if reference is None else round(100.0 * (travel - reference) / reference, 3)
    return {"instance": name, "cost": travel, "gap_pct": gap, "vehicles": len(routes), "seconds": round(seconds, 2),
            "feasible": feasible, "stops": problem.n_customers}


def run_office_days(peers: tuple[str, ...] | bool, seed: int, out: Callable[[str], None]) -> list[dict]:
    """Cost = total travel seconds; gap_pct of the 5 s run is against the 60 s run of the same day. Each peer
    gets the same problem (load and cash caps, time windows, shift) and cap; its routes are evaluated here."""
    from .bench import PEER_LABELS, solve_peer

    if peers is True:  # the single-peer signature of earlier callers
        peers = ("vroom",)
    out(f"\noffice days ({OFFICE}, demo parcels; cost = travel seconds; 5 s gap vs the router's 60 s run)")
    records, best = [], {}
    for n_parcels, postmen, limit in sorted(CASES, key=lambda c: -c[2]):
        problem = _problem(n_parcels, postmen)
        started = time.perf_counter()
        result = solve(problem, SolveParams(stop=Stop(limit), seed=seed, allow_drops=True))
        seconds = time.perf_counter() - started
        name = f"{OFFICE}-{n_parcels}p-{postmen}m-{limit:g}s"
        record = _record(name, problem, result.routes, seconds, best.get((n_parcels, postmen)))
        best.setdefault((n_parcels, postmen), record["cost"])
        for peer_name in peers or ():
            routes, peer_seconds = solve_peer(peer_name, problem, limit, seed)
            record.setdefault("peers", {})[peer_name] = _record(name, problem, routes, peer_seconds,
                                                                best[(n_parcels, postmen)])
        records.append(record)
        line = (f"{name:<28} {record['stops']:>5} stops  travel {record['cost']:>7} s  postmen {record['vehicles']:>3}"
                f"  {record['seconds']:6.1f} s  feasible {record['feasible']}  gap {record['gap_pct']}")
        for peer_name, other in record.get("peers", {}).items():
            line += (f"   | {PEER_LABELS[peer_name]} travel {other['cost']} s, {other['vehicles']} postmen, "
                     f"{other['seconds']} s, feasible {other['feasible']}, gap {other['gap_pct']}")
        out(line)
    return records
