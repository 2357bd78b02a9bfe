"""OpenAPI description of the shop's money routes (``money.shop_web``), contributed to the gateway's document."""

from __future__ import annotations

from typing import Any

from kernel.openapi import json_body, problem_responses, ref

from .disputes import EVENT_TYPES, KINDS, OUTCOMES
from .disputes import STATUSES as DISPUTE_STATUSES
from .remittance import FEE_KINDS, STATUSES
from .statement import CSV_HEADER

_SHOP = [{"bearerAuth": []}, {"panelSession": []}]
_OPERATOR = [{"operatorBearer": []}]  # contributed by routing.api_spec
_R = {"type": "integer", "description": "Rials."}
_NET = {"type": "integer", "description": "Rials, net of the post's fees."}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}
_CURSOR = {"name": "cursor", "in": "query", "schema": {"type": "string"},
           "description": "The `next_cursor` of the previous page."}
_ERRORS: dict[str, Any] = {**problem_responses(401, 404, 503)}
_EVENTS = f"Each change is an event on the shop's feed and webhooks ({', '.join(EVENT_TYPES)})."

SCHEMAS = {
    "Balance": {
        "type": "object", "description": "Every collected rial is in one place: collected = fees + remitted + "
        "in_flight + on_hold + due_now + pending (docs/remittances.md).",
        "required": ["shop_id", "currency", "as_of", "collected", "fees", "remitted", "in_flight", "on_hold",
                     "due_now", "pending", "pending_by_day", "open_disputes", "next_payout", "cycle"],
        "properties": {
            "shop_id": {"type": "integer"}, "currency": {"const": "IRR"}, "as_of": {"type": "string", "format": "date"},
            "collected": {"type": "integer", "description": "Rials buyers paid for the shop's COD parcels."},
            "fees": {"type": "integer", "description": "The post's fees on those parcels (shipping, COD fee, "
                     "insurance, VAT)."},
            "remitted": {**_NET, "description": "Paid to the shop (remittances `paid`)."},
            "in_flight": {**_NET, "description": "In remittances `scheduled` or `sent`."},
            "on_hold": {**_NET, "description": "In remittances `held`, and parcels under an open dispute."},
            "due_now": {**_NET, "description": "Payout day come, in no remittance yet (or in a `failed` one)."},
            "pending": {**_NET, "description": "Delivered, payout day not yet come."},
            "pending_by_day": {"type": "array", "items": {"type": "object", "properties": {
                "date": {"type": "string", "format": "date"}, "count": {"type": "integer"}, "amount": _NET}}},
            "open_disputes": {"type": "integer"},
            "next_payout": {"type": ["object", "null"], "properties": {
                "date": {"type": "string", "format": "date"}, "amount": _NET, "count": {"type": "integer"}}},
            "cycle": {"type": "object"}}},
    "Remittance": {
        "type": "object",
        "required": ["remittance_id", "period", "status", "status_fa", "count", "collected", "fees", "total"],
        "properties": {
            "remittance_id": {"type": "string"}, "period": {"type": "string", "format": "date",
                                                            "description": "The payout day."},
            "status": {"enum": list(STATUSES)}, "status_fa": {"type": "string"},
            "hold_reason": {"type": ["string", "null"], "enum": ["unverified_account", "open_dispute", None]},
            "hold_reason_fa": {"type": ["string", "null"]}, "count": {"type": "integer"}, "collected": _R,
            "fees": {"type": "object", "properties": {k: _R for k in (*FEE_KINDS, "total")}},
            "total": {**_NET, "description": "What is paid: collected less every fee."},
            "bank_ref": {"type": ["string", "null"]}, "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"}, "links": {"type": "object"},
            "history": {"type": "array", "description": "On the single remittance only.", "items": {
                "type": "object", "properties": {"status": {"type": "string"}, "status_fa": {"type": "string"},
                                                 "at": {"type": "string", "format": "date-time"},
                                                 "made_by": {"type": "string"}, "bank_ref": {"type": ["string", "null"]},
                                                 "note": {"type": ["string", "null"]}}}}}},
    "RemittancePage": {"type": "object", "required": ["items", "next_cursor"], "properties": {
        "items": {"type": "array", "items": ref("Remittance")}, "next_cursor": {"type": ["string", "null"]}}},
    "DisputeRequest": {
        "type": "object", "required": ["tracking_number", "kind"],
        "if": {"properties": {"kind": {"const": "wrong_amount"}}}, "then": {"required": ["claimed_amount"]},
        "properties": {"tracking_number": {"type": "string", "pattern": "^[A-Za-z]{2}[0-9]{9}[A-Za-z]{2}$"},
                       "kind": {"enum": list(KINDS)},
                       "claimed_amount": {**_R, "minimum": 0, "maximum": 10**15 - 1,
                                          "description": "Required for `wrong_amount`."},
                       "note": {"type": "string", "maxLength": 1000}}},
    "Dispute": {
        "type": "object",
        "required": ["dispute_id", "tracking_number", "kind", "held_amount", "status", "status_fa", "opened_at"],
        "properties": {
            "dispute_id": {"type": "integer"}, "tracking_number": {"type": "string"}, "kind": {"enum": list(KINDS)},
            "kind_fa": {"type": "string"}, "claimed_amount": {"type": ["integer", "null"]},
            "held_amount": {**_NET, "description": "What the dispute holds back until it is closed (0 when the "
                            "money was already sent)."},
            "note": {"type": ["string", "null"]}, "status": {"enum": list(DISPUTE_STATUSES)},
            "status_fa": {"type": "string"}, "resolution": {"type": ["string", "null"]},
            "resolved_by": {"type": ["string", "null"]}, "opened_at": {"type": "string", "format": "date-time"},
            "resolved_at": {"type": ["string", "null"], "format": "date-time"},
            "remittance_id": {"type": ["string", "null"], "description": "On opening: the remittance it held."}}},
    "DisputeResolution": {
        "type": "object", "required": ["outcome", "note", "by"],
        "properties": {"outcome": {"enum": list(OUTCOMES)},
                       "note": {"type": "string", "minLength": 1, "maxLength": 1000, "pattern": "\\S"},
                       "by": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S"},
                       "adjustment": {"type": "integer", "minimum": -(10**15) + 1, "maximum": 10**15 - 1,
                                      "description": "A resolved `wrong_amount` only: rials "
                                      "the post owes the shop more (negative: less), posted as a ledger correction."}}},
}


def _get(summary: str, op: str, ok: dict[str, Any], *params: dict[str, Any], errors: tuple[int, ...] = ()) -> dict:
    return {"get": {"tags": ["money"], "summary": summary, "operationId": op, "security": _SHOP,
                    "parameters": list(params), "responses": {"200": ok, **_ERRORS, **problem_responses(*errors)}}}


PATHS = {
    "/v1/balance": _get("The shop's COD balance", "getBalance", json_body(ref("Balance"), "The figures.")),
    "/v1/remittances": _get(
        "The shop's remittances, newest payout day first", "listRemittances",
        json_body(ref("RemittancePage"), "A page."),
        {"name": "status", "in": "query", "schema": {"enum": list(STATUSES)}}, _LIMIT, _CURSOR, errors=(422,)),
    "/v1/remittances/{id}": _get("One remittance, with its fee totals and history", "getRemittance",
                                 json_body(ref("Remittance"), "The remittance."), _ID),
    "/v1/remittances/{id}/lines": _get(
        "A remittance's lines, streamed", "getRemittanceLines",
        {"description": "In delivery order, streamed as read (any length, constant memory). CSV columns: "
                        f"{', '.join(CSV_HEADER)}; JSON: {{remittance_id, count, lines: [...]}}.",
         "content": {"text/csv": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}},
        _ID, {"name": "format", "in": "query", "schema": {"enum": ["json", "csv"], "default": "json"}},
        errors=(422,)),
    "/v1/remittances/{id}/statement.pdf": _get(
        "A remittance's Persian statement (PDF)", "getRemittanceStatement",
        {"description": "A4, right to left, Jalali dates, Persian digits. Over 3000 lines: 422 "
                        "`statement_pdf_too_long` (read the lines as CSV).",
         "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}, _ID, errors=(422,)),
    "/v1/disputes": {
        "post": {"tags": ["money"], "summary": "Dispute a delivered parcel's money", "operationId": "openDispute",
                 "description": "Holds the parcel's amount until an operator resolves it: not yet remitted, it "
                                "stays out of remittances; in a `scheduled` remittance, that remittance is `held`. "
                                "One open dispute per parcel (409 `dispute_already_open`). Idempotency-Key "
                                "replays the first answer. " + _EVENTS,
                 "security": _SHOP, "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": ref("DisputeRequest")}}},
                 "responses": {"201": json_body(ref("Dispute"), "Opened."), **_ERRORS,
                               **problem_responses(409, 415, 422)}},
        **_get("The shop's disputes, newest first", "listDisputes", json_body(
            {"type": "object", "properties": {"items": {"type": "array", "items": ref("Dispute")},
                                              "next_cursor": {"type": ["string", "null"]}}}, "A page."),
            {"name": "status", "in": "query", "schema": {"enum": list(DISPUTE_STATUSES)}}, _LIMIT, _CURSOR,
            errors=(422,))},
    "/v1/disputes/{id}": _get("One dispute", "getDispute", json_body(ref("Dispute"), "The dispute."), _ID),
    "/v1/operator/disputes/{id}/resolve": {"post": {
        "tags": ["money"], "summary": "Resolve or reject a dispute (operators)", "operationId": "resolveDispute",
        "description": "Releases the remittance it held once no other open dispute holds it; a resolved "
                       "`wrong_amount` may carry an `adjustment` (a ledger correction). " + _EVENTS,
        "security": _OPERATOR, "parameters": [_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": ref("DisputeResolution")}}},
        "responses": {"200": json_body(ref("Dispute"), "Closed."), **_ERRORS, **problem_responses(409, 415, 422)}}},
}


def fragment(_limits: object = None) -> dict[str, Any]:
    """The shop's money operations and their components, for the gateway's document (gateway.openapi)."""
    return {"paths": PATHS, "components": {"schemas": SCHEMAS}}
