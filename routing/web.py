"""HTTP routes of delivery planning: an office's staff (or an operator) start a plan and read it back.

    POST /v1/offices/{code}/plans                                 {date, time_limit_s, postmen?} -> 202
    GET  /v1/offices/{code}/plans/{plan_id}                       the plan record (queued|running|done|failed)
    GET  /v1/offices/{code}/plans/{plan_id}/postmen/{n}/sheet     a printable Persian route sheet (HTML), with a
                                                                  staff token or as the plan's signed ``sheet_url``

Solving happens in router workers (``routing.jobs``), never on the gateway's event loop.
"""

from __future__ import annotations

from datetime import date

import orjson
from aiohttp import web

from kernel.app_keys import CONFIG, REDIS
from kernel.errors import Forbidden, NotFound
from kernel.http import read_json
from kernel.operators import operator_of
from kernel.postal.offices import load_registry
from kernel.postal.timeutil import iso_ms
from tracking.staff import STAFF_AUTH

from . import jobs, sheet_links
from .errors import PlanNotFound
from .sheet import SHEET_CSP, render_route_sheet

JSON = "application/json"
SHEET_SECRET = web.AppKey("sheet_secret", sheet_links.SheetSecret)


class NotThisOffice(Forbidden):
    code = "not_this_office"
    title = "Staff may act only for their own office"


async def _authorize(request: web.Request) -> str:
    """The path's office code, once the caller may plan for it (an unknown office is 404 before anything)."""
    office = load_registry().get(request.match_info["code"])
    if operator_of(request):
        return office.code
    staff = await request.app[STAFF_AUTH](request)
    if staff.office not in (office.code, office.hub):  # a hub's staff plan for the offices of their hub
        raise NotThisOffice(f"staff of {staff.office} cannot plan for {office.code}",
                            f"کارمند {staff.office} نمی‌تواند برای {office.code} برنامه بریزد")
    return office.code


async def create_plan(request: web.Request) -> web.Response:
    code = await _authorize(request)
    body, _ = await read_json(request)
    record = await jobs.submit_plan(request.app[REDIS], code, body)
    location = f"/v1/offices/{code}/plans/{record['plan_id']}"
    return web.Response(body=orjson.dumps(record), status=202, content_type=JSON, headers={"Location": location})


async def _record(request: web.Request) -> dict:
    code = await _authorize(request)
    record = await jobs.get_plan(request.app[REDIS], code, request.match_info["plan_id"])
    if record is None:
        raise PlanNotFound(f"no plan {request.match_info['plan_id'][:64]!r} for {code}")
    return record


async def get_plan(request: web.Request) -> web.Response:
    record = await _record(request)
    if record["status"] == "done":  # each postman's sheet as a link a phone's browser opens without a token
        secret = await request.app[SHEET_SECRET].get(request.app[REDIS])
        plan = record["plan"]
        expires = sheet_links.expires_for(date.fromisoformat(record["date"]), record.get("finished_at"),
                                          jobs.PLAN_TTL_S)
        for postman in plan["postmen"]:
            postman["sheet_url"] = sheet_links.signed_url(secret, record["office"], record["plan_id"],
                                                          postman["index"], expires)
            postman["sheet_url_expires_at"] = iso_ms(expires)
    return web.Response(body=orjson.dumps(record), content_type=JSON)


async def _signed_record(request: web.Request, postman: int) -> dict:
    """The plan, for a signed sheet link (no Authorization needed); a bad or expired link is 403."""
    office = load_registry().get(request.match_info["code"])
    plan_id = request.match_info["plan_id"]
    secret = await request.app[SHEET_SECRET].get(request.app[REDIS])
    sheet_links.verify(secret, office.code, plan_id, postman, request.query.get("exp", ""),
                       request.query.get("sig", ""))
    record = await jobs.get_plan(request.app[REDIS], office.code, plan_id)
    if record is None:
        raise PlanNotFound(f"no plan {plan_id[:64]!r} for {office.code}")
    return record


async def route_sheet(request: web.Request) -> web.Response:
    try:
        postman = int(request.match_info["n"])
    except ValueError:
        postman = 0
    if "sig" in request.query or "exp" in request.query:
        record = await _signed_record(request, postman)
    else:
        record = await _record(request)
    if record["status"] != "done":
        raise NotFound(f"the plan is {record['status']}; sheets exist once it is done", "برنامه هنوز آماده نیست",
                       code="plan_not_ready")
    html = render_route_sheet(record["plan"], postman - 1)
    # The sheet holds receivers' names and phones: not cached, not framed, no referrer (a signed URL is a key).
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers={
        "Content-Security-Policy": SHEET_CSP, "Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff"})


def setup(app: web.Application) -> None:
    """Add the planning routes (staff are authenticated by ``STAFF_AUTH``, filled in at assembly)."""
    app[SHEET_SECRET] = sheet_links.SheetSecret(app[CONFIG].sheet_secret if CONFIG in app else None)
    app.router.add_post("/v1/offices/{code}/plans", create_plan)
    app.router.add_get("/v1/offices/{code}/plans/{plan_id}", get_plan)
    app.router.add_get("/v1/offices/{code}/plans/{plan_id}/postmen/{n}/sheet", route_sheet)
