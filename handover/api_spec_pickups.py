"""OpenAPI description of the pickup routes (``handover.pickup_web``) and the expiring-parcels listing
(``handover.expiry``), part of handover's fragment (``handover.api_spec``). The rules' values come from the data
file."""

from __future__ import annotations

from kernel.openapi import json_body, problem_responses, ref

from .pickup_rules import hhmm, load_rules
from .pickups import EVENT_TYPES, FAILURE_REASONS, STATUSES

RULES = load_rules()
_HHMM = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}
_DAY = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "description": "A day, Iran time."}
_TNS = {"type": "array", "minItems": 1, "maxItems": RULES.max_tracking_numbers, "items": {"type": "string"}}
_ID = {"name": "pickup_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
_STAFF = [{"staffBearer": []}]
_FIELDS = {
    "address": {**ref("Party"), "description": "Where to collect (its postal_code, province, city, address and "
                "optional location are used). Default: the shop's sender address."},
    "date": _DAY,
    "window": {"type": "object", "required": ["from", "to"], "properties": {"from": _HHMM, "to": _HHMM},
               "description": f"Within office hours ({hhmm(RULES.opens_min)} to {hhmm(RULES.closes_min)}), at least "
                              f"{RULES.min_window_min} minutes long."},
    "expected_count": {"type": "integer", "minimum": 1, "maximum": RULES.max_tracking_numbers},
    "tracking_numbers": _TNS,
    "instructions": {"type": "string", "maxLength": RULES.instructions_max_chars,
                     "description": "For the postman (blank: none)."},
    "contact_mobile": {"$ref": "#/components/schemas/Party/properties/phone",
                       "description": "A mobile number; default: the shop's sender phone."},
}
SCHEMAS = {
    "PickupRequest": {
        "type": "object", "required": ["date", "window"], "properties": _FIELDS,
        "description": "Exactly one of `expected_count` or `tracking_numbers`.",
        "oneOf": [{"required": ["expected_count"], "not": {"required": ["tracking_numbers"]}},
                  {"required": ["tracking_numbers"], "not": {"required": ["expected_count"]}}]},
    "PickupUpdate": {"type": "object", "minProperties": 1, "properties": _FIELDS,
                     "not": {"required": ["expected_count", "tracking_numbers"]},
                     "description": "Any of the request's fields; at most one of `expected_count` or "
                                    "`tracking_numbers`."},
    "Pickup": {
        "type": "object",
        "required": ["pickup_id", "status", "confirmation_code", "collecting_office", "cutoff", "date", "window",
                     "expected_count", "address"],
        "properties": {
            "pickup_id": {"type": "string"}, "status": {"enum": list(STATUSES)}, "status_fa": {"type": "string"},
            "confirmation_code": {"type": "string", "pattern": "^[0-9]{6}$",
                                  "description": "Six digits the shop tells the postman who comes."},
            "collecting_office": {"type": "object", "properties": {"code": {"type": "string"},
                                                                   "name_fa": {"type": "string"}}},
            "cutoff": {"type": "string", "format": "date-time",
                       "description": "Until then the pickup can be changed or cancelled."},
            "date": {"type": "string"}, "window": {"type": "object"}, "expected_count": {"type": "integer"},
            "tracking_numbers": {"type": "array", "items": {"type": "string"}}, "address": {"type": "object"},
            "instructions": {"type": "string"}, "contact_mobile": {"type": "string"},
            "assigned_to": {"type": "string"}, "failure_reason": {"enum": list(FAILURE_REASONS)},
            "collected": {"type": "array", "items": {"type": "string"}}, "manifest_id": {"type": "string"}}},
}
_RULES_TEXT = (
    f"Rules (handover/data/pickups.toml): a working day (no Friday or official holiday) from today to "
    f"{RULES.max_days_ahead} days ahead; a same-day pickup before {RULES.cutoff_hour}:00 Iran time; a window within "
    f"office hours, at least {RULES.min_window_min} minutes; at least {RULES.min_parcels} parcels. Each broken rule "
    "is its own problem: `pickup_date_in_past`, `pickup_day_off`, `pickup_too_far_ahead`, `pickup_after_cutoff`, "
    "`pickup_window_outside_hours`, `pickup_window_too_short`, `pickup_too_few_parcels`.")
_EVENTS = f"Every change is an event on the shop's feed and webhooks ({', '.join(EVENT_TYPES)})."
PATHS = {
    "/v1/pickups": {
        "post": {"tags": ["pickups"], "summary": "Ask the post to collect parcels", "operationId": "createPickup",
                 "description": "Answers the pickup with its id, a confirmation code, the collecting office (the "
                                "office serving the address's postal code) and the cut-off. " + _RULES_TEXT + " "
                                + _EVENTS,
                 "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": ref("PickupRequest")}}},
                 "responses": {"201": json_body(ref("Pickup"), "The pickup, scheduled."),
                               **problem_responses(401, 409, 413, 415, 422, 429, 503)}},
        "get": {"tags": ["pickups"], "summary": "The shop's pickups", "operationId": "listPickups",
                "parameters": [{"name": "status", "in": "query", "schema": {"enum": list(STATUSES)}},
                               {"name": "date", "in": "query", "schema": _DAY},
                               {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                          "maximum": 200, "default": 50}}],
                "responses": {"200": json_body({"type": "object", "required": ["data"], "properties": {
                    "data": {"type": "array", "items": ref("Pickup")}}}, "Latest day first."),
                    **problem_responses(401, 422, 429, 503)}}},
    "/v1/pickups/{pickup_id}": {
        "get": {"tags": ["pickups"], "summary": "A pickup of the shop", "operationId": "getPickup", "parameters": [_ID],
                "responses": {"200": json_body(ref("Pickup"), "The pickup."), **problem_responses(401, 404, 429, 503)}},
        "patch": {"tags": ["pickups"], "summary": "Change a pickup before its cut-off", "operationId": "updatePickup",
                  "description": "The changed pickup meets the same rules; after the cut-off `pickup_past_cutoff` "
                                 "(409), a closed pickup `pickup_closed` (409).", "parameters": [_ID],
                  "requestBody": {"required": True, "content": {"application/json": {"schema": ref("PickupUpdate")}}},
                  "responses": {"200": json_body(ref("Pickup"), "The pickup as changed."),
                                **problem_responses(401, 404, 409, 413, 415, 422, 429, 503)}}},
    "/v1/pickups/{pickup_id}/cancel": {"post": {
        "tags": ["pickups"], "summary": "Cancel a pickup before its cut-off", "operationId": "cancelPickup",
        "parameters": [_ID, {"$ref": "#/components/parameters/IdempotencyKey"}],
        "responses": {"200": json_body(ref("Pickup"), "The pickup, cancelled."),
                      **problem_responses(401, 404, 409, 422, 429, 503)}}},
}
_NOTE = {"type": "string", "maxLength": 300, "description": "Blank: none."}
for action, summary, body in (
    ("assign", "Staff hand the pickup to a postman", {"type": "object", "required": ["postman"],
                                                      "properties": {"postman": {"type": "string", "minLength": 1,
                                                                                 "maxLength": 100}}}),
    ("complete", "Staff record the pickup collected; each parcel is accepted", {
        "type": "object", "required": ["tracking_numbers"], "properties": {"tracking_numbers": _TNS, "note": _NOTE}}),
    ("partial", "Staff record the pickup partly collected; each parcel is accepted", {
        "type": "object", "required": ["tracking_numbers"], "properties": {"tracking_numbers": _TNS, "note": _NOTE}}),
    ("fail", "Staff record a failed pickup", {"type": "object", "required": ["reason"], "properties": {
        "reason": {"enum": list(FAILURE_REASONS)}, "note": _NOTE}}),
):
    settled = action in ("complete", "partial")
    answer = ({"type": "object", "required": ["pickup", "accepted", "missing"], "properties": {
        "pickup": ref("Pickup"), "accepted": {"type": "array", "items": {"type": "object"}},
        "missing": {"type": "array", "items": {"type": "object"}}}} if settled else ref("Pickup"))
    PATHS[f"/v1/pickups/{{pickup_id}}/{action}"] = {"post": {
        "tags": ["pickups"], "summary": summary, "security": _STAFF, "operationId": f"{action}Pickup",
        "description": "Staff of the collecting office only (another office's: `pickup_other_office`, 403). "
                       + ("Each listed parcel of the shop gets its own `accepted` scan at the office, as a "
                          "manifest's parcels do; `missing` lists the ones refused, with the problem. "
                          if settled else "") + "A closed pickup is `pickup_closed` (409).",
        "parameters": [_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {"200": json_body(answer, "The pickup as it is now."),
                      **problem_responses(401, 403, 404, 409, 413, 415, 422, 429, 503)}}}

PATHS["/v1/offices/{code}/pickups"] = {"get": {
    "tags": ["pickups"], "summary": "An office's open pickups of a day (its own staff)", "security": _STAFF,
    "operationId": "listOfficePickups",
    "description": "Scheduled and assigned pickups the office collects that day, earliest window first: what to "
                   "assign, and what the day's route plan carries as pickup stops. Another office's staff: 403.",
    "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 16}},
                   {"name": "date", "in": "query", "required": True, "schema": _DAY}],
    "responses": {"200": json_body({"type": "object", "required": ["office", "date", "data"], "properties": {
        "office": {"type": "string"}, "date": {"type": "string"},
        "data": {"type": "array", "items": ref("Pickup")}}}, "Earliest window first."),
        **problem_responses(401, 403, 422, 429, 503)}}}

PATHS["/v1/shipments/expiring"] = {"get": {
    "tags": ["shipments"], "summary": "Parcels about to expire for not being handed over",
    "operationId": "listExpiringShipments",
    "description": f"A parcel booked and not handed over (no `accepted` scan) within {RULES.expiry_days} days is "
                   "cancelled by the system (a `cancelled` event with `data.reason = \"not_handed_over\"`). This "
                   "lists the shop's parcels that will expire within `within_days`, soonest first.",
    "parameters": [{"name": "within_days", "in": "query", "schema": {"type": "integer", "minimum": 0,
                                                                      "maximum": 365, "default": 2}}],
    "responses": {"200": json_body({"type": "object", "required": ["data", "not_handed_over_days"], "properties": {
        "not_handed_over_days": {"type": "integer"},
        "data": {"type": "array", "items": {"type": "object", "required": ["tracking_number", "expires_at"],
                                            "properties": {"tracking_number": {"type": "string"},
                                                           "booked_at": {"type": "string", "format": "date-time"},
                                                           "expires_at": {"type": "string", "format": "date-time"},
                                                           "expires_in_hours": {"type": "number"}}}}}},
        "Soonest first."), **problem_responses(401, 422, 429, 503)}}}
