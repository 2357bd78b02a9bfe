"""Proof-of-delivery routes (docs/pod.md).

* ``GET /v1/shipments/{tracking_number}/pod``: the shop's proof of delivery of its parcel (404 for any other
  shop), with signed links to its images that expire.
* ``GET /v1/pod/files/{key}?expires=&signature=``: an image, for a link whose signature and expiry hold.
* ``POST /v1/pod/{tracking_number}/unlock``: a supervisor of the parcel's delivering office forgives its wrong
  delivery codes (staff token).
* ``GET`` / ``PUT /v1/pod/policy``: the shop's own verification for its parcels.

``setup(app)`` adds the routes, puts the feature's part of the scan path (``pod.scan.POD_SCANS``) in the app for
tracking's scan service, and a cleanup_ctx (after the gateway's store context) that builds the service. The
secret is loaded on first use, so the gateway starts (and answers 503) while the store is down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web

from booking.app_keys import SHOPS
from booking.auth import require_shop
from kernel.app_keys import BATCHER, CONFIG, REDIS
from kernel.errors import FieldError, Forbidden, validation_failed
from kernel.http import read_json
from kernel.postal.s10 import is_valid
from kernel.store import keys
from tracking.staff import STAFF_AUTH

from .policy import FIELD, METHODS, POLICY
from .scan import POD_SCANS, PodScans
from .service import PodNotFound, PodService
from .settings import PodSettings, load_secret
from .storage import FILES_ROUTE, FileStorage, verify_link

JSON = "application/json"
POD = web.AppKey("pod_service", PodService)
POD_SETTINGS = web.AppKey("pod_settings", PodSettings)


class PodLinkInvalid(Forbidden):
    code = "pod_link_invalid"
    title = "The image link is not valid"


class PodLinkExpired(Forbidden):
    code = "pod_link_expired"
    title = "The image link has expired"


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type=JSON)


def _tn(request: web.Request) -> str:
    tn = request.match_info["tracking_number"].strip().upper()
    if not is_valid(tn):
        raise PodNotFound(f"no parcel {tn[:20]}", "مرسوله‌ای با این کد رهگیری وجود ندارد", code="parcel_not_found")
    return tn


async def get_pod(request: web.Request) -> web.Response:
    shop = await require_shop(request)
    await request.app[POD_SCANS].ready()
    return _json(await request.app[POD].view(shop.id, _tn(request)))


async def get_file(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    await request.app[POD_SCANS].ready()
    why = verify_link(request.app[POD_SCANS].secret, key, request.query.get("expires", ""),
                      request.query.get("signature", ""))
    if why == "expired":
        raise PodLinkExpired("this image link has expired; read the proof of delivery again for a fresh one",
                             "مهلت این پیوند تصویر به پایان رسیده است؛ رسید تحویل را دوباره بخوانید")
    if why is not None:
        raise PodLinkInvalid("this image link is not valid", "پیوند این تصویر معتبر نیست")
    got = await request.app[POD_SCANS].storage.get(key)
    if got is None:
        raise PodNotFound("the image is gone", "این تصویر دیگر وجود ندارد")
    data, content_type = got
    return web.Response(body=data, content_type=content_type,
                        headers={"Cache-Control": "private, max-age=60", "X-Content-Type-Options": "nosniff"})


async def unlock(request: web.Request) -> web.Response:
    staff = await request.app[STAFF_AUTH](request)  # tracking authenticates staff for every feature
    tn = _tn(request)
    shop = await request.app[REDIS].get(keys.tracking_index(tn))
    if shop is None:
        raise PodNotFound(f"no parcel {tn}", f"مرسوله‌ای با کد رهگیری {tn} وجود ندارد", code="parcel_not_found")
    return _json(await request.app[POD].unlock(staff, int(shop), tn))


async def get_policy(request: web.Request) -> web.Response:
    shop = await require_shop(request)
    setting = await request.app[REDIS].hget(keys.shop(shop.id), FIELD)
    return _json(_policy_view(setting.decode() if setting else None))


async def put_policy(request: web.Request) -> web.Response:
    shop = await require_shop(request)
    body, _ = await read_json(request)
    value = body.get(FIELD, ...) if isinstance(body, dict) else ...
    if value is not None and value not in METHODS:
        raise validation_failed([FieldError(FIELD, "enum", f"Must be one of: {', '.join(METHODS)}, or null.",
                                            "باید یکی از none، otp یا signature (یا null برای پیش‌فرض) باشد.")])
    await request.app[POD].set_shop_setting(shop.id, value)
    request.app[SHOPS].forget(shop.id)
    return _json(_policy_view(value))


def _policy_view(setting: str | None) -> dict[str, Any]:
    return {FIELD: setting, "default": {"cod_otp_above_rial": POLICY.cod_otp_above_rial},
            "max_wrong_codes": POLICY.max_wrong_codes, "relations": list(POLICY.relation_names)}


async def _ctx(app: web.Application) -> AsyncIterator[None]:
    scans = app[POD_SCANS]
    redis, settings = app[REDIS], app[POD_SETTINGS]
    scans.secret_loader = lambda: load_secret(redis, settings)
    app[POD] = PodService(redis, app[BATCHER], scans.storage)
    yield


def setup(app: web.Application, settings: PodSettings | None = None) -> None:
    """Add the proof-of-delivery routes and services (after the gateway's store context)."""
    settings = settings or PodSettings.from_config(app[CONFIG])
    app[POD_SETTINGS] = settings
    # Made now, filled with the secret at startup: tracking's scan service takes it whichever context runs first.
    app[POD_SCANS] = PodScans(b"", FileStorage(settings.image_dir, b""))
    app.cleanup_ctx.append(_ctx)
    r = app.router
    r.add_get("/v1/shipments/{tracking_number}/pod", get_pod)
    r.add_get(FILES_ROUTE + "/{key:.+}", get_file)
    r.add_post("/v1/pod/{tracking_number}/unlock", unlock)
    r.add_get("/v1/pod/policy", get_policy)
    r.add_put("/v1/pod/policy", put_policy)
