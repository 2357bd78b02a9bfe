"""Shop API handlers: quotes, bookings (single and batch), reading, listing and cancelling shipments."""

from __future__ import annotations

import re
from typing import Any

import orjson
from aiohttp import web

from booking.app_keys import BOOKING, SHOPS, VALIDATOR
from booking.auth import known_caller, require_caller
from booking.batches import new_batch_id, remember
from booking.idempotency import idempotency_key, idempotent, replay_response
from booking.service import Caller, OrderIdTaken, ShipmentNotFound, request_fingerprint
from booking.shops import ShopRegistry, cod_refused
from kernel.app_keys import LIMITS, METRICS, REDIS
from kernel.errors import FieldError, validation_failed
from kernel.http import JSON, json_at_hand, json_response, read_json
from kernel.postal.s10 import is_valid
from kernel.postal.tariff import TariffError
from kernel.postal.timeutil import parse_iso
from kernel.store import keys
from kernel.store.keys import STATUSES

BATCH_SCOPE = "POST /v1/shipments/batch"  # the batch's idempotency scope (keys.idempotency)
LIST_MAX = 100
# A listing cursor is an index member (keys.index_member): creation ms, ':', tracking number. The OpenAPI
# document publishes this pattern, so what it calls a cursor is what is accepted.
CURSOR_PATTERN = "^[0-9]{13}:[0-9A-Z]{0,26}$"
_CURSOR = re.compile(CURSOR_PATTERN.strip("^$"), re.ASCII)


async def _reject(request: web.Request, caller: Caller, errors: list[FieldError]) -> None:
    """Bad input still has to come from a valid, rate-limited caller before we say what is wrong with it."""
    await request.app[BOOKING].authorize(caller)
    raise validation_failed(errors)


async def create_quote(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    body, raw = await read_json(request)

    async def produce() -> tuple[int, bytes]:
        req, errs = request.app[VALIDATOR].quote(body, caller.shop.sender)
        if req is not None:
            req.sms = caller.shop.sms  # a shop with buyer SMS on pays the add-on on every parcel
        if errs:
            await _reject(request, caller, errs.items)
        booking = request.app[BOOKING]
        tariff_errors = _booking_errors(booking, req)
        if tariff_errors:
            await _reject(request, caller, tariff_errors)
        zone, price = booking.price(req)  # remembered on req by the check above
        await booking.authorize(caller)
        return 200, orjson.dumps({"service": req.service, "zone": zone, "price": price})

    return await idempotent(request, caller, raw, produce)


TARIFF_ERROR_FIELDS = {"cod_value_out_of_range": "payment.goods_value",
                       "declared_value_out_of_range": "parcel.declared_value", "service_unknown": "service"}


def tariff_field_error(exc: TariffError) -> FieldError:
    return FieldError(TARIFF_ERROR_FIELDS.get(exc.code, "parcel.weight_g"), exc.code, exc.message, exc.message_fa)


def _booking_errors(booking, req) -> list[FieldError]:
    """Rules only the tariff knows (a weight band may end below the service's limit)."""
    try:
        booking.price(req)
    except TariffError as exc:
        return [tariff_field_error(exc)]
    return []


def _cod_errors(caller: Caller, req) -> list[FieldError]:
    """A batch item's refusal by the money policy (a single booking gets it as its own 422)."""
    if caller.shop.cod_refusal is None or req.payment["type"] != "cod":
        return []
    exc = cod_refused(caller.shop.cod_refusal)
    return [FieldError("payment.type", exc.code, exc.detail, exc.detail_fa)]


def _render_one(views: list[bytes | None]) -> tuple[int, bytes]:
    return 201, views[0]  # type: ignore[return-value]


async def create_shipment(request: web.Request) -> web.Response:
    app = request.app
    # The hot path: each await of a helper that would not suspend costs a coroutine; these usually need none.
    caller = known_caller(request) or await require_caller(request)
    body, raw = json_at_hand(request) or await read_json(request)
    req, errs = app[VALIDATOR].shipment(body, caller.shop.sender)
    if req is not None:
        req.sms = caller.shop.sms
    booking = app[BOOKING]
    items = errs.items or _booking_errors(booking, req)
    if items:
        await _reject(request, caller, items)
    if caller.shop.cod_refusal is not None and req.payment["type"] == "cod":
        caller = await app[SHOPS].fresh_caller(request, caller)  # only on a refusal: the record may have just changed
        if caller.shop.cod_refusal is not None:
            await booking.authorize(caller)
            raise cod_refused(caller.shop.cod_refusal)
    key = idempotency_key(request)
    view = await booking.book_one(caller, req) if key is None else None
    if view is None:
        views, replay = await booking.book(caller, [req], idempotency_key=key, request_fp=_fingerprint(key, body),
                                           render=_render_one)
        if replay is not None:
            return replay_response(replay)
        view = views[0]
    app[METRICS].count_booking(req.service, req.payment["type"])
    return web.Response(body=view, status=201, content_type=JSON)


def _fingerprint(idempotency_key: str | None, body: Any, target: str = keys.IDEMPOTENCY_SHIPMENTS) -> str:
    return request_fingerprint(target, body) if idempotency_key is not None else ""


async def create_batch(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    body, raw = await read_json(request)
    limits = request.app[LIMITS]
    shipments = body.get("shipments") if isinstance(body, dict) else None
    if not isinstance(shipments, list) or not shipments:
        await _reject(request, caller, [FieldError("shipments", "required", "A non-empty array is required.",
                                                   "آرایه‌ای غیرخالی لازم است.")])
    if len(shipments) > limits.batch_max_items:
        await _reject(request, caller, [FieldError(
            "shipments", "too_many_items", f"At most {limits.batch_max_items} shipments per batch.",
            f"حداکثر {limits.batch_max_items} مرسوله در هر درخواست.")])
    validator, booking = request.app[VALIDATOR], request.app[BOOKING]
    if caller.shop.cod_refusal is not None:  # before refusing COD items: the record may have just changed
        caller = await request.app[SHOPS].fresh_caller(request, caller)
    reqs, item_errors = [], []
    for item in shipments:
        req, errs = validator.shipment(item, caller.shop.sender)
        if req is not None:
            req.sms = caller.shop.sms
        items = errs.items or _booking_errors(booking, req) or _cod_errors(caller, req)
        reqs.append(None if items else req)
        item_errors.append(items)

    batch_id = new_batch_id()

    def render(views):
        results = []
        for i, (view, errors) in enumerate(zip(views, item_errors)):
            if isinstance(view, OrderIdTaken):  # the item's 409: its order already has a live parcel
                results.append({"index": i, "result": "rejected", "status": 409,
                                "errors": [view.field_error().to_dict()],
                                "existing_tracking_number": view.tracking_number})
            elif view is not None:
                results.append({"index": i, "result": "booked", "shipment": orjson.Fragment(view)})
            else:
                results.append({"index": i, "result": "rejected", "status": 422,
                                "errors": [e.to_dict() for e in errors]})
        booked = sum(type(v) is bytes for v in views)
        return 200, orjson.dumps({"batch_id": batch_id, "booked": booked, "rejected": len(views) - booked,
                                  "results": results})

    key = idempotency_key(request)
    views, replay = await booking.book(caller, reqs, idempotency_key=key,
                                       request_fp=_fingerprint(key, body, BATCH_SCOPE),
                                       render=render, idempotency_scope=BATCH_SCOPE, batch=True)
    if replay is not None:
        return replay_response(replay)
    # The batch's parcels under its id, so its labels print in one job (handover's POST /v1/label-jobs).
    await remember(request.app[REDIS], caller.shop.id, batch_id,
                   [orjson.loads(v)["tracking_number"] for v in views if type(v) is bytes])
    metrics = request.app[METRICS]
    for req, view in zip(reqs, views):
        if type(view) is bytes:
            metrics.count_booking(req.service, req.payment["type"])
    status, out = render(views)
    return web.Response(body=out, status=status, content_type=JSON)


async def _tracking_number(request: web.Request, caller: Caller) -> str:
    """The path's tracking number; one that no S10 number looks like is not looked up: 404 (after the caller
    is checked, so it says nothing to a stranger)."""
    tn = request.match_info["tracking_number"].strip().upper()
    if not is_valid(tn):
        await request.app[BOOKING].authorize(caller)
        raise ShipmentNotFound(f"no shipment {tn[:20]} in this shop", "مرسوله در این فروشگاه یافت نشد")
    return tn


async def get_shipment(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    tn = await _tracking_number(request, caller)
    return json_response(await request.app[BOOKING].get(caller, tn))


async def list_shipments(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    q = request.query
    errors: list[FieldError] = []

    def bad(field: str, code: str, msg: str, msg_fa: str) -> None:
        errors.append(FieldError(field, code, msg, msg_fa))

    status = q.get("status")
    if status is not None and status not in STATUSES:
        bad("status", "enum", f"Must be one of: {', '.join(STATUSES)}.", "وضعیت نامعتبر است.")
    limit = 20
    if "limit" in q:
        if not (q["limit"].isascii() and q["limit"].isdigit()) or not 1 <= int(q["limit"]) <= LIST_MAX:
            bad("limit", "out_of_range", f"Must be an integer from 1 to {LIST_MAX}.", "تعداد نامعتبر است.")
        else:
            limit = int(q["limit"])
    bounds: dict[str, int | None] = {"created_from": None, "created_to": None}
    for name in bounds:
        if name in q:
            try:
                bounds[name] = int(parse_iso(q[name]) * 1000)
            except ValueError:
                bad(name, "datetime_invalid", "Must be an ISO 8601 time with a zone.", "زمان نامعتبر است.")
    cursor = q.get("cursor")
    if cursor is not None and _CURSOR.fullmatch(cursor) is None:
        bad("cursor", "cursor_invalid", "Not a cursor this API returned.", "نشانگر صفحه نامعتبر است.")
    client_order_id = q.get("client_order_id")
    max_len = request.app[LIMITS].client_order_id_max_len
    if client_order_id is not None and not 0 < len(client_order_id) <= max_len:
        bad("client_order_id", "length", f"Must be 1 to {max_len} characters.", f"باید ۱ تا {max_len} نویسه باشد.")
    if errors:
        await _reject(request, caller, errors)
    items, next_cursor = await request.app[BOOKING].list(
        caller, status=status, client_order_id=client_order_id, created_from_ms=bounds["created_from"],
        created_to_ms=bounds["created_to"], cursor=cursor, limit=limit)
    return json_response({"items": items, "next_cursor": next_cursor})


async def cancel_shipment(request: web.Request) -> web.Response:
    caller = await require_caller(request)

    async def produce() -> tuple[int, bytes]:
        tn = await _tracking_number(request, caller)
        return 200, orjson.dumps(await request.app[BOOKING].cancel(caller, tn))

    return await idempotent(request, caller, await request.read(), produce)


async def get_shop(request: web.Request) -> web.Response:
    """The calling shop's own record: defaults, legal identity and payout account (masked), COD eligibility."""
    caller = await require_caller(request)
    await request.app[BOOKING].authorize(caller)
    # Read afresh rather than from the profile cache, so a shop sees a change the operator just made.
    shop = await ShopRegistry(request.app[REDIS]).get(caller.shop.id)
    return json_response(request.app[SHOPS].judged(shop).public())


def setup(app: web.Application) -> None:
    app.router.add_get("/v1/shop", get_shop)
    app.router.add_post("/v1/quotes", create_quote)
    app.router.add_post("/v1/shipments", create_shipment)
    app.router.add_post("/v1/shipments/batch", create_batch)
    app.router.add_get("/v1/shipments", list_shipments)
    # Not "batch": that path is the batch's own (POST only), so a GET there is a 405 whose Allow says POST,
    # rather than a lookup of a shipment called "batch".
    app.router.add_get("/v1/shipments/{tracking_number:(?!batch$)[^{}/]+}", get_shipment)
    app.router.add_post("/v1/shipments/{tracking_number}/cancel", cancel_shipment)
