"""Return routes: a shop's buyer returns and its list of returns (``returns.buyer``; the legs: ``returns.legs``).

* ``POST /v1/returns`` ``{"tracking_number", "reason"}`` (Idempotency-Key honoured): 201 with the return parcel
  and the URL of its label (the labels feature's ``GET /v1/shipments/{tracking_number}/label``).
* ``GET /v1/returns`` (``kind``, ``after``, ``limit``): the shop's return parcels, both kinds, newest first.

``setup(app)`` is called by ``returns.web.setup``: the service is built after the case service (it shares its legs).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web

from booking.app_keys import BOOKING
from booking.auth import require_caller, require_shop
from booking.idempotency import idempotent
from booking.service import ShipmentNotFound
from kernel.app_keys import BATCHER, REDIS
from kernel.errors import FieldError, validation_failed
from kernel.http import read_json
from kernel.postal.s10 import is_valid

from .buyer import REASONS, BuyerReturns, ReturnPolicy, load_policy
from .legs import KINDS

RETURNS_POLICY = web.AppKey("returns_policy", ReturnPolicy)
RETURNS = web.AppKey("returns_buyer", BuyerReturns)
_TN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}", re.ASCII)
_CURSOR = re.compile(r"[0-9]{13}:[A-Z]{2}[0-9]{9}[A-Z]{2}", re.ASCII)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def parse_return(body: Any) -> tuple[str, str] | list[FieldError]:
    if not isinstance(body, dict):
        return [FieldError("", "type_object", "Must be a JSON object.", "باید شیء JSON باشد.")]
    errs = []
    raw = body.get("tracking_number")
    tn = raw.strip().upper() if isinstance(raw, str) else ""
    if not _TN_SHAPE.fullmatch(tn):
        errs.append(FieldError("tracking_number", "tracking_number_invalid", "Must be an S10 tracking number.",
                               "کد رهگیری نامعتبر است."))
    reason = body.get("reason")
    if not isinstance(reason, str) or reason not in REASONS:
        errs.append(FieldError("reason", "return_reason_invalid", f"Must be one of: {', '.join(REASONS)}.",
                               f"علت بازگشت باید یکی از {'، '.join(REASONS)} باشد."))
    return errs or (tn, reason)  # type: ignore[return-value]


async def post_return(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    body, raw = await read_json(request)
    app = request.app

    async def produce() -> tuple[int, bytes]:
        await app[BOOKING].authorize(caller)  # bad input still needs a valid, rate-limited caller
        parsed = parse_return(body)
        if isinstance(parsed, list):
            raise validation_failed(parsed)
        if not is_valid(parsed[0]):  # the shape of one, but no tracking number exists with that check digit
            raise ShipmentNotFound(f"no shipment {parsed[0]} in this shop", f"مرسوله {parsed[0]} در این فروشگاه یافت نشد")
        ret = await app[RETURNS].create(caller.shop.id, *parsed)
        ret["label_url"] = f"/v1/shipments/{ret['tracking_number']}/label"
        return 201, orjson.dumps(ret)

    return await idempotent(request, caller, raw, produce)


async def list_returns(request: web.Request) -> web.Response:
    shop = await require_shop(request)
    q = request.query
    service = request.app[RETURNS]
    errs = []
    kind, after, limit = q.get("kind"), q.get("after"), q.get("limit", "50")
    if kind is not None and kind not in KINDS:
        errs.append(FieldError("kind", "enum", f"Must be one of: {', '.join(KINDS)}.", "نوع بازگشت نامعتبر است."))
    if after is not None and not _CURSOR.fullmatch(after):
        errs.append(FieldError("after", "cursor_invalid", "Must be a cursor from an earlier answer.",
                               "نشانگر نامعتبر است."))
    top = service.policy.list_max
    if not limit.isdecimal() or not 1 <= int(limit) <= top:
        errs.append(FieldError("limit", "limit_invalid", f"Must be 1-{top}.", f"limit باید بین ۱ تا {top} باشد."))
    if errs:
        raise validation_failed(errs)
    return _json(await service.list(shop.id, kind=kind, after=after, limit=int(limit)))


def setup(app: web.Application, cases_key: web.AppKey, policy: ReturnPolicy | None = None) -> None:
    app[RETURNS_POLICY] = policy or load_policy()

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        app[RETURNS] = BuyerReturns(app[REDIS], app[BATCHER], app[cases_key].legs, app[RETURNS_POLICY])
        yield

    app.cleanup_ctx.append(ctx)
    app.router.add_post("/v1/returns", post_return)
    app.router.add_get("/v1/returns", list_returns)
