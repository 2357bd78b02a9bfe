"""The ceiling: a bare aiohttp hello-world run exactly like the gateway (supervisor, uvloop, SO_REUSEPORT).

With ``floor`` it serves instead what aiohttp alone costs for a booking-shaped request: ``POST /v1/shipments``
whose JSON body is read and parsed as the gateway reads it, answered 201 with as many bytes as a booking's
answer. No booking can be cheaper than that; the gap between it and a booking is the gateway's own work.

With ``stored`` it serves ``floor`` plus the store's part of a booking, and nothing else: each request writes what
a booking writes (the booking script with a real booking's document and event, under a fresh name shaped like a
tracking number, and the two writes beside it, through the gateway's own micro-batcher and connection) and waits
for the store's answer.
The records are made once at start from the bench's bodies, the caller is fixed, nothing is validated or priced:
the most a booking could reach with a handler that cost nothing but its store round trip. Needs ``REDIS_URL`` and
``BENCH_API_KEY`` (a shop's key).

    python -m bench.hello PORT WORKERS [floor|stored]
"""

from __future__ import annotations

import itertools
import os
import sys
import time

import orjson
from aiohttp import web

from gateway.supervisor import Role, Supervisor, tune_gc


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="Hello, world")


FLOOR_ANSWER = b'{"answer":"' + b"x" * 880 + b'"}'  # a booking's answer is about 900 bytes


async def floor(request: web.Request) -> web.Response:
    content = request.content
    orjson.loads(content.read_nowait() if content.is_eof() else await request.read())  # as booking.web
    return web.Response(body=FLOOR_ANSWER, status=201, content_type="application/json")


class StoredBookings:
    """A booking's store writes, ready but for the tracking number and the time: one per bench body, made as
    ``BookingService.book_one`` makes them, written through the gateway's batcher."""

    def __init__(self, app: web.Application, shop, key_hash: str, worker: int) -> None:
        from bench.booking_bench import BODIES
        from booking.app_keys import BOOKING, VALIDATOR
        from booking.service import _shop_keys
        from kernel.app_keys import BATCHER
        from kernel.postal.timeutil import iso_ms
        from kernel.store import keys
        from kernel.store.keys import FEED_MAXLEN

        booking = app[BOOKING]
        self.batcher, self.script, self.shop_id = app[BATCHER], booking._book, shop.id
        # Tracking-number-shaped names no real serial takes: "Z", a letter, nine digits, "IR"; each worker its own
        # letter and block of the digits (260 workers per store, each 100 million bookings).
        self.prefix = "Z" + chr(ord("A") + worker % 26)
        self.iso_ms, self.index_member, self.tracking_index = iso_ms, keys.index_member, keys.tracking_index
        shop_keys = _shop_keys(shop.id)
        self.head, self.parcel = shop_keys.book_one, shop_keys.parcel
        self.guard = (key_hash, booking._rate_arg, booking.default_burst, 1, "", booking.idempotency_ttl_s, b"", 1,
                      shop.id, FEED_MAXLEN)
        now = time.time()
        self.prepared = []
        for body in BODIES:
            req, _ = app[VALIDATOR].shipment(body, shop.sender)
            _, doc, event, office, expected = booking._records(shop.id, req, "EE000000000IR", now, iso_ms(now), b"")
            self.prepared.append((shop_keys.order + req.client_order_id, doc, event, keys.office_due(office),
                                  int(expected.replace("-", "")), req.client_order_id))
        self.counter = itertools.count(worker // 26 % 10 * 100_000_000)

    def book(self):
        n = next(self.counter)
        order, doc, event, due, expected, order_id = self.prepared[n % len(self.prepared)]
        tn = f"{self.prefix}{n:09d}IR"
        now = time.time()
        created_ms = int(now * 1000)
        created_at = self.iso_ms(now)
        return self.batcher.script_and(
            self.script, (*self.head, self.parcel + tn, order, *self.guard, tn, created_ms,
                          self.index_member(created_ms, tn), doc, event, created_at, order_id, "1"),
            (("SET", self.tracking_index(tn), self.shop_id), ("ZADD", due, expected, tn)))


STORED = web.AppKey("stored", StoredBookings)


def stored_app() -> web.Application:
    """The gateway's own store pieces (its client, batcher, validator and booking service, as ``create_app``
    makes them), and the prepared bookings on top."""
    from booking.shops import ShopRegistry, hash_key, parse_api_key
    from gateway.web_app import _store_ctx
    from kernel.app_keys import LIMITS, REDIS
    from kernel.postal.tariff import Limits
    from kernel.settings import Config

    config, api_key = Config.from_env(), os.environ["BENCH_API_KEY"]
    app = web.Application()
    app[LIMITS] = Limits.load(config.limits_path)

    async def prepared(app: web.Application):
        redis = app[REDIS]
        shop = await ShopRegistry(redis).get(parse_api_key(api_key))
        worker = await redis.incr("bench:stored:workers") - 1  # numbered by the store: no two share a number
        app[STORED] = StoredBookings(app, shop, hash_key(api_key), worker)
        yield

    app.cleanup_ctx.extend([_store_ctx(config, os.environ["REDIS_URL"]), prepared])
    app.router.add_post("/v1/shipments", stored)
    return app


async def stored(request: web.Request) -> web.Response:
    content = request.content
    orjson.loads(content.read_nowait() if content.is_eof() else await request.read())
    res, *_ = await request.app[STORED].book()
    if isinstance(res, BaseException) or res[0] != b"OK":
        raise web.HTTPInternalServerError(text=repr(res))
    return web.Response(body=FLOOR_ANSWER, status=201, content_type="application/json")


def serve(port: int, mode: str = "hello") -> None:
    import uvloop

    uvloop.install()
    if mode == "stored":
        app = stored_app()
    else:
        app = web.Application()
        if mode == "floor":
            app.router.add_post("/v1/shipments", floor)
        else:
            app.router.add_get("/", hello)
    tune_gc()  # the same process settings as a gateway worker
    web.run_app(app, host="127.0.0.1", port=port, reuse_port=True, access_log=None, print=None)


if __name__ == "__main__":
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    Supervisor([Role("hello", serve, (port, sys.argv[3] if len(sys.argv) > 3 else "hello"), workers)]).run()
