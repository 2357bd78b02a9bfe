"""Command line: ``python -m routing plan|worker ...`` (the benchmark is ``python -m bench.routing``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

from kernel.errors import BaridError

from .errors import InvalidDate


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m routing", description="Barid router")
    commands = parser.add_subparsers(dest="command", required=True)

    plan = commands.add_parser("plan", help="plan an office's delivery routes for a day")
    plan.add_argument("--office", required=True, help="delivery office code, e.g. THR-06")
    plan.add_argument("--date", required=True, help="delivery day, YYYY-MM-DD")
    plan.add_argument("--time-limit", type=float, default=10.0, help="solver time limit in seconds")
    plan.add_argument("--parcels", type=Path, help="JSON list of booked parcels (default: a generated demo day)")
    plan.add_argument("--demo-parcels", type=int, default=300, help="size of the generated day (100 to 3000)")
    plan.add_argument("--postmen", type=int, help="number of postmen (default: from the day's size)")
    plan.add_argument("--pickups", type=Path, help="JSON list of pickup stops on the routes (docs/route-pickups.md)")
    plan.add_argument("--json", type=Path, help="write the plan as JSON to this file")
    plan.add_argument("--sheets", type=Path, help="write one printable route sheet (HTML) per postman here")

    worker = commands.add_parser("worker", help="solve the plans gateways queue in the store (run any number)")
    worker.add_argument("--burst", action="store_true", help="exit once no plan is waiting")
    return parser


def _worker(args) -> int:
    import logging

    from kernel.settings import Config
    from kernel.store.client import open_store

    from .jobs import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = Config.from_env()
    with open_store(config) as url:
        done = serve(url, burst=args.burst, cluster=config.redis_cluster)
    print(f"{done} plan(s) finished", file=sys.stderr)
    return 0


def _plan(args) -> int:
    from .demo import generate_day
    from .service import PlanRequest, validate
    from .sheet import render_route_sheet

    try:
        day = date.fromisoformat(args.date)
    except ValueError:
        raise InvalidDate(f"--date must be YYYY-MM-DD, not {args.date!r}") from None
    validate(PlanRequest(args.office, day, args.time_limit, [{}]))  # office and time limit, before any work
    if args.parcels:
        parcels = json.loads(args.parcels.read_text(encoding="utf-8"))
    else:
        parcels = generate_day(args.office, day, args.demo_parcels)
    pickups = json.loads(args.pickups.read_text(encoding="utf-8")) if args.pickups else []
    request = PlanRequest(args.office, day, args.time_limit, parcels, postmen=args.postmen, extra_stops=pickups)
    validate(request)
    plan = _with_progress(request)
    _print_plan(plan)
    if args.json:
        args.json.write_text(json.dumps(plan, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.sheets:
        args.sheets.mkdir(parents=True, exist_ok=True)
        for index in range(len(plan["postmen"])):
            sheet = render_route_sheet(plan, index)
            (args.sheets / f"postman-{index + 1:02d}.html").write_text(sheet, encoding="utf-8")
    return 0


def _with_progress(request) -> dict:
    """Solve in a worker process (as the gateway does) while drawing a progress bar on stderr."""
    from concurrent.futures import ProcessPoolExecutor

    from .service import plan_office_day

    with ProcessPoolExecutor(max_workers=1) as pool:
        future = pool.submit(plan_office_day, request)
        started = time.perf_counter()
        while not future.done():
            elapsed = time.perf_counter() - started
            share = min(elapsed / request.time_limit_s, 1.0)
            bar = "#" * int(30 * share)
            sys.stderr.write(f"\rplanning {request.office_code} {request.day}: [{bar:<30}] {elapsed:5.1f}s")
            sys.stderr.flush()
            time.sleep(0.2)
        sys.stderr.write("\n")
        return future.result()


def _print_plan(plan: dict) -> None:
    totals = plan["totals"]
    print(f"{plan['office']['code']} {plan['date']}: {totals['stops']} stops, {totals['parcels']} parcels, "
          f"{totals['postmen_used']} postmen, {totals['distance_m'] / 1000:.1f} km, "
          f"{totals['duration_s'] / 3600:.1f} postman-hours, solved in {plan['solver']['runtime_s']:.1f}s")
    for index, postman in enumerate(plan["postmen"], 1):
        print(f"  postman {index:>2}: {len(postman['stops']):>3} stops, {postman['load_kg']:6.1f} kg, "
              f"COD {postman['cod_rials']:>13,} rials, {postman['distance_m'] / 1000:5.1f} km, "
              f"{postman['start']}–{postman['end']}"
              + (f", collects {postman['pickup_parcels']} parcels (peak {postman['peak_load_kg']:.1f} kg)"
                 if postman.get("pickup_parcels") else ""))
    if plan["unassigned"]:
        print(f"  not planned (no room): {len(plan['unassigned'])} parcels")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"plan": _plan, "worker": _worker}[args.command](args)
    except BaridError as exc:  # the planner's errors and the office network's (an unknown office)
        print(f"error: {exc.code}: {exc.detail}", file=sys.stderr)
        return 2
