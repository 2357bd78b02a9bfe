"""OpenAPI description of the notification routes (``notify.web``), contributed to the gateway's document."""

from __future__ import annotations

from gateway.openapi import add_paths, json_body, problem_responses, ref

from .policy import load_policy

_EVENTS = list(load_policy().events)
_TN = {"$ref": "#/components/parameters/TrackingNumber"}

SCHEMAS = {
    "SmsSettings": {
        "type": "object", "required": ["events"],
        "properties": {
            "events": {"type": "array", "uniqueItems": True, "items": {"enum": _EVENTS},
                       "description": "The events the buyer gets an SMS for; empty (the default) turns SMS off. "
                                      "While any is on, quotes and bookings carry the `sms` fee."},
            "available": {"type": "array", "items": {"type": "string"}, "readOnly": True}}},
    "SmsOptOut": {"type": "object", "required": ["phone"],
                  "properties": {"phone": {"type": "string", "description": "An Iranian mobile number."},
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
}

add_paths(PATHS, SCHEMAS)
