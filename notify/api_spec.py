"""OpenAPI fragment of the notification routes (``notify.web``): gateway.openapi lists ``fragment``."""

from __future__ import annotations

from kernel.openapi import json_body, problem_responses, ref

from .policy import load_policy

_EVENTS = list(load_policy().events)
_TN = {"$ref": "#/components/parameters/TrackingNumber"}

SCHEMAS = {
    "SmsSettings": {
        "type": "object", "required": ["events"],
        "properties": {
            "events": {"type": "array", "items": {"enum": _EVENTS},
                       "description": "The events the buyer gets an SMS for (repeats are folded); empty (the default) turns SMS off. "
                                      "While any is on, quotes and bookings carry the `sms` fee."},
            "available": {"type": "array", "items": {"type": "string"}, "readOnly": True}}},
    "SmsOptOut": {"type": "object", "required": ["phone"],
                  "properties": {"phone": {"$ref": "#/components/schemas/Party/properties/phone"},
                                 "opted_out": {"type": "boolean", "readOnly": True}}},
    "SmsReceipt": {
        "type": "object", "required": ["id", "event", "status", "receptor", "text"],
        "properties": {
            "id": {"type": "string", "description": "`<event id>|<receptor>`: one message per event and number."},
            "event": {"enum": _EVENTS}, "event_id": {"type": "string"}, "receptor": {"type": "string"},
            "text": {"type": "string"},
            "status": {"enum": ["queued", "deferred", "retrying", "sent", "failed", "opted_out"],
                       "description": "`deferred`: waits for the end of quiet hours; `retrying`: the provider "
                                      "failed, tried again at `due_at`; `failed`: refused for good or out of retries."},
            "due_at": {"type": "string", "format": "date-time"}, "tries": {"type": "integer"},
            "provider": {"type": "string"}, "message_id": {"type": "string"},
            "provider_status": {"type": "integer"}, "provider_status_text": {"type": "string"},
            "cost": {"type": "integer", "description": "What the provider charged (rials)."},
            "sent_at": {"type": "string", "format": "date-time"},
            "error": {"type": "object", "description": "The provider's last refusal (status, message)."}}},
}

_SHOP = [{"bearerAuth": []}]
_TOKEN = {"name": "token", "in": "path", "required": True, "description": "The signed link's token.",
          "schema": {"type": "string"}}


def _pages(*statuses: tuple[str, str]) -> dict:
    return {status: {"description": text, "content": {"text/html": {"schema": {"type": "string"}}}}
            for status, text in statuses}
PATHS = {
    "/v1/notifications": {
        "get": {"tags": ["notifications"], "summary": "The shop's buyer-SMS events", "operationId": "getSmsSettings",
                "security": _SHOP, "responses": {"200": json_body(ref("SmsSettings"), "The settings."),
                                                 **problem_responses(401, 429, 503)}},
        "put": {"tags": ["notifications"], "summary": "Turn buyer SMS on per event", "operationId": "putSmsSettings",
                "security": _SHOP,
                "requestBody": {"required": True, "content": {"application/json": {"schema": ref("SmsSettings")}}},
                "responses": {"200": json_body(ref("SmsSettings"), "The settings now."),
                              **problem_responses(401, 415, 422, 429, 503)}}},
    "/v1/sms-opt-outs": {"post": {
        "tags": ["notifications"], "summary": "Send no more SMS to a number",
        "description": "A shop's API key or a post-office staff token. Every shop's messages to the number stop, "
                       "including those already queued.",
        "operationId": "createSmsOptOut", "security": [{"bearerAuth": []}, {"staffBearer": []}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": ref("SmsOptOut")}}},
        "responses": {"201": json_body(ref("SmsOptOut"), "Opted out."),
                      "200": json_body(ref("SmsOptOut"), "Was opted out already."),
                      **problem_responses(401, 415, 422, 429, 503)}}},
    "/v1/shipments/{tracking_number}/notifications": {"get": {
        "tags": ["notifications"], "summary": "The buyer SMS of a parcel, with the provider's receipts",
        "operationId": "listShipmentNotifications", "security": _SHOP, "parameters": [_TN],
        "responses": {"200": json_body({"type": "object", "properties": {
            "tracking_number": {"type": "string"}, "data": {"type": "array", "items": ref("SmsReceipt")}}},
            "Oldest first."), **problem_responses(401, 404, 429, 503)}}},
    "/s/{token}": {
        "get": {"tags": ["notifications"], "summary": "The buyer's self-service page of a failed delivery",
                "description": "Opened from the failed-attempt SMS. A Persian, right-to-left HTML page: the next "
                               "working days within the reschedule window, collection at the office, address "
                               "notes. Rate-limited per client address.",
                "operationId": "selfServicePage", "security": [], "parameters": [_TOKEN],
                "responses": _pages(("200", "The page."), ("403", "Forged link."), ("404", "No case yet."),
                                    ("410", "Expired link."), ("429", "Too many requests from this address."))},
        "post": {"tags": ["notifications"], "summary": "The buyer's choice: it becomes the case's action",
                 "operationId": "selfServiceChoose", "security": [], "parameters": [_TOKEN],
                 "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                     "type": "object", "required": ["csrf"], "properties": {
                         "csrf": {"type": "string", "description": "From the page served for this link."},
                         "choice": {"type": "string", "description": "`day:YYYY-MM-DD`, `hold` or `notes`."},
                         "notes": {"type": "string"}}}}}},
                 "responses": _pages(("200", "Done: the page with the case as it is now."),
                                     ("403", "Forged link or a form of another link."), ("404", "No case yet."),
                                     ("409", "The case no longer takes this choice (page says why)."),
                                     ("410", "Expired link."), ("422", "Not one of the offered choices."),
                                     ("429", "Too many requests from this address."))}},
}



def fragment(_limits: object = None) -> dict:
    """The notification operations and the schemas they name, for the gateway's document (gateway.openapi)."""
    return {"paths": PATHS, "components": {"schemas": SCHEMAS}}
