"""HTTP routes of delivery planning: an office's staff (or an operator) start a plan and read it back.

    POST /v1/offices/{code}/plans                                 {date, time_limit_s, postmen?} -> 202
    GET  /v1/offices/{code}/plans/{plan_id}                       the plan record (queued|running|done|failed)
    GET  /v1/offices/{code}/plans/{plan_id}/postmen/{n}/sheet     a printable Persian route sheet (HTML)

Solving happens in router workers (``routing.jobs``), never on the gateway's event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import os

import orjson
from aiohttp import web

from gateway.app_keys import REDIS
from gateway.errors import Forbidden, NotFound
from gateway.web_shipments import read_json
from tracking.web import require_staff

from . import (
    api_spec,  # noqa: F401  (documents these routes)
    jobs,
)
from .errors import PlanNotFound
from .offices import load_registry
from .sheet import render_route_sheet

JSON = "application/json"


class NotThisOffice(Forbidden):
    code = "not_this_office"
    title = "Staff may act only for their own office"


def _operator(request: web.Request) -> bool:
    """Operators hold a token from BARID_OPERATOR_TOKEN_SHA256 (comma-separated SHA-256 hex digests)."""
    allowed = [h for h in os.environ.get("BARID_OPERATOR_TOKEN_SHA256", "").split(",") if h]
    header = request.headers.get("Authorization", "")
    if not allowed or not header.startswith("Bearer op_"):
        return False
    digest = hashlib.sha256(header[7:].strip().encode()).hexdigest()
    return any(hmac.compare_digest(digest, h) for h in allowed)


async def _authorize(request: web.Request) -> str:
    """The path's office code, once the caller may plan for it (an unknown office is 404 before anything)."""
    office = load_registry().get(request.match_info["code"])
    if _operator(request):
        return office.code
    staff = await require_staff(request)
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
    return web.Response(body=orjson.dumps(await _record(request)), content_type=JSON)


async def route_sheet(request: web.Request) -> web.Response:
    record = await _record(request)
    if record["status"] != "done":
        raise NotFound(f"the plan is {record['status']}; sheets exist once it is done", "برنامه هنوز آماده نیست",
                       code="plan_not_ready")
    try:
        index = int(request.match_info["n"]) - 1
    except ValueError:
        index = -1
    html = render_route_sheet(record["plan"], index)
    return web.Response(text=html, content_type="text/html", charset="utf-8")


def setup(app: web.Application) -> None:
    app.router.add_post("/v1/offices/{code}/plans", create_plan)
    app.router.add_get("/v1/offices/{code}/plans/{plan_id}", get_plan)
    app.router.add_get("/v1/offices/{code}/plans/{plan_id}/postmen/{n}/sheet", route_sheet)
