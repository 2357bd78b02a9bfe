"""Failed-delivery routes: the shop's cases and its decisions on them.

* ``GET /v1/ndr`` (``status``, ``reason``, ``office``, ``after``, ``limit``): the shop's cases, newest first.
* ``GET /v1/ndr/{tracking_number}``: one case (attempts, deadline, default action, what the shop may do now).
* ``POST /v1/ndr/{tracking_number}/actions`` and ``POST /v1/ndr/actions`` (bulk): decisions, Idempotency-Key
  honoured as on the other POSTs (gateway.web_shipments).

``setup(app)`` adds the routes and a cleanup_ctx (after the gateway's store context) that builds the case service
and runs the case worker in this process: it opens cases from the partition outboxes (consumer group ``ndr``,
shared by every gateway process) and applies passed deadlines. ``BARID_NDR_INTERVAL_S`` sets how often it looks
(default 1 s; 0 turns the worker off in this process).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from aiohttp import web

from booking.app_keys import BOOKING
from booking.auth import require_caller, require_shop
from booking.idempotency import idempotent
from kernel.app_keys import BATCHER, CONFIG, REDIS
from kernel.errors import BaridError, FieldError, validation_failed
from kernel.http import read_json
from kernel.postal.offices import Registry, load_registry
from kernel.postal.s10 import is_valid
from kernel.postal.text import PostalError, normalize_mobile, normalize_text
from kernel.tasks import stop_task
from tracking.events import FAILURE_REASONS

from . import buyer_web, staff_web
from .cases import STATES, CaseNotFound, CaseService, today_iran
from .policy import ACTIONS, Policy, load_policy
from .readdress import parse_address

log = logging.getLogger("barid.ndr")
JSON = "application/json"
_CURSOR = re.compile(r"[0-9]{13}:[A-Z]{2}[0-9]{9}[A-Z]{2}", re.ASCII)


@dataclass(frozen=True, slots=True)
class NdrSettings:
    interval_s: float = 1.0  # how often the case worker looks for new attempts and passed deadlines; 0: off


NDR_POLICY = web.AppKey("ndr_policy", Policy)
NDR_SETTINGS = web.AppKey("ndr_settings", NdrSettings)
CASES = web.AppKey("ndr_cases", CaseService)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type=JSON)


# -- input -----------------------------------------------------------------------------------------------
def parse_action(raw: Any, registry: Registry, policy: Policy, today: date,
                 prefix: str = "") -> tuple[str, dict[str, Any]] | list[FieldError]:
    """(action, params) of one decision, or its field errors. The date window and the working days are data."""
    if not isinstance(raw, dict):
        return [FieldError(prefix.rstrip(".") or "", "type_object", "Must be a JSON object.", "باید شیء JSON باشد.")]
    action = raw.get("action")
    if action not in ACTIONS:
        return [FieldError(prefix + "action", "action_invalid", f"Must be one of: {', '.join(ACTIONS)}.",
                           f"اقدام باید یکی از {'، '.join(ACTIONS)} باشد.")]
    errs: list[FieldError] = []  # other fields are ignored, as everywhere in the API
    params: dict[str, Any] = {}
    if action == "reschedule":
        last = date.fromordinal(today.toordinal() + policy.reschedule_window_days)
        try:
            day = datetime.strptime(raw.get("date"), "%Y-%m-%d").date()  # type: ignore[arg-type]
        except (TypeError, ValueError):
            errs.append(FieldError(prefix + "date", "date_invalid", "Must be a date, YYYY-MM-DD.",
                                   "تاریخ باید به شکل YYYY-MM-DD باشد."))
        else:
            if not today < day <= last:
                errs.append(FieldError(prefix + "date", "date_out_of_window",
                                       f"Must be after today and at most {policy.reschedule_window_days} days ahead "
                                       f"(by {last.isoformat()}).",
                                       f"روز تحویل باید پس از امروز و حداکثر {policy.reschedule_window_days} روز بعد "
                                       "باشد."))
            elif not registry.is_business_day(day):
                errs.append(FieldError(prefix + "date", "date_not_working_day",
                                       "Post offices do not deliver on that day (Friday or an official holiday).",
                                       "ادارهٔ پست در آن روز (جمعه یا تعطیل رسمی) توزیع ندارد."))
            else:
                params["date"] = day.isoformat()
    elif action == "update_contact":
        if raw.get("phone") is None and raw.get("address_notes") is None and raw.get("address") is None:
            errs.append(FieldError(prefix + "phone", "contact_required",
                                   "Give a phone, address_notes, a corrected address, or several.",
                                   "شماره تلفن، توضیح نشانی یا نشانی اصلاح‌شده (یا چند تا از آن‌ها) لازم است."))
        if raw.get("address") is not None:  # a new postal code may move the parcel to another office (readdress)
            address = parse_address(raw["address"], prefix + "address")
            if isinstance(address, list):
                errs.extend(address)
            else:
                params["address"] = address
        if raw.get("phone") is not None:
            try:
                params["phone"] = normalize_mobile(raw["phone"])
            except PostalError as exc:
                errs.append(FieldError(prefix + "phone", exc.code, exc.message, exc.message_fa))
        if raw.get("address_notes") is not None:
            try:
                params["address_notes"] = normalize_text(raw["address_notes"], policy.notes_max_chars,
                                                         error_code="address_notes_invalid")
            except PostalError as exc:
                errs.append(FieldError(prefix + "address_notes", exc.code, exc.message, exc.message_fa))
    return errs or (action, params)


def _tn(raw: Any) -> str | None:
    tn = raw.strip().upper() if isinstance(raw, str) else ""
    return tn if is_valid(tn) else None


def _not_found(tn: str) -> CaseNotFound:
    return CaseNotFound(f"parcel {tn[:20]} has no failed-delivery case in this shop",
                        "این مرسوله در این فروشگاه پروندهٔ تحویل ناموفق ندارد")


# -- routes ----------------------------------------------------------------------------------------------
async def list_cases(request: web.Request) -> web.Response:
    shop = await require_shop(request)
    q = request.query
    errs = []
    status, reason, office, after = q.get("status"), q.get("reason"), q.get("office"), q.get("after")
    if status is not None and status not in STATES:
        errs.append(FieldError("status", "enum", f"Must be one of: {', '.join(STATES)}.",
                               "وضعیت پرونده نامعتبر است."))
    if reason is not None and reason not in FAILURE_REASONS:
        errs.append(FieldError("reason", "enum", f"Must be one of: {', '.join(FAILURE_REASONS)}.",
                               "علت تحویل ناموفق نامعتبر است."))
    if office is not None and office not in request.app[CASES].registry.offices:
        errs.append(FieldError("office", "unknown_office", "Must be a post-office code from the registry.",
                               "کد اداره پست نامعتبر است."))
    if after is not None and not _CURSOR.fullmatch(after):
        errs.append(FieldError("after", "cursor_invalid", "Must be a cursor from an earlier answer.",
                               "نشانگر نامعتبر است."))
    limit = q.get("limit", "50")
    if not limit.isdecimal() or not 1 <= int(limit) <= 100:
        errs.append(FieldError("limit", "limit_invalid", "Must be 1-100.", "limit باید بین ۱ تا ۱۰۰ باشد."))
    if errs:
        raise validation_failed(errs)
    return _json(await request.app[CASES].list(shop.id, status=status, reason=reason, office=office, after=after,
                                               limit=int(limit)))


async def get_case(request: web.Request) -> web.Response:
    shop = await require_shop(request)
    tn = _tn(request.match_info["tracking_number"])
    if tn is None:
        raise _not_found(request.match_info["tracking_number"])
    return _json(await request.app[CASES].get(shop.id, tn))


async def post_action(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    body, raw = await read_json(request)
    app = request.app
    cases = app[CASES]

    async def produce() -> tuple[int, bytes]:
        await app[BOOKING].authorize(caller)  # bad input still needs a valid, rate-limited caller
        tn = _tn(request.match_info["tracking_number"])
        if tn is None:
            raise _not_found(request.match_info["tracking_number"])
        await cases.get(caller.shop.id, tn)  # no case (or another shop's parcel): 404, whatever the body says
        parsed = parse_action(body, cases.registry, cases.policy, today_iran())  # the path's number wins
        if isinstance(parsed, list):
            raise validation_failed(parsed)
        return 200, orjson.dumps(await cases.act(caller.shop.id, tn, *parsed))

    return await idempotent(request, caller, raw, produce)


async def post_bulk(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    body, raw = await read_json(request)
    app = request.app
    cases = app[CASES]

    async def produce() -> tuple[int, bytes]:
        await app[BOOKING].authorize(caller)
        items = body.get("actions") if isinstance(body, dict) else None
        top = cases.policy.bulk_max_items
        if not isinstance(items, list) or not 0 < len(items) <= top or not all(isinstance(i, dict) for i in items):
            raise validation_failed([FieldError("actions", "actions_invalid",
                                                f"Must be a list of 1-{top} action objects.",
                                                f"فهرست actions باید ۱ تا {top} اقدام داشته باشد.")])
        today = today_iran()
        results: list[dict[str, Any]] = []
        seen: set[str] = set()
        for i, item in enumerate(items):
            prefix = f"actions[{i}]."
            tn = _tn(item.get("tracking_number")) if isinstance(item, dict) else None
            parsed = parse_action(item, cases.registry, cases.policy, today, prefix)
            errs = parsed if isinstance(parsed, list) else []
            if tn is None:
                errs = [FieldError(prefix + "tracking_number", "tracking_number_invalid",
                                   "Must be an S10 tracking number.", "کد رهگیری نامعتبر است."), *errs]
            elif tn in seen:
                errs = [FieldError(prefix + "tracking_number", "duplicate_item",
                                   "Each parcel may appear once per request.",
                                   "هر مرسوله فقط یک بار در هر درخواست می‌آید."), *errs]
            if errs:
                results.append({"index": i, "tracking_number": tn, "ok": False,
                                "error": _problem(validation_failed(errs))})
                continue
            seen.add(tn)  # type: ignore[arg-type]
            try:
                case = await cases.act(caller.shop.id, tn, *parsed)  # type: ignore[arg-type,misc]
            except BaridError as exc:
                results.append({"index": i, "tracking_number": tn, "ok": False, "error": _problem(exc)})
            else:
                results.append({"index": i, "tracking_number": tn, "ok": True, "case": case})
        applied = sum(r["ok"] for r in results)
        return 200, orjson.dumps({"applied": applied, "rejected": len(results) - applied, "results": results})

    return await idempotent(request, caller, raw, produce)


def _problem(exc: BaridError) -> dict[str, Any]:
    return {k: v for k, v in exc.to_problem().items() if k != "type"}


# -- the case worker -------------------------------------------------------------------------------------
async def run_worker(cases: CaseService, interval_s: float) -> None:
    """Open cases from new failed attempts and apply passed deadlines, every ``interval_s``, until cancelled."""
    while True:
        try:
            await cases.consume()
            await cases.apply_deadlines()
        except asyncio.CancelledError:
            raise
        except Exception:  # the store restarting must not end the loop: the entries stay pending, retried later
            log.exception("ndr worker")
        await asyncio.sleep(interval_s)


async def _ctx(app: web.Application) -> AsyncIterator[None]:
    consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    cases = app[CASES] = CaseService(app[REDIS], app[BATCHER], load_registry(), app[NDR_POLICY], consumer,
                                     network=app[BOOKING].network)
    interval = app[NDR_SETTINGS].interval_s
    task = asyncio.ensure_future(run_worker(cases, interval)) if interval > 0 else None
    yield
    if task is not None:
        await stop_task(task)


def setup(app: web.Application, policy: Policy | None = None, settings: NdrSettings | None = None) -> None:
    """Add the failed-delivery routes and the case worker (after the gateway's store context)."""
    app[NDR_POLICY] = policy or load_policy()
    app[NDR_SETTINGS] = settings or NdrSettings(app[CONFIG].ndr_interval_s)
    app.cleanup_ctx.append(_ctx)
    r = app.router
    r.add_get("/v1/ndr", list_cases)
    r.add_post("/v1/ndr/actions", post_bulk)
    r.add_get("/v1/ndr/{tracking_number:(?!actions$)[^{}/]+}", get_case)  # /v1/ndr/actions is POST only
    r.add_post("/v1/ndr/{tracking_number}/actions", post_action)
    buyer_web.setup(app, CASES)  # buyers' returns and the shop's list of returns (after the case service)
    staff_web.setup(app)  # the office's label of a return leg

