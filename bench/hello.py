"""The ceiling: a bare aiohttp hello-world run exactly like the gateway (supervisor, uvloop, SO_REUSEPORT).

With ``floor`` it serves instead what aiohttp alone costs for a booking-shaped request: ``POST /v1/shipments``
whose JSON body is read and parsed as the gateway reads it, answered 201 with as many bytes as a booking's
answer. No booking can be cheaper than that; the gap between it and a booking is the gateway's own work.

    python -m bench.hello PORT WORKERS [floor]
"""

from __future__ import annotations

import sys

import orjson
from aiohttp import web

from gateway.web_runner import Role, Supervisor, tune_gc


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="Hello, world")


FLOOR_ANSWER = b'{"answer":"' + b"x" * 880 + b'"}'  # a booking's answer is about 900 bytes


async def floor(request: web.Request) -> web.Response:
    content = request.content
    orjson.loads(content.read_nowait() if content.is_eof() else await request.read())  # as gateway.web_shipments
    return web.Response(body=FLOOR_ANSWER, status=201, content_type="application/json")


def serve(port: int, booking_shaped: bool = False) -> None:
    import uvloop

    uvloop.install()
    app = web.Application()
    if booking_shaped:
        app.router.add_post("/v1/shipments", floor)
    else:
        app.router.add_get("/", hello)
    tune_gc()  # the same process settings as a gateway worker
    web.run_app(app, host="127.0.0.1", port=port, reuse_port=True, access_log=None, print=None)


if __name__ == "__main__":
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    Supervisor([Role("hello", serve, (port, sys.argv[3:] == ["floor"]), workers)]).run()
