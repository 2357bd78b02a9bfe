"""OpenAPI description of the money routes (``money.web``), contributed to the gateway's document."""

from __future__ import annotations

from typing import Any

from kernel.openapi import json_body, problem_responses, ref

from .closing import CASES

_STAFF = [{"staffBearer": []}]
_CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
         "description": "The office's code; the caller must be its own staff (403 `cash_close_forbidden`)."}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"}}
_RIALS = {"type": "integer", "description": "Rials."}
_DAY = {"type": "string", "format": "date", "description": "The Tehran calendar day."}
_ERRORS: dict[str, Any] = {**problem_responses(403, 404, 503),
                           "401": {"description": "Missing, malformed, unknown or revoked staff token."}}

SCHEMAS = {
    "CashCloseRequest": {
        "type": "object", "required": ["date", "postman", "declared_total"],
        "properties": {
            "date": _DAY,
            "postman": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,32}$",
                        "description": "The postman's id, as his cod_collected scans name him (`postman`)."},
            "declared_total": {"type": "integer", "minimum": 0, "description": "Cash he hands in, rials."},
            "parcels": {"type": "array", "maxItems": 2000, "description": "Optional: the parcels he says he "
                        "collected for, each checked (`exceptions`).",
                        "items": {"type": "object", "required": ["tracking_number"], "properties": {
                            "tracking_number": {"type": "string"}, "amount": {"type": "integer", "minimum": 0}}}}}},
    "CashCloseException": {
        "type": "object", "required": ["case", "case_fa", "tracking_number"],
        "properties": {"case": {"enum": list(CASES)}, "case_fa": {"type": "string"},
                       "tracking_number": {"type": "string"}}},
    "CashClose": {
        "type": "object",
        "required": ["id", "office", "postman", "date", "declared_total", "expected_total", "variance",
                     "exceptions", "closed_by", "closed_at"],
        "properties": {
            "id": {"type": "integer"}, "office": {"type": "string"}, "postman": {"type": "string"}, "date": _DAY,
            "declared_total": _RIALS,
            "expected_total": {"type": "integer", "description": "Cash the ledger booked to the postman that day."},
            "variance": {"type": "integer", "description": "declared_total - expected_total (negative: short)."},
            "exceptions": {"type": "array", "items": ref("CashCloseException")},
            "parcels": {"type": "array", "description": "The cash collections the ledger holds for that day.",
                        "items": {"type": "object"}},
            "posting_id": {"type": ["integer", "null"], "description": "The close's ledger posting."},
            "closed_by": {"type": "string"}, "closed_at": {"type": "string", "format": "date-time"}}},
    "OfficeCashDay": {
        "type": "object",
        "required": ["office", "date", "closings", "declared_total", "expected_total", "variance", "open_postmen",
                     "delivered_not_collected"],
        "properties": {"office": {"type": "string"}, "date": _DAY,
                       "closings": {"type": "array", "items": ref("CashClose")},
                       "declared_total": _RIALS, "expected_total": _RIALS, "variance": _RIALS,
                       "open_postmen": {"type": "array", "items": {"type": "object"}},
                       "delivered_not_collected": {"type": "array", "items": ref("CashCloseException")}}},
}

PATHS = {
    "/v1/offices/{code}/cash-closings": {
        "post": {
            "tags": ["money"], "summary": "Close a postman's cash for a day", "operationId": "createCashClose",
            "description": "Expected total from the ledger, the variance, and the listed parcels sorted into named "
                           f"cases ({', '.join(CASES)}). The close posts to the ledger (office cash, the "
                           "postman's cash, a difference to the post's clearing account). A closed "
                           "(office, postman, day) is locked: 409 `cash_close_already_closed`.",
            "security": _STAFF, "parameters": [_CODE],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("CashCloseRequest")}}},
            "responses": {"201": json_body(ref("CashClose"), "Closed."),
                          **_ERRORS, **problem_responses(409, 415, 422)}},
        "get": {
            "tags": ["money"], "summary": "The office's day close", "operationId": "getOfficeCashDay",
            "security": _STAFF, "parameters": [_CODE, {"name": "date", "in": "query", "schema": _DAY}],
            "responses": {"200": json_body(ref("OfficeCashDay"), "Every postman's close of the day summed."),
                          **_ERRORS, **problem_responses(422)}}},
    "/v1/offices/{code}/cash-closings/{id}": {"get": {
        "tags": ["money"], "summary": "One cash close", "operationId": "getCashClose", "security": _STAFF,
        "parameters": [_CODE, _ID], "responses": {"200": json_body(ref("CashClose"), "The close."), **_ERRORS}}},
    "/v1/offices/{code}/cash-closings/{id}/sheet": {"get": {
        "tags": ["money"], "summary": "A close's printable Persian sheet", "operationId": "getCashCloseSheet",
        "security": _STAFF, "parameters": [_CODE, _ID],
        "responses": {"200": {"description": "HTML, right to left, Jalali date, Persian digits.",
                              "content": {"text/html": {"schema": {"type": "string"}}}}, **_ERRORS}}},
}

def fragment(_limits: object = None) -> dict[str, Any]:
    """The cash-close operations and the components they name, for the gateway's document (gateway.openapi)."""
    return {"paths": PATHS, "components": {"schemas": SCHEMAS}}
