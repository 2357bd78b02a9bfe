"""Buyer-notification routes, and the SMS worker of this process.

* ``GET /v1/notifications``, ``PUT /v1/notifications`` ``{"events": [...]}``: the shop's SMS events (none by
  default: SMS is a priced add-on, the quote and the booking carry its fee while any event is on).
* ``POST /v1/sms-opt-outs`` ``{"phone": "09..."}``: nothing more is sent to that number (a shop's API key or a
  post-office staff token); ``python -m notify opt-out|opt-in PHONE`` for operators.
* ``GET /v1/shipments/{tracking_number}/notifications``: the parcel's messages with their provider receipts.
* ``GET/POST /s/{token}``: the buyer's self-service page (``notify.selfservice``).

``setup(app, ...)`` adds the routes and a cleanup_ctx (after the gateway's store context) that builds the SMS
service and runs its worker (consumer group ``sms`` on every partition outbox) unless ``interval_s`` is 0.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from aiohttp import web

from booking.app_keys import SHOPS
from booking.auth import require_shop
from booking.service import ShipmentNotFound
from kernel.app_keys import BATCHER, CONFIG, REDIS
from kernel.errors import FieldError, ValidationFailed
from kernel.http import read_json
from kernel.postal.offices import load_registry
from kernel.postal.s10 import is_valid
from kernel.postal.text import PostalError, normalize_mobile
from kernel.store import keys
from kernel.tasks import stop_task
from returns.cases import CaseService
from returns.policy import load_policy as load_ndr_policy
from tracking.staff import STAFF_AUTH

from . import selfservice
from .appkeys import NDR_CASES, SMS, SMS_POLICY, SMS_SETTINGS
from .policy import SmsPolicy, load_policy
from .provider import Kavenegar, SmsProvider
from .sender import DeliveryCode, SmsService, no_delivery_code, run_worker
from .settings import NotifySettings

JSON = "application/json"


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type=JSON)


def _invalid(field: str, code: str, en: str, fa: str) -> ValidationFailed:
    return ValidationFailed(f"{field} is invalid", "برخی فیلدها نامعتبرند", errors=[FieldError(field, code, en, fa)])


# -- shop settings -----------------------------------------------------------------------------------------
async def get_settings(request: web.Request) -> web.Response:
    shop = await require_shop(request)
    sms = request.app[SMS]
    return _json({"events": await sms.shop_events(shop.id), "available": list(sms.policy.events)})


async def put_settings(request: web.Request) -> web.Response:
    shop = await require_shop(request)
    body, _ = await read_json(request)
    sms = request.app[SMS]
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list) or not all(isinstance(e, str) and e in sms.policy.events for e in events):
        raise _invalid("events", "events_invalid", f"Must be a list of: {', '.join(sms.policy.events)}.",
                       f"فهرست رویدادها باید از میان {'، '.join(sms.policy.events)} باشد.")
    saved = await sms.set_shop_events(shop.id, events)
    request.app[SHOPS].forget(shop.id)  # this process prices the next quote with the fee at once; others soon
    return _json({"events": saved, "available": list(sms.policy.events)})


# -- opt-outs ----------------------------------------------------------------------------------------------
async def _shop_or_staff(request: web.Request) -> str:
    """Who asks: ``shop:<id>`` for an API key, ``staff:<id>`` for a post-office staff token (operators)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.startswith(keys.STAFF_TOKEN_PREFIX):
        return f"staff:{(await request.app[STAFF_AUTH](request)).id}"
    return f"shop:{(await require_shop(request)).id}"


async def post_opt_out(request: web.Request) -> web.Response:
    await _shop_or_staff(request)
    body, _ = await read_json(request)
    try:
        phone = normalize_mobile(body.get("phone") if isinstance(body, dict) else None)
    except PostalError as exc:
        raise _invalid("phone", exc.code, exc.message, exc.message_fa) from None
    new = await request.app[SMS].opt_out(phone)
    return _json({"phone": phone, "opted_out": True}, 201 if new else 200)


# -- receipts ----------------------------------------------------------------------------------------------
async def list_notifications(request: web.Request) -> web.Response:
    shop = await require_shop(request)
    tn = request.match_info["tracking_number"].strip().upper()
    if not is_valid(tn) or not await request.app[REDIS].exists(keys.parcel(shop.id, tn)):
        raise ShipmentNotFound(f"no shipment {tn[:20]} in this shop",
                               "مرسوله‌ای با این شماره برای این فروشگاه پیدا نشد")
    return _json({"tracking_number": tn, "data": await request.app[SMS].receipts(shop.id, tn)})


# -- assembly ----------------------------------------------------------------------------------------------
def _ctx(provider: SmsProvider | None, delivery_code: DeliveryCode,
         cases: Callable[[web.Application], Any] | None):
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        settings, policy = app[SMS_SETTINGS], app[SMS_POLICY]
        consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        registry = load_registry()
        own = provider or Kavenegar(settings.provider_url or "http://127.0.0.1:8086", settings.api_key or "dev",
                                    settings.sender)
        sms = app[SMS] = SmsService(app[REDIS], app[BATCHER], registry, policy, settings, own, consumer,
                                    delivery_code=delivery_code)
        app[NDR_CASES] = cases(app) if cases is not None else CaseService(
            app[REDIS], app[BATCHER], registry, load_ndr_policy(), consumer)
        task = asyncio.ensure_future(run_worker(sms, settings.interval_s)) if settings.interval_s > 0 else None
        yield
        if task is not None:
            await stop_task(task)
        if provider is None:
            await own.close()  # type: ignore[attr-defined]

    return ctx


def setup(app: web.Application, *, settings: NotifySettings | None = None, policy: SmsPolicy | None = None,
          provider: SmsProvider | None = None, delivery_code: DeliveryCode = no_delivery_code,
          cases: Callable[[web.Application], Any] | None = None) -> None:
    """Add the notification routes and the SMS worker (after the gateway's store context).

    ``delivery_code(tracking_number)`` gives the buyer's delivery code for the out-for-delivery SMS (None: no
    code); ``cases(app)`` the returns feature's case service for the self-service page (default: one built from
    ``returns.cases`` on this app's store)."""
    app[SMS_SETTINGS] = settings or NotifySettings.from_config(app[CONFIG])
    app[SMS_POLICY] = policy or load_policy()
    app.cleanup_ctx.append(_ctx(provider, delivery_code, cases))
    r = app.router
    r.add_get("/v1/notifications", get_settings)
    r.add_put("/v1/notifications", put_settings)
    r.add_post("/v1/sms-opt-outs", post_opt_out)
    r.add_get("/v1/shipments/{tracking_number}/notifications", list_notifications)
    r.add_get("/s/{token}", selfservice.page)
    r.add_post("/s/{token}", selfservice.choose)
