"""Operational endpoints: liveness, readiness, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress

import orjson
from aiohttp import web

from gateway.metrics import METRICS_SHARE
from kernel.app_keys import CONFIG, LIMITS, METRICS, REDIS
from kernel.errors import Forbidden, StoreUnavailable
from kernel.settings import Config, hash_token

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


class MetricsForbidden(Forbidden):
    code = "metrics_forbidden"
    title = "Metrics are for operators"


def _may_read_metrics(request: web.Request, config: Config) -> bool:
    """Loopback clients (a scraper on the same machine) and holders of the operator token; anyone where the
    operator opened it. Behind a reverse proxy on this machine every client looks local: set a token and keep
    /metrics off the proxy."""
    if config.metrics_public:
        return True
    remote = request.remote
    if remote is None:  # a Unix socket: only this machine can reach it
        return True
    try:
        addr = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        addr = None
    if addr is not None:
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        if addr.is_loopback:
            return True
    if config.metrics_token_sha256 is None:
        return False
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    return hmac.compare_digest(hash_token(token.strip()), config.metrics_token_sha256)


async def metrics(request: web.Request) -> web.Response:
    if not _may_read_metrics(request, request.app[CONFIG]):
        raise MetricsForbidden("metrics are served to loopback clients and to the operator token only",
                               "آمار سامانه فقط برای دسترسی از همین دستگاه یا با توکن اپراتور در دسترس است")
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
