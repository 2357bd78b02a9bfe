"""The planning feature's OpenAPI fragment (``routing.web``'s routes), assembled by ``gateway/openapi.py``."""

from __future__ import annotations

from typing import Any

from kernel.errors import PROBLEM_CONTENT_TYPE
from kernel.openapi import JSON, json_body, problem_responses, ref

from .service import PLAN_TIME_LIMIT_S

_SECURITY = [{"staffBearer": []}, {"operatorBearer": []}]  # staffBearer is contributed by tracking.api_spec

SECURITY_SCHEMES = {"operatorBearer": {
    "type": "http", "scheme": "bearer",
    "description": "An operator token `op_...` whose SHA-256 is listed in BARID_OPERATOR_TOKEN_SHA256; it may act "
                   "for any office."}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_CONTENT_TYPE: {"schema": ref("Problem")}}}


def _errors(not_found: str, *statuses: int, **described: str) -> dict[str, Any]:
    out = {**problem_responses(403, 404, 503, *statuses),
           "401": _problem("Missing, malformed, unknown or revoked staff (or operator) token."),
           "403": _problem("Staff may plan only for their own office, or (hub staff) for the offices of their hub."),
           "404": _problem(not_found)}
    out.update({status.removeprefix("s"): _problem(text) for status, text in described.items()})
    return dict(sorted(out.items()))


_CODE = {"name": "code", "in": "path", "required": True, "description": "Post-office code of the registry.",
         "schema": {"type": "string"}, "example": "IFN-01"}
_PLAN_ID = {"name": "plan_id", "in": "path", "required": True, "schema": {"type": "string"},
            "example": "0123456789abcdef0123456789abcdef"}
_TIME = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC."}
low, high = PLAN_TIME_LIMIT_S

SCHEMAS: dict[str, Any] = {
    "PlanRequest": {
        "type": "object", "required": ["date"],
        "description": "A body that is not a JSON object counts as {}. Unknown fields are ignored.",
        "properties": {
            "date": {"type": "string", "format": "date", "description": "The delivery day, YYYY-MM-DD, today "
                                                                         "or later (Iran time): parcels at the "
                                                                         "office by that day's shift are planned "
                                                                         "(docs/planning.md)."},
            "time_limit_s": {"type": "number", "minimum": low, "maximum": high, "default": 10,
                             "description": "How long the solver may search."},
            "postmen": {"type": ["integer", "null"], "minimum": 1, "maximum": 200,
                        "description": "Postmen available; null or absent: the office's fleet."}}},
    "PlanRecord": {
        "type": "object",
        "required": ["plan_id", "office", "date", "time_limit_s", "postmen", "status", "requested_at"],
        "properties": {
            "plan_id": {"type": "string"}, "office": {"type": "string"}, "date": {"type": "string",
                                                                                  "format": "date"},
            "time_limit_s": {"type": "number"}, "postmen": {"type": ["integer", "null"]},
            "status": {"enum": ["queued", "running", "done", "failed"]},
            "requested_at": _TIME, "started_at": _TIME, "finished_at": _TIME,
            "attempts": {"type": "integer", "minimum": 1},
            "plan": {"type": "object", "required": ["plan_id", "office", "date", "postmen", "unassigned"],
                     "description": "When done: the office, shift, one route per postman (`postmen`, each with "
                                    "`sheet_url`: its route sheet as a signed link that opens without a token "
                                    "until `sheet_url_expires_at`), `unassigned` parcels with a `reason` "
                                    "(`not_at_office`, `over_capacity`, `over_cash_cap`, "
                                    "`time_window_outside_shift`, `no_capacity`; a pickup left out has "
                                    "`pickup_id` and `kind: pickup`, or `invalid_pickup`), `totals` and `solver` "
                                    "statistics. Each stop has a `kind`: `delivery`, or `pickup` (parcels "
                                    "collected from a shop on the same route, with `pickup.expected_count`; "
                                    "`load_after_kg` rises there)."},
            "error": {"type": "object", "required": ["code", "message"], "description": "When failed.",
                      "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
}

PATHS: dict[str, dict[str, Any]] = {
    "/v1/offices/{code}/plans": {"post": {
        "tags": ["planning"], "summary": "Queue a delivery plan for an office's day", "operationId": "createPlan",
        "description": "Router workers solve it; poll the plan (its URL is in `Location`) until done or failed.",
        "security": _SECURITY, "parameters": [_CODE],
        "requestBody": {"required": True, "content": {JSON: {"schema": ref("PlanRequest"),
                                                               "example": {"date": "2025-03-22", "time_limit_s": 10}}}},
        "responses": {
            "202": json_body(ref("PlanRecord"), "Queued.", {"Location": {
                "required": True, "schema": {"type": "string"}, "description": "The plan's URL."}}),
            **_errors("No such office.", 413, 415, 422,
                      s422="Malformed JSON, `date` not YYYY-MM-DD or before today (`plan_date_in_past`), or "
                           "`time_limit_s` / `postmen` out of range.")}}},
    "/v1/offices/{code}/plans/{plan_id}": {"get": {
        "tags": ["planning"], "summary": "A delivery plan", "operationId": "getPlan",
        "security": _SECURITY, "parameters": [_CODE, _PLAN_ID],
        "responses": {"200": json_body(ref("PlanRecord"), "The plan record."),
                      **_errors("No such office, or no such plan for this office (plans expire after a week).")}}},
    "/v1/offices/{code}/plans/{plan_id}/postmen/{n}/sheet": {"get": {
        "tags": ["planning"], "summary": "A postman's printable Persian route sheet", "operationId": "getRouteSheet",
        "description": "Open it with a staff (or operator) token, or as the plan's `sheet_url` (signed with `exp` "
                       "and `sig`, no token needed). A tampered link is 403 `sheet_link_invalid`, an expired one 403 "
                       "`sheet_link_expired`.",
        "security": [*_SECURITY, {}],
        "parameters": [_CODE, _PLAN_ID, {"name": "n", "in": "path", "required": True, "description": "1-based.",
                                         "schema": {"type": "string"}, "example": "1"},
                       {"name": "exp", "in": "query", "required": False, "schema": {"type": "string"},
                        "description": "Signed link: expiry, Unix seconds."},
                       {"name": "sig", "in": "query", "required": False, "schema": {"type": "string"},
                        "description": "Signed link: HMAC-SHA256 of office, plan, postman and expiry."}],
        "responses": {"200": {"description": "Self-contained HTML page (no script; served with a strict "
                                             "Content-Security-Policy).",
                              "content": {"text/html": {"schema": {"type": "string"}}}},
                      **_errors("No such office, plan or postman, or the plan is not done yet (plan_not_ready).",
                                s403="Staff of another office, or a sheet link that is tampered with "
                                     "(`sheet_link_invalid`) or expired (`sheet_link_expired`).")}}},
}


def fragment(_limits: object = None) -> dict[str, Any]:
    """The planning operations and the components they name, for the gateway's document (gateway.openapi)."""
    return {"paths": PATHS, "components": {"schemas": SCHEMAS, "securitySchemes": SECURITY_SCHEMES}}
