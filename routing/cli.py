"""Command line: ``python -m routing plan|bench|worker ...``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

from .errors import InvalidDate, RoutingError


def _peers(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in ("vroom", "pyvrp")]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown peer {', '.join(unknown) or text!r} (choose vroom, pyvrp)")
    return names


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

    bench = commands.add_parser("bench", help="benchmark against best-known solutions and pyvroom")
    bench.add_argument("--set", choices=["solomon", "cvrp", "office", "tight", "pickup", "all"], default="solomon",
                       help="tight: the X and Solomon instances with the fleet at the best-known vehicle count; "
                            "pickup: the X instances with every fifth customer a pickup")
    bench.add_argument("--instances", type=Path, help="directory of instances (Solomon .txt / CVRPLIB .vrp, bks.csv)")
    bench.add_argument("--time-limit", type=float, help="seconds per instance (default: solomon 5, cvrp 10)")
    bench.add_argument("--peer", action="append", type=_peers, default=[],
                       help="also run a peer under the same time cap, one thread: vroom (pyvroom, exploration "
                            "level 5) or pyvrp; repeat or comma-separate for both")
    bench.add_argument("--json", type=Path, help="write one record per instance to this file")
    bench.add_argument("--only", help="only instances whose name matches this glob, e.g. 'X-n1001*'")
    bench.add_argument("--no-kernels", action="store_true", help="skip the Cython-vs-Python kernel table")
    bench.add_argument("--seed", type=int, default=1)

    worker = commands.add_parser("worker", help="solve the plans gateways queue in the store (run any number)")
    worker.add_argument("--burst", action="store_true", help="exit once no plan is waiting")
    return parser


def _worker(args) -> int:
    import logging

    from gateway.config import Config
    from gateway.store import open_store

    from .jobs import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = Config.from_env()
    with open_store(config) as url:
        done = serve(url, burst=args.burst, cluster=config.redis_cluster)
    print(f"{done} plan(s) finished", file=sys.stderr)
    return 0


def _bench(args) -> int:
    from .bench import BenchConfig
    from .bench import main as bench_main

    sets = ("solomon", "cvrp", "office", "tight") if args.set == "all" else (args.set,)
    peers = tuple(dict.fromkeys(name for group in args.peer for name in group))
    config = BenchConfig(sets=sets, instances_dir=args.instances, time_limit_s=args.time_limit, peers=peers,
                         json_path=args.json, only=args.only, kernels=not args.no_kernels, seed=args.seed)
    return bench_main(config)


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
        return {"bench": _bench, "plan": _plan, "worker": _worker}[args.command](args)
    except RoutingError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
