"""Operators' command line: ``python -m notify opt-out|opt-in|status PHONE`` (the store at REDIS_URL)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import redis.asyncio as aioredis

from gateway.postal import PostalError, normalize_mobile

from . import store


async def _run(action: str, phone: str, url: str) -> str:
    client = aioredis.from_url(url)
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
    p = argparse.ArgumentParser(prog="python -m notify", description="Buyer SMS opt-outs.")
    p.add_argument("action", choices=("opt-out", "opt-in", "status"))
    p.add_argument("phone")
    p.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = p.parse_args(argv)
    try:
        phone = normalize_mobile(args.phone)
    except PostalError as exc:
        print(f"{args.phone}: {exc.message}", file=sys.stderr)
        return 2
    print(f"{phone}: {asyncio.run(_run(args.action, phone, args.redis_url))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
