"""Operators' command line: ``python -m notify opt-out|opt-in|status PHONE``, on the gateway's store (REDIS_URL,
else the embedded store of BARID_DATA, as ``python -m gateway`` finds it)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from kernel.postal.text import PostalError, normalize_mobile
from kernel.settings import Config
from kernel.store.client import async_client, open_store

from . import store


async def _run(action: str, phone: str, url: str, cluster: bool) -> str:
    client = async_client(url, cluster=cluster)
    try:
        h = store.number_hash(phone)
        if action == "opt-out":
            return "opted out" if await client.sadd(store.OPT_OUTS, h) else "was opted out already"
        if action == "opt-in":
            return "opted in again" if await client.srem(store.OPT_OUTS, h) else "was not opted out"
        return "opted out" if await client.sismember(store.OPT_OUTS, h) else "receives SMS"
    finally:
        await client.aclose()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m notify", description="Buyer SMS opt-outs (per number, all shops).")
    p.add_argument("action", choices=("opt-out", "opt-in", "status"))
    p.add_argument("phone", help="an Iranian mobile number")
    args = p.parse_args(argv)
    try:
        phone = normalize_mobile(args.phone)
    except PostalError as exc:
        print(f"{args.phone}: {exc.message}", file=sys.stderr)
        return 2
    config = Config.from_env()
    with open_store(config) as url:
        print(f"{phone}: {asyncio.run(_run(args.action, phone, url, config.redis_cluster))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
