"""``python -m tracking dispatch [--burst]``: run a webhook dispatcher on the gateway's store.

The store is the one the gateway uses (``REDIS_URL``, else the embedded server under ``BARID_DATA``);
tracking settings come from the environment (see ``kernel.settings``). Run as many as you like.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from kernel.settings import Config
from kernel.store.client import open_store

from .dispatcher import serve


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tracking")
    sub = parser.add_subparsers(dest="command", required=True)
    dispatch = sub.add_parser("dispatch", help="deliver webhooks")
    dispatch.add_argument("--burst", action="store_true", help="exit once nothing is left to deliver")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C: leases of unfinished deliveries just expire
    config = Config.from_env()
    with open_store(config) as url:
        delivered = serve(url, config.tracking, burst=args.burst, cluster=config.redis_cluster)
    logging.getLogger("barid.dispatcher").info("delivered %d webhooks", delivered)
    return 0


if __name__ == "__main__":
    sys.exit(main())
