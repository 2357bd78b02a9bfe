"""``python -m bench.routing``: the router against best-known solutions and its peers (see docs/perf-routing.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kernel.errors import BaridError

from .bench import BenchConfig
from .bench import main as bench_main


def _peers(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in ("vroom", "pyvrp")]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown peer {', '.join(unknown) or text!r} (choose vroom, pyvrp)")
    return names


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.routing",
                                     description="benchmark the router against best-known solutions and peers")
    parser.add_argument("--set", choices=["solomon", "cvrp", "office", "tight", "pickup", "all"], default="solomon",
                       help="tight: the X and Solomon instances with the fleet at the best-known vehicle count; "
                            "pickup: the X instances with every fifth customer a pickup")
    parser.add_argument("--instances", type=Path, help="directory of instances (Solomon .txt / CVRPLIB .vrp, bks.csv)")
    parser.add_argument("--time-limit", type=float, help="seconds per instance (default: solomon 5, cvrp 10)")
    parser.add_argument("--peer", action="append", type=_peers, default=[],
                       help="also run a peer under the same time cap, one thread: vroom (pyvroom, exploration "
                            "level 5) or pyvrp; repeat or comma-separate for both")
    parser.add_argument("--json", type=Path, help="write one record per instance to this file")
    parser.add_argument("--only", help="only instances whose name matches this glob, e.g. 'X-n1001*'")
    parser.add_argument("--no-kernels", action="store_true", help="skip the Cython-vs-Python kernel table")
    parser.add_argument("--seed", type=int, default=1)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sets = ("solomon", "cvrp", "office", "tight") if args.set == "all" else (args.set,)
    peers = tuple(dict.fromkeys(name for group in args.peer for name in group))
    config = BenchConfig(sets=sets, instances_dir=args.instances, time_limit_s=args.time_limit, peers=peers,
                         json_path=args.json, only=args.only, kernels=not args.no_kernels, seed=args.seed)
    return bench_main(config)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BaridError as exc:
        print(f"{exc.code}: {exc}", file=sys.stderr)
        sys.exit(2)
