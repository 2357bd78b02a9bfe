"""OpenAPI description of the failed-delivery routes (``returns.web``), for the gateway's document.

Actions, states and reasons come from the code that applies them.
"""

from __future__ import annotations

from typing import Any

from kernel.openapi import problem_responses
from kernel.postal.offices import load_registry
from tracking.events import FAILURE_REASONS

from . import api_spec_returns
from .cases import STATES
from .policy import ACTIONS, load_policy

_POLICY = load_policy()


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_TN = {"$ref": "#/components/parameters/TrackingNumber"}
_IDEM = {"$ref": "#/components/parameters/IdempotencyKey"}

SCHEMAS = {
    "NdrAction": {
        "type": "object", "required": ["action"],
        "description": (
            "`reattempt`: deliver again on the next working day. `reschedule`: deliver on `date` (after today, "
            f"at most {_POLICY.reschedule_window_days} days ahead, a working day). `update_contact`: a new "
            "`phone`, `address_notes` and/or a corrected `address` (which may move the parcel to another "
            "office) for the postman (an undecided case then goes out again on the next "
            "working day). `hold_at_office`: the buyer collects it at the counter; it leaves the delivery plans. "
            "`return_to_sender`: the parcel goes back (status `returning`) on a return leg of its own, a new parcel "
            "from this office to the shop (`return_leg`; `returned` once the leg is delivered)."),
        "properties": {
            "action": {"enum": list(ACTIONS)},
            "tracking_number": {"type": "string", "description": "Required in a bulk request only."},
            "date": {"type": "string", "format": "date", "description": "reschedule only."},
            "phone": {"type": "string", "description": "update_contact only: an Iranian mobile number."},
            "address_notes": {"type": "string", "description": f"update_contact only: at most "
                                                               f"{_POLICY.notes_max_chars} characters."},
            "address": {"type": "object", "required": ["postal_code", "province", "city", "address"],
                        "description": "update_contact only: a corrected address, checked as a booking's receiver "
                                       "(the postal code decides the province). When another office serves it, the "
                                       "parcel moves there: its delivering_office, route and expected_delivery "
                                       "change, and the ndr_action event names the new office.",
                        "properties": {k: {"type": "string"} for k in ("postal_code", "province", "city",
                                                                         "address")}},
        }},
    "NdrAttempt": {
        "type": "object", "required": ["attempt", "event_id", "reason", "reason_fa", "office", "occurred_at"],
        "properties": {"attempt": {"type": "integer", "minimum": 1}, "event_id": _STR,
                       "reason": {"enum": list(FAILURE_REASONS)}, "reason_fa": _STR, "office": _STR,
                       "occurred_at": {"type": "string", "format": "date-time"}}},
    "NdrCase": {
        "type": "object",
        "required": ["tracking_number", "status", "status_fa", "parcel_status", "attempt_count", "max_attempts",
                     "attempts", "deadline", "default_action", "allowed_actions", "actions"],
        "properties": {
            "tracking_number": _STR, "status": {"enum": list(STATES)}, "status_fa": _STR, "parcel_status": _STR,
            "attempt_count": {"type": "integer"}, "max_attempts": {"type": "integer"},
            "reason": {"enum": [*FAILURE_REASONS, None]}, "office": _NSTR,
            "attempts": {"type": "array", "items": ref("NdrAttempt"), "description": "Oldest first."},
            "deadline": {"type": ["string", "null"], "format": "date-time",
                         "description": "While the case is open: when the default action is taken for the shop."},
            "default_action": {"enum": ["reattempt", "hold_at_office", "return_to_sender", None]},
            "scheduled_for": {"type": ["string", "null"], "format": "date",
                              "description": "The day the parcel goes out again (no plan carries it before)."},
            "held_at_office": _NSTR, "returned_by": {"enum": ["reason", "max_attempts", "shop", "deadline", None]},
            "return_leg": {"type": ["string", "null"], "description": (
                "Once the case returns the parcel: its leg home, a parcel of its own (GET /v1/returns)")},
            "contact": {"type": ["object", "null"]},
            "actions": {"type": "array", "items": {"type": "object"}, "description": "Decisions, oldest first."},
            "allowed_actions": {"type": "array", "items": {"enum": list(ACTIONS)}},
            "opened_at": _NSTR, "updated_at": _NSTR,
            "event_id": {"type": "string", "description": "In an action's answer: its event on the feed."},
        }},
    "NdrCasePage": {"type": "object", "required": ["data", "next_after", "has_more"], "properties": {
        "data": {"type": "array", "items": ref("NdrCase")}, "next_after": _NSTR, "has_more": {"type": "boolean"}}},
    "NdrBulkResult": {"type": "object", "required": ["applied", "rejected", "results"], "properties": {
        "applied": {"type": "integer"}, "rejected": {"type": "integer"},
        "results": {"type": "array", "items": {"type": "object", "required": ["index", "ok"], "properties": {
            "index": {"type": "integer"}, "tracking_number": _NSTR, "ok": {"type": "boolean"},
            "case": ref("NdrCase"), "error": {"type": "object"}}}}}},
}

PATHS = {
    "/v1/ndr": {"get": {
        "tags": ["ndr"], "summary": "The shop's failed-delivery cases, newest first",
        "operationId": "listNdrCases",
        "parameters": [
            {"name": "status", "in": "query", "schema": {"enum": list(STATES)}},
            {"name": "reason", "in": "query", "description": "Of the latest attempt.",
             "schema": {"enum": list(FAILURE_REASONS)}},
            {"name": "office", "in": "query", "description": "Office of the latest attempt.",
             "schema": {"enum": sorted(c for c, o in load_registry().offices.items() if o.kind == "office")}},
            {"name": "after", "in": "query", "description": "`next_after` of the previous page.",
             "schema": {"type": "string", "pattern": "^[0-9]{13}:[A-Z]{2}[0-9]{9}[A-Z]{2}$"}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100,
                                                        "default": 50}},
        ],
        "responses": {"200": {"description": "A page of cases.",
                              "content": {"application/json": {"schema": ref("NdrCasePage")}}},
                      **problem_responses(401, 422, 429, 503)}}},
    "/v1/ndr/actions": {"post": {
        "tags": ["ndr"], "summary": "Decide on many cases at once",
        "description": f"Up to {_POLICY.bulk_max_items} actions, each with its `tracking_number`; each is applied "
                       "or refused on its own (`results`, in order).",
        "operationId": "bulkNdrActions", "parameters": [_IDEM],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["actions"],
            "properties": {"actions": {
                "type": "array", "minItems": 1, "maxItems": _POLICY.bulk_max_items,
                # Each item is checked on its own (its error is in its result), so any object is a valid item.
                "items": {"type": "object", "description": "An NdrAction with its `tracking_number`."}}}}}}},
        "responses": {"200": {"description": "One result per action.",
                              "content": {"application/json": {"schema": ref("NdrBulkResult")}}},
                      **problem_responses(401, 409, 415, 422, 429, 503)}}},
    "/v1/ndr/{tracking_number}": {"get": {
        "tags": ["ndr"], "summary": "One failed-delivery case", "operationId": "getNdrCase",
        "parameters": [_TN],
        "responses": {"200": {"description": "The case.", "content": {"application/json": {"schema": ref("NdrCase")}}},
                      **problem_responses(401, 404, 429, 503)}}},
    "/v1/ndr/{tracking_number}/actions": {"post": {
        "tags": ["ndr"], "summary": "Decide what happens to a parcel whose delivery failed",
        "description": "409 `ndr_case_closed` once the parcel is returning, delivered or returned; 409 "
                       "`ndr_parcel_out_for_delivery` while a postman has it; 409 `ndr_action_not_allowed` for an "
                       "action the case's state rules out (holding a held parcel). Every decision is an "
                       "`ndr_action` event on the feed and the webhooks.",
        "operationId": "postNdrAction", "parameters": [_TN, _IDEM],
        "requestBody": {"required": True, "content": {"application/json": {"schema": ref("NdrAction")}}},
        "responses": {"200": {"description": "The case after the decision.",
                              "content": {"application/json": {"schema": ref("NdrCase")}}},
                      **problem_responses(401, 404, 409, 415, 422, 429, 503)}}},
}

def fragment(_limits: object = None) -> dict[str, Any]:
    """The failed-delivery and return operations and the components they name, for the gateway's document
    (gateway.openapi)."""
    returns = api_spec_returns.fragment()
    return {"paths": {**PATHS, **returns["paths"]},
            "components": {"schemas": {**SCHEMAS, **returns["components"]["schemas"]}}}
