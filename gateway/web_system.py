"""Operational endpoints: liveness, readiness, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web

from .app_keys import LIMITS, METRICS, METRICS_SHARE, REDIS
from .errors import StoreUnavailable
from .openapi import openapi_document

_OPENAPI = web.AppKey("openapi_body", bytes)


async def healthz(request: web.Request) -> web.Response:
    return web.Response(body=b'{"status":"ok"}', content_type="application/json")


async def readyz(request: web.Request) -> web.Response:
    try:
        await asyncio.wait_for(request.app[REDIS].ping(), timeout=2)
    except Exception as exc:  # any failure to reach the store means not ready
        raise StoreUnavailable(f"store not reachable: {type(exc).__name__}", "پایگاه داده در دسترس نیست",
                               headers={"Retry-After": "1"}) from None
    return web.Response(body=b'{"status":"ready","store":"ok"}', content_type="application/json")


async def metrics(request: web.Request) -> web.Response:
    share = request.app.get(METRICS_SHARE)
    text = share.render() if share is not None else request.app[METRICS].render()
    return web.Response(text=text, content_type="text/plain", headers={"X-Content-Type-Options": "nosniff"})


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[_OPENAPI], content_type="application/json")


def setup(app: web.Application) -> None:
    app[_OPENAPI] = orjson.dumps(openapi_document(limits=app[LIMITS]))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/openapi.json", openapi)
