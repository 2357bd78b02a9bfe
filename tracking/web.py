"""Tracking routes: staff scans, webhook endpoints, the shop's event feed and the buyers' tracking.

``setup(app, config)`` adds the routes and a cleanup_ctx that builds the services once the store client
(``kernel.app_keys.REDIS``) exists, so the gateway mounts it after its store context (gateway/web_app.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web

from booking.auth import require_shop
from kernel.app_keys import BATCHER, CONFIG, REDIS, STORE_URL
from kernel.errors import BaridError, ValidationFailed
from kernel.http import client_address, read_json
from kernel.postal.offices import Registry, load_registry
from kernel.postal.s10 import S10Error, format_tracking_number, parse_tracking_number
from kernel.settings import TrackingConfig
from kernel.store import keys
from kernel.store.batcher import Batcher
from kernel.store.client import async_client
from kernel.store.keys import parcel_history
from pod.scan import POD_SCANS

from . import feed, page, ratelimit
from .app_keys import TRACKING, Tracking
from .scans import ParcelNotFound, Scan, ScanService, parse_scan, problem_of
from .staff import STAFF_SESSION_AUTH, Staff, bearer
from .webhooks import WebhookRegistry

JSON = "application/json"
MAX_SSE_STREAMS = 1000  # store connections the SSE pool may hold


TRACKING_CONFIG = web.AppKey("tracking_config", TrackingConfig)
_OFFICES = web.AppKey("tracking_offices", Registry)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type=JSON)


async def require_staff(request: web.Request) -> Staff:
    """The staff member behind a bearer token or, without an Authorization header, a staff app session."""
    session = request.app.get(STAFF_SESSION_AUTH)
    if session is not None and "Authorization" not in request.headers:
        staff = await session(request)
        if staff is not None:
            return staff
    return await request.app[TRACKING].scans.authenticate(bearer(request))


# -- scans -----------------------------------------------------------------------------------------------
async def post_scan(request: web.Request) -> web.Response:
    t = request.app[TRACKING]
    staff = await require_staff(request)
    body, _ = await read_json(request)
    scan = parse_scan(body, t.offices, t.config, time.time())
    if isinstance(scan, list):
        raise ValidationFailed(f"{len(scan)} field(s) are invalid", "برخی فیلدها نامعتبرند", errors=scan)
    (result,) = await t.scans.record(staff, [scan])
    if isinstance(result, BaridError):
        raise result
    return _json({"scan_id": scan.scan_id, "tracking_number": scan.tracking_number, **result},
                 200 if result["duplicate"] else 201)


async def post_scan_batch(request: web.Request) -> web.Response:
    t = request.app[TRACKING]
    staff = await require_staff(request)
    body, _ = await read_json(request)
    parsed, results_of_valid = await t.scans.record_upload(staff, body)
    recorded = iter(results_of_valid)
    results: list[dict[str, Any]] = []
    added = duplicates = 0
    for i, s in enumerate(parsed):
        if type(s) is not Scan:
            results.append({"index": i, "ok": False, "error": problem_of(ValidationFailed(errors=s))})
            continue
        r = next(recorded)
        if isinstance(r, BaridError):
            results.append({"index": i, "scan_id": s.scan_id, "ok": False, "error": problem_of(r)})
        else:
            results.append({"index": i, "scan_id": s.scan_id, "ok": True, **r})
            if r["duplicate"]:
                duplicates += 1
            else:
                added += 1
    return _json({"recorded": added, "duplicates": duplicates, "rejected": len(parsed) - added - duplicates,
                  "results": results})


# -- webhook endpoints ---------------------------------------------------------------------------------
async def create_webhook(request: web.Request) -> web.Response:
    shop = await require_shop(request, manage=True)
    body, _ = await read_json(request)
    return _json(await request.app[TRACKING].webhooks.create(shop.id, body), 201)


async def list_webhooks(request: web.Request) -> web.Response:
    shop = await require_shop(request, manage=True)
    return _json({"data": await request.app[TRACKING].webhooks.list(shop.id)})


async def get_webhook(request: web.Request) -> web.Response:
    shop = await require_shop(request, manage=True)
    return _json(await request.app[TRACKING].webhooks.get(shop.id, request.match_info["endpoint_id"]))


async def delete_webhook(request: web.Request) -> web.Response:
    shop = await require_shop(request, manage=True)
    await request.app[TRACKING].webhooks.delete(shop.id, request.match_info["endpoint_id"])
    return web.Response(status=204)


def _set_status(status: str):
    async def handler(request: web.Request) -> web.Response:
        shop = await require_shop(request, manage=True)
        return _json(await request.app[TRACKING].webhooks.set_status(shop.id, request.match_info["endpoint_id"],
                                                                     status))

    return handler


async def rotate_secret(request: web.Request) -> web.Response:
    shop = await require_shop(request, manage=True)
    return _json(await request.app[TRACKING].webhooks.rotate_secret(shop.id, request.match_info["endpoint_id"]))


async def replay(request: web.Request) -> web.Response:
    shop = await require_shop(request, manage=True)
    body = (await read_json(request))[0] if request.can_read_body else {}
    return _json(await request.app[TRACKING].webhooks.replay(shop.id, request.match_info["endpoint_id"], body),
                 202)


# -- the shop's event feed -------------------------------------------------------------------------------
async def poll_events(request: web.Request) -> web.Response:
    shop = await require_shop(request)
    after = feed.parse_cursor(request.query.get("after"))
    body = await feed.poll(request.app[TRACKING].redis, shop.id, after, feed.parse_limit(request.query.get("limit")))
    return web.Response(body=body, content_type=JSON)


async def stream_events(request: web.Request) -> web.StreamResponse:
    shop = await require_shop(request)
    t = request.app[TRACKING]
    # A resuming client's Last-Event-ID wins over `after`, but a malformed `after` is refused either way, as the
    # document says (it would otherwise be accepted whenever the header came with it).
    query_after = feed.parse_cursor(request.query.get("after"))
    header = request.headers.get("Last-Event-ID")
    after = feed.parse_cursor(header, "Last-Event-ID") if header else query_after
    return await feed.stream(request, t.blocking, shop.id, after, t.config.sse_heartbeat_s)


# -- buyers ----------------------------------------------------------------------------------------------
def _normalise_tn(raw: str) -> str:
    indicator, serial = parse_tracking_number(raw, country=None)
    return format_tracking_number(indicator, serial, "".join(raw.split()).upper()[-2:])


async def _public_view(request: web.Request) -> dict[str, Any]:
    t = request.app[TRACKING]
    raw = request.match_info["tracking_number"]
    # Every lookup counts against its address, found or not (walking serials mostly finds nothing); the count
    # and the owner lookup share one round trip.
    client = client_address(request, request.app[CONFIG].trusted_proxies)
    limit = ratelimit.check(t.scans.batcher, t.config.track_limits, client)
    try:
        tn = _normalise_tn(raw)
    except S10Error:
        await limit
        raise ParcelNotFound(f"no parcel {raw}", "مرسوله‌ای با این کد رهگیری وجود ندارد") from None
    owners, _ = await asyncio.gather(t.scans.owners([tn]), limit)
    shop_id = owners.get(tn)
    if shop_id is None:
        raise ParcelNotFound(f"no parcel {tn}", "مرسوله‌ای با این کد رهگیری وجود ندارد")
    parcel = await t.redis.hgetall(keys.parcel(shop_id, tn))
    if not parcel:
        raise ParcelNotFound(f"no parcel {tn}", "مرسوله‌ای با این کد رهگیری وجود ندارد")
    return page.public_view(parcel, parcel_history(parcel), t.offices)


async def track_json(request: web.Request) -> web.Response:
    resp = _json(await _public_view(request))
    resp.headers["Cache-Control"] = "public, max-age=15"
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


async def track_page(request: web.Request) -> web.Response:
    try:
        body, status = page.render(await _public_view(request)), 200
    except ParcelNotFound:
        body, status = page.render_not_found(request.match_info["tracking_number"]), 404
    return web.Response(body=body, status=status, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "public, max-age=15",
                                 "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


async def _ctx(app: web.Application) -> AsyncIterator[None]:
    config, redis = app[TRACKING_CONFIG], app[REDIS]
    # Live streams block on XREAD: their own connections, so they never starve the request path.
    blocking = async_client(app[STORE_URL], cluster=app[CONFIG].redis_cluster, max_connections=MAX_SSE_STREAMS,
                            block_s=config.sse_heartbeat_s)
    offices = app.get(_OFFICES) or load_registry()
    lookups = Batcher(redis, app[STORE_URL])
    app[TRACKING] = Tracking(config, offices, redis, blocking,
                             ScanService(redis, offices, config, app[BATCHER], lookups, pod=app.get(POD_SCANS)),
                             WebhookRegistry(redis, config))
    yield
    lookups.close()
    await blocking.aclose()


def setup(app: web.Application, config: TrackingConfig, offices: Registry | None = None) -> None:
    """Add the tracking routes and services to the gateway app (after its store context)."""
    app[TRACKING_CONFIG] = config
    if offices is not None:
        app[_OFFICES] = offices
    app.cleanup_ctx.append(_ctx)
    r = app.router
    r.add_post("/v1/scans", post_scan)
    r.add_post("/v1/scans/batch", post_scan_batch)
    r.add_post("/v1/webhooks", create_webhook)
    r.add_get("/v1/webhooks", list_webhooks)
    r.add_get("/v1/webhooks/{endpoint_id}", get_webhook)
    r.add_delete("/v1/webhooks/{endpoint_id}", delete_webhook)
    r.add_post("/v1/webhooks/{endpoint_id}/pause", _set_status("paused"))
    r.add_post("/v1/webhooks/{endpoint_id}/resume", _set_status("active"))
    r.add_post("/v1/webhooks/{endpoint_id}/rotate-secret", rotate_secret)
    r.add_post("/v1/webhooks/{endpoint_id}/replay", replay)
    r.add_get("/v1/events", poll_events)
    r.add_get("/v1/events/stream", stream_events)
    r.add_get("/v1/track/{tracking_number}", track_json)
    r.add_get("/track/{tracking_number}", track_page)
