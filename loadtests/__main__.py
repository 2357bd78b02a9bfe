"""``python -m loadtests run [--duration SECONDS] [--target URL] [--out DIR] ...`` (see ``loadtests.runner``)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from .config import LoadConfig
from .runner import run


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m loadtests", description="Barid load test with Locust")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run a headless scenario and write the reports (exit 1 when inconsistent)")
    r.add_argument("--duration", type=int, help="seconds of load (default 180)")
    r.add_argument("--target", help="a running gateway's URL (default: start the whole system here)")
    r.add_argument("--redis-url", help="the target's store (needed with --target; default REDIS_URL)")
    r.add_argument("--out", type=Path, help="report directory (default ./loadtest-out)")
    r.add_argument("--rate", type=float, help="requests/s the users offer in total (default 600)")
    r.add_argument("--per-user-rate", type=float, help="requests/s per Locust user (default 4)")
    r.add_argument("--weights", help="staff,shop,buyer user weights (default 70,20,10)")
    r.add_argument("--processes", type=int, help="Locust worker processes (default 2)")
    r.add_argument("--workers", type=int, help="gateway workers of the embedded system (default 2)")
    r.add_argument("--dispatchers", type=int, help="webhook dispatchers of the embedded system (default 1)")
    r.add_argument("--shops", type=int, help="shops seeded (default 8)")
    r.add_argument("--seed-parcels", type=int, help="parcels booked per shop before the load (default 200)")
    r.add_argument("--fault", action="store_true", help="kill a gateway worker and a dispatcher, restart the store")
    r.add_argument("--faults", help="fault scenarios, comma-separated: system (as --fault), money (kill -9 the "
                   "ledger workers, kill -9 and restart PostgreSQL)")
    r.add_argument("--ledgers", type=int, help="ledger workers of the embedded system; 0: no PostgreSQL (default 1)")
    r.add_argument("--database-url", help="the ledger's PostgreSQL (with --target: default DATABASE_URL)")
    r.add_argument("--ceiling-seconds", type=int, help="seconds per wrk ceiling phase; 0 skips it (default 10)")
    args = p.parse_args(argv)
    weights = [int(w) for w in args.weights.split(",")] if args.weights else [None, None, None]
    cfg = LoadConfig.from_env(
        duration_s=args.duration, target=args.target, redis_url=args.redis_url, out_dir=args.out, rate=args.rate,
        per_user_rate=args.per_user_rate, staff_weight=weights[0], shop_weight=weights[1], buyer_weight=weights[2],
        processes=args.processes, workers=args.workers, dispatchers=args.dispatchers, shops=args.shops,
        seed_parcels=args.seed_parcels, fault=args.fault or None, ceiling_s=args.ceiling_seconds,
        faults=args.faults, ledgers=args.ledgers, database_url=args.database_url)
    return run(cfg, "python -m loadtests " + shlex.join(argv))


if __name__ == "__main__":
    sys.exit(main())
