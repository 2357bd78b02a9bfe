"""Pickup routes: the shop asks for and manages its pickups; the collecting office's staff run them.

Shop (API key): ``POST /v1/pickups`` (Idempotency-Key honoured), ``GET /v1/pickups`` (``status``, ``date``,
``limit``), ``GET /v1/pickups/{id}``, ``PATCH /v1/pickups/{id}``, ``POST /v1/pickups/{id}/cancel``. A pickup of
another shop is a 404, as a parcel of another shop is.

Staff of the collecting office (bearer token, tracking's staff auth; another office's staff get 403):
``POST /v1/pickups/{id}/assign`` (``postman``), ``/complete`` and ``/partial`` (``tracking_numbers`` collected:
each gets its own ``accepted`` scan at the office, through tracking's scan service as a manifest's parcels do),
``/fail`` (``reason``); ``GET /v1/offices/{code}/pickups?date=`` lists the office's open pickups of a day. Accepting a manifest made from a pickup closes the pickup too (``handover.web``).
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import orjson
from aiohttp import web

from booking.app_keys import BOOKING
from booking.auth import require_caller
from booking.idempotency import idempotent
from kernel.app_keys import CONFIG, REDIS
from kernel.errors import BaridError, FieldError, validation_failed
from kernel.http import json_response, read_json
from kernel.postal.text import PostalError, normalize_text
from kernel.store import keys
from tracking.app_keys import TRACKING
from tracking.staff import STAFF_AUTH

from . import expiry, manifests, pickups
from .acceptance import accept_all
from .pickup_rules import load_rules, optional_text, parse
from .pickups import FAILURE_REASONS, STATUSES, PickupService, view

PICKUPS = web.AppKey("pickups", PickupService)
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", re.ASCII)


def _body_error(field: str, code: str, en: str, fa: str) -> BaridError:
    return validation_failed([FieldError(field, code, en, fa)])


# -- the shop ----------------------------------------------------------------------------------------------
async def post_pickup(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    body, raw = await read_json(request)
    app = request.app
    service, booking = app[PICKUPS], app[BOOKING]

    async def produce() -> tuple[int, bytes]:
        fields, errors = parse(body, service.rules, caller.shop.sender)
        if not errors and fields["tracking_numbers"]:
            errors = await _waiting(app[REDIS], caller.shop.id, fields["tracking_numbers"])
        await booking.authorize(caller)  # a stranger learns nothing about the input before the key is checked
        if errors:
            raise validation_failed(errors)
        record = await service.create(caller.shop.id, caller.shop.name, fields)
        return 201, orjson.dumps(view(record))

    return await idempotent(request, caller, raw, produce)


async def _waiting(redis, shop_id: int, tns: list[str]) -> list[FieldError]:
    """Field errors for listed parcels that are not the shop's parcels waiting for handover."""
    pipe = redis.pipeline(transaction=False)
    for tn in tns:
        pipe.hget(keys.parcel(shop_id, tn), "status")
    return [e for i, (tn, status) in enumerate(zip(tns, await pipe.execute()))
            if (e := not_waiting(f"tracking_numbers[{i}]", tn, status)) is not None]


def not_waiting(field: str, tn: str, status: bytes | None) -> FieldError | None:
    """Why parcel ``tn`` (its stored status; None: not the shop's) cannot be handed over; None when it waits."""
    if status is None:
        return FieldError(field, "not_found", f"No shipment {tn[:20]} in this shop.",
                          f"مرسولهٔ {tn[:20]} در این فروشگاه یافت نشد.")
    if status == b"cancelled":
        return FieldError(field, "cancelled", f"Shipment {tn} is cancelled.", f"مرسولهٔ {tn} لغو شده است.")
    if status != b"pre_transit":
        return FieldError(field, "already_handed_over", f"Shipment {tn} was already handed over.",
                          f"مرسولهٔ {tn} پیش‌تر تحویل پست شده است.")
    return None


async def list_pickups(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    await request.app[BOOKING].authorize(caller)
    q = request.query
    errors = []
    status, day = q.get("status"), q.get("date")
    if status is not None and status not in STATUSES:
        errors.append(FieldError("status", "enum", f"Must be one of: {', '.join(STATUSES)}.",
                                 f"باید یکی از این مقادیر باشد: {'، '.join(STATUSES)}."))
    if day is not None and not _DAY.match(day):
        errors.append(FieldError("date", "date_invalid", "Must be a date, YYYY-MM-DD.", "تاریخ باید به شکل YYYY-MM-DD باشد."))
    limit = q.get("limit", "50")
    if not limit.isdigit() or not 1 <= int(limit) <= 200:
        errors.append(FieldError("limit", "too_large", "Must be an integer from 1 to 200.", "باید عددی از ۱ تا ۲۰۰ باشد."))
    if errors:
        raise validation_failed(errors)
    found = await request.app[PICKUPS].list(caller.shop.id, status=status, day=day, limit=int(limit))
    return json_response({"data": [view(p) for p in found]})


async def get_pickup(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    await request.app[BOOKING].authorize(caller)
    return json_response(view(await request.app[PICKUPS].get(caller.shop.id, request.match_info["pickup_id"])))


async def patch_pickup(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    body, _ = await read_json(request)
    service = request.app[PICKUPS]
    await request.app[BOOKING].authorize(caller)
    await service.get(caller.shop.id, request.match_info["pickup_id"])  # a pickup not the shop's is a 404 first
    fields, errors = parse(body, service.rules, caller.shop.sender, update=True)
    if not errors and fields.get("tracking_numbers"):
        errors = await _waiting(request.app[REDIS], caller.shop.id, fields["tracking_numbers"])
    if errors:
        raise validation_failed(errors)
    if not fields:
        raise _body_error("", "empty_update", "Give at least one field to change.", "دست‌کم یک فیلد را برای تغییر بفرستید.")
    record = await service.update(caller.shop.id, request.match_info["pickup_id"], fields)
    return json_response(view(record))


async def cancel_pickup(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    raw = await request.read()
    service = request.app[PICKUPS]

    async def produce() -> tuple[int, bytes]:
        await request.app[BOOKING].authorize(caller)
        return 200, orjson.dumps(view(await service.cancel(caller.shop.id, request.match_info["pickup_id"])))

    return await idempotent(request, caller, raw, produce)


# -- the collecting office -------------------------------------------------------------------------------------
async def _staff(request: web.Request):
    return await request.app[STAFF_AUTH](request)  # tracking's staff auth, as the manifest acceptance uses it


async def _staff_body(request: web.Request) -> dict[str, Any]:
    body, _ = await read_json(request) if request.can_read_body else ({}, b"")
    if not isinstance(body, dict):
        raise _body_error("", "type_object", "Must be a JSON object.", "باید یک شیء JSON باشد.")
    return body


def _note(body: dict[str, Any]) -> str:
    try:
        return optional_text(body.get("note"), 300)
    except PostalError as exc:
        raise validation_failed([FieldError("note", exc.code, exc.message, exc.message_fa)]) from None


async def office_pickups(request: web.Request) -> web.Response:
    """The open pickups an office collects on a day, for its own staff (what to assign, what the plan carries)."""
    staff = await _staff(request)
    code, day = request.match_info["code"], request.query.get("date", "")
    if not _DAY.match(day):
        raise _body_error("date", "date_invalid", "Give the day, date=YYYY-MM-DD.", "روز را به شکل date=YYYY-MM-DD بفرستید.")
    if code != staff.office:
        raise pickups.PickupOtherOffice(f"staff of {staff.office} cannot see the pickups of {code}",
                                        "کارکنان هر اداره فقط درخواست‌های جمع‌آوری ادارهٔ خود را می‌بینند")
    try:
        found = await pickups.open_pickups(request.app[REDIS], code, date.fromisoformat(day))
    except ValueError:
        raise _body_error("date", "date_invalid", "No such date.", "چنین تاریخی وجود ندارد.") from None
    return json_response({"office": code, "date": day, "data": [view(p) for p in found]})


async def assign_pickup(request: web.Request) -> web.Response:
    staff = await _staff(request)
    body = await _staff_body(request)
    try:
        postman = normalize_text(body.get("postman"), 100)
    except PostalError:
        postman = ""
    if not postman:
        raise _body_error("postman", "required", "Name the postman (or their staff id) who collects it.",
                          "نام یا شناسهٔ نامه‌رسانی را که جمع‌آوری می‌کند بفرستید.")
    record = await request.app[PICKUPS].assign(staff.office, request.match_info["pickup_id"], postman, staff.id)
    return json_response(view(record))


async def fail_pickup(request: web.Request) -> web.Response:
    staff = await _staff(request)
    body = await _staff_body(request)
    reason = body.get("reason")
    if reason not in FAILURE_REASONS:
        raise _body_error("reason", "enum", f"Must be one of: {', '.join(FAILURE_REASONS)}.",
                          f"علت باید یکی از این‌ها باشد: {'، '.join(FAILURE_REASONS)}.")
    record = await request.app[PICKUPS].fail(staff.office, request.match_info["pickup_id"], reason, staff.id,
                                             _note(body))
    return json_response(view(record))


async def complete_pickup(request: web.Request) -> web.Response:
    return await _settle(request, "completed")


async def partial_pickup(request: web.Request) -> web.Response:
    return await _settle(request, "partial")


async def _settle(request: web.Request, status: str) -> web.Response:
    staff = await _staff(request)
    body = await _staff_body(request)
    service = request.app[PICKUPS]
    tns = body.get("tracking_numbers")
    limit = service.rules.max_tracking_numbers
    if not isinstance(tns, list) or not 1 <= len(tns) <= limit or not all(isinstance(t, str) for t in tns):
        raise _body_error("tracking_numbers", "type_array", f"Must be an array of 1 to {limit} tracking numbers "
                          "collected.", f"باید فهرستی از ۱ تا {limit} شمارهٔ رهگیری مرسوله‌های جمع‌آوری‌شده باشد.")
    note = _note(body)
    pickup_id = request.match_info["pickup_id"]
    record = await service.for_staff(staff.office, pickup_id)
    pickups.require_open(record, status, "بستن")
    tns = list(dict.fromkeys(t.strip().upper() for t in tns))
    accepted, missing = await accept_parcels(request, staff, record["shop_id"], tns, f"pu:{pickup_id}")
    closed = await service.settle(staff.office, pickup_id, status, [a["tracking_number"] for a in accepted],
                                  staff.id, note)
    return json_response({"pickup": view(closed), "accepted": accepted, "missing": missing})


async def accept_parcels(request: web.Request, staff, shop_id: int, tns: list[str],
                         scan_prefix: str) -> tuple[list[dict], list[dict]]:
    """Each of the shop's parcels gets its own ``accepted`` scan at the staff member's office (tracking's scan
    service, as if scanned alone); a parcel of another shop, or one the scan rules refuse, is ``missing``."""
    t = request.app[TRACKING]
    pipe = request.app[REDIS].pipeline(transaction=False)
    for tn in tns:
        pipe.exists(keys.parcel(shop_id, tn))
    missing, present = [], []
    for tn, exists in zip(tns, await pipe.execute()):
        if not exists:
            missing.append({"tracking_number": tn[:20], "code": "not_this_shop",
                            "detail": "no parcel of this pickup's shop has that number",
                            "detail_fa": "مرسوله‌ای با این شماره از فروشگاه این درخواست جمع‌آوری نیست"})
        else:
            present.append(tn)
    accepted, refused = await accept_all(t, staff, present, scan_prefix, time.time())
    missing += refused
    return accepted, missing


# -- manifests made from a pickup ------------------------------------------------------------------------------
class PickupNothingToCollect(BaridError):
    code = "pickup_no_parcels"
    title = "The pickup has no parcel waiting for handover"


async def pickup_parcels(app: web.Application, caller, pickup_id: Any) -> tuple[str, list[str]]:
    """The parcels a manifest made from the shop's open pickup lists: the pickup's tracking numbers, or, when it
    gave only a count, every parcel of the shop booked and not handed over that is not on an open manifest."""
    await app[BOOKING].authorize(caller)
    record = await app[PICKUPS].get(caller.shop.id, pickup_id.strip().upper())
    pickups.require_open(record, "listed on a manifest", "فهرست کردن مرسوله‌های")
    if record["tracking_numbers"]:
        return record["pickup_id"], record["tracking_numbers"]
    redis = app[REDIS]
    found = await redis.zrange(keys.shop_status_index(caller.shop.id, "pre_transit"), "-", "+", bylex=True,
                               offset=0, num=manifests.MAX_PARCELS)
    tns = [m.decode().split(":", 1)[1] for m in found]
    taken = await redis.hmget(manifests.manifested_key(caller.shop.id), tns) if tns else []
    tns = [tn for tn, m in zip(tns, taken) if m is None]
    if not tns:
        raise PickupNothingToCollect(f"no parcel of this shop waits for handover for pickup {record['pickup_id']}",
                                     "مرسوله‌ای از این فروشگاه منتظر تحویل به پست نیست")
    return record["pickup_id"], tns


async def settle_from_manifest(app: web.Application, staff, manifest: dict[str, Any], accepted: list[dict],
                               missing: list[dict]) -> dict[str, Any]:
    """Scanning a pickup's manifest closes the pickup: ``completed`` when every listed parcel was accepted, else
    ``partial``. The manifest's answer stands whatever happens to the pickup (another office, already closed)."""
    pickup_id = manifest["pickup_id"]
    if not accepted:
        return {"pickup_id": pickup_id, "changed": False}
    status = "partial" if missing else "completed"
    try:
        record = await app[PICKUPS].settle(staff.office, pickup_id, status, [a["tracking_number"] for a in accepted],
                                           staff.id, manifest_id=manifest["manifest_id"])
    except BaridError as exc:
        return {"pickup_id": pickup_id, "changed": False, "code": exc.code, "detail": exc.detail,
                "detail_fa": exc.detail_fa}
    return {**view(record), "changed": True}


# -- assembly ------------------------------------------------------------------------------------------------
async def _ctx(app: web.Application) -> AsyncIterator[None]:
    rules = load_rules()
    app[PICKUPS] = PickupService(app[REDIS], app[BOOKING].network, rules)
    async with expiry.running(app[REDIS], app[BOOKING].batcher, rules, app[CONFIG].expiry_interval_s):
        yield


def setup(app: web.Application) -> None:
    """Add the pickup routes, the expiring-parcels listing and the expiry worker (after the store context)."""
    app.cleanup_ctx.append(_ctx)
    r = app.router
    r.add_post("/v1/pickups", post_pickup)
    r.add_get("/v1/pickups", list_pickups)
    r.add_get("/v1/pickups/{pickup_id}", get_pickup)
    r.add_patch("/v1/pickups/{pickup_id}", patch_pickup)
    r.add_post("/v1/pickups/{pickup_id}/cancel", cancel_pickup)
    r.add_post("/v1/pickups/{pickup_id}/assign", assign_pickup)
    r.add_post("/v1/pickups/{pickup_id}/complete", complete_pickup)
    r.add_post("/v1/pickups/{pickup_id}/partial", partial_pickup)
    r.add_post("/v1/pickups/{pickup_id}/fail", fail_pickup)
    r.add_get("/v1/offices/{code}/pickups", office_pickups)
    expiry.setup_routes(app)
