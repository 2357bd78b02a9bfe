"""What the gateway's own handling of a booking costs, in instructions, stage by stage.

gateway_cost counts a whole worker (aiohttp included) and repeats to about ±30,000 instructions, as its store
round trips vary with timing; a change of 20,000 drowns in it. Here the handler runs in-process on uvloop, without
HTTP: the real middleware, caller cache, body parsing, validator, tariff, booking service, micro-batcher and RESP
packer, against a store connection that answers each flush on the next loop turn with what the store answers a
booking (no store: its work is store_cost's). Sixteen requests are in flight at once, as under load, so a flush
carries sixteen bookings. Each request books one of the 500 shop-like bodies of booking_bench, round robin.
Counted under callgrind at two request counts, the difference per request repeats to about 0.1 %.

Stages, each the one before plus:
    respond   the observe middleware and a 201 of a booking's size (and this driver's own loop)
    read      the caller (from the Authorization cache) and the JSON body
    validate  validation and pricing
    book      the booking: records, the store commands, the round trip through the batcher, the answer

    .venv/bin/python bench/handler_cost.py [--stages book] [--requests 1000]

Needs valgrind (Debian package ``valgrind``); about a minute per stage.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STAGES = ("respond", "read", "validate", "book")
IN_FLIGHT = 16
ANSWER = b'{"answer":"' + b"x" * 880 + b'"}'  # a booking's answer is about 900 bytes


class _AnsweringConnection:
    """Stands in for resp.RespConnection: each flush is answered on the next loop turn, as a booking's commands
    are by the store (the script OK, the tracking index SET OK, the office's to-do ZADD 1)."""

    def __init__(self) -> None:
        from kernel.fast import pack_commands

        self.pack = pack_commands

    def write_now(self, commands: list[tuple]) -> asyncio.Future:
        self.pack(commands)  # what the real connection does before writing
        loop = asyncio.get_running_loop()
        replies = loop.create_future()
        answers = [[b"OK"] if cmd[0] == "EVALSHA" else b"OK" if cmd[0] == "SET" else 1 for cmd in commands]
        loop.call_soon(replies.set_result, answers)
        return replies

    def close(self) -> None:
        pass


class _Content:
    __slots__ = ("raw",)

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def is_eof(self) -> bool:
        return True

    def exception(self) -> None:
        return None

    def read_nowait(self) -> bytes:
        return self.raw


class _Resource:
    canonical = "/v1/shipments"


class _Route:
    resource = _Resource()


class _MatchInfo:
    route = _Route()


class _Request:
    """The attributes of aiohttp's Request that the booking path reads, and nothing else."""

    __slots__ = ("app", "client_max_size", "content", "headers", "match_info", "method", "path", "remote")

    def __init__(self, app, headers, raw: bytes, max_size: int) -> None:
        self.app, self.headers, self.content, self.client_max_size = app, headers, _Content(raw), max_size
        self.path, self.method, self.match_info, self.remote = "/v1/shipments", "POST", _MatchInfo(), "127.0.0.1"


def _handler(stage: str):
    from aiohttp import web

    from booking import web as ws
    from booking.app_keys import BOOKING, VALIDATOR

    def answer():
        return web.Response(body=ANSWER, status=201, content_type="application/json")

    async def respond(request):
        return answer()

    async def read(request):  # as create_shipment reads them
        ws.known_caller(request) or await ws.require_caller(request)
        ws.json_at_hand(request) or await ws.read_json(request)
        return answer()

    async def validate(request):
        caller = ws.known_caller(request) or await ws.require_caller(request)
        body, _ = ws.json_at_hand(request) or await ws.read_json(request)
        req, errs = request.app[VALIDATOR].shipment(body, caller.shop.sender)
        assert not (errs.items or ws._booking_errors(request.app[BOOKING], req))
        return answer()

    return {"respond": respond, "read": read, "validate": validate, "book": ws.create_shipment}[stage]


async def drive(stage: str, requests: int) -> None:
    import orjson
    from aiohttp import web
    from multidict import CIMultiDict, CIMultiDictProxy

    from bench.booking_bench import BODIES
    from booking.app_keys import BOOKING, SHOPS, VALIDATOR
    from booking.auth import ShopDirectory
    from booking.service import BookingService, Caller
    from booking.shops import Shop
    from booking.validation import RequestValidator
    from gateway.metrics import Metrics
    from gateway.web_app import observe
    from kernel.app_keys import BATCHER, LIMITS, METRICS
    from kernel.postal.network import ParcelNetwork
    from kernel.postal.tariff import Limits, Tariff
    from kernel.settings import Config
    from kernel.store.batcher import Batcher
    from tests.conftest import TEHRAN_SENDER

    config = Config()
    limits = Limits.load(config.limits_path)
    batcher = Batcher(None, None)  # type: ignore[arg-type]
    batcher._conn = _AnsweringConnection()  # type: ignore[assignment]
    tariff = Tariff.load(config.tariff_path, limits)
    booking = BookingService(None, batcher, limits, tariff, ParcelNetwork(),  # type: ignore[arg-type]
                             default_rate=config.rate_per_s, default_burst=config.rate_burst,
                             idempotency_ttl_s=config.idempotency_ttl_s, serial_block=config.serial_block)
    for serials in booking._serials.values():  # a block reserved for the whole run: no store round trip
        serials._next, serials._end = 1, 10**8
    header = "Bearer bk_1_handlercost"
    shops = ShopDirectory(None)  # type: ignore[arg-type]
    caller = Caller(Shop(1, "cost", "active", "h" * 64, TEHRAN_SENDER), "h" * 64)
    shops._callers[header] = (time.monotonic() + 1e9, caller)  # as if the header had been seen before
    app = web.Application()
    app[BOOKING], app[VALIDATOR], app[METRICS], app[SHOPS], app[LIMITS], app[BATCHER] = (
        booking, RequestValidator(limits), Metrics(), shops, limits, batcher)
    middleware = observe(app[METRICS], None, limits.request_max_body_bytes)
    handler = _handler(stage)
    headers = CIMultiDictProxy(CIMultiDict({"Authorization": header, "Content-Type": "application/json"}))
    raws = [orjson.dumps(body) for body in BODIES]

    async def lane(first: int) -> None:
        for i in range(first, requests, IN_FLIGHT):
            response = await middleware(_Request(app, headers, raws[i % len(raws)], limits.request_max_body_bytes),
                                        handler)
            assert response.status == 201, response.body

    await asyncio.gather(*(lane(k) for k in range(IN_FLIGHT)))


def counted(stage: str, requests: int) -> int:
    from bench.callgrind import total_instructions

    with tempfile.TemporaryDirectory(prefix="barid-cost-") as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__,
                        "--run", stage, "--requests", str(requests)],
                       env={**os.environ, "OPENBLAS_NUM_THREADS": "1"}, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return total_instructions(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--run", choices=STAGES, help=argparse.SUPPRESS)  # the counted process itself
    args = ap.parse_args()
    if args.run:
        import uvloop

        from gateway.supervisor import tune_gc

        tune_gc()  # the worker's collector settings: with the default ones a gen-0 pass ran every few requests
        uvloop.run(drive(args.run, args.requests))
        return
    from bench.callgrind import require_valgrind

    require_valgrind()
    print(f"\ngateway handler instructions per booking (callgrind, in-process, {IN_FLIGHT} in flight, no HTTP)")
    print(f"{'stage':>10} {'total':>9} {'added':>8}")
    before = 0.0
    for stage in STAGES:
        if stage not in args.stages:
            continue
        per = (counted(stage, 3 * args.requests) - counted(stage, args.requests)) / (2 * args.requests)
        print(f"{stage:>10} {per:>9,.0f} {per - before:>8,.0f}" if before else f"{stage:>10} {per:>9,.0f}", flush=True)
        before = per


if __name__ == "__main__":
    main()
