"""The ceiling: a bare aiohttp hello-world run exactly like the gateway (supervisor, uvloop, SO_REUSEPORT).

    python -m loadtests.hello PORT WORKERS

``bench/hello.py`` serves the same and, for the benchmarks, what a booking-shaped request costs aiohttp alone.
"""

from __future__ import annotations

import sys

from aiohttp import web

from gateway.supervisor import Role, Supervisor, tune_gc


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="Hello, world")


def serve(port: int) -> None:
    import uvloop

    uvloop.install()
    app = web.Application()
    app.router.add_get("/", hello)
    tune_gc()  # the same process settings as a gateway worker
    web.run_app(app, host="127.0.0.1", port=port, reuse_port=True, access_log=None, print=None)


if __name__ == "__main__":
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    Supervisor([Role("hello", serve, (port,), workers)]).run()
