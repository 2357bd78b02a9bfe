"""The tracking feature's OpenAPI fragment (``tracking.web``'s routes), assembled by ``gateway/openapi.py``.

Limits and names come from the code that enforces them (``TrackingConfig`` defaults, the event rules, the office registry).
"""

from __future__ import annotations

from typing import Any

from booking.validation import SERVICES
from kernel.errors import PROBLEM_CONTENT_TYPE
from kernel.openapi import JSON, json_body, problem_responses, ref
from kernel.postal.offices import load_registry
from kernel.settings import TrackingConfig
from kernel.store import keys
from kernel.store.keys import STATUSES

from .events import COD_METHODS, FAILURE_REASONS, FEATURE_EVENTS, RULES, STAFF_EVENTS

_DEFAULTS = TrackingConfig()
_OFFICES = load_registry().offices
IGNORED = " Unknown fields are ignored."
_TIMESTAMP = {"type": "string", "format": "date-time"}
_STAFF = [{"staffBearer": []}]
_SHOP = [{"bearerAuth": []}]
_PUBLIC: list[dict[str, list[str]]] = []


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_CONTENT_TYPE: {"schema": ref("Problem")}}}


def _staff_errors(*statuses: int, **described: str) -> dict[str, Any]:
    """Errors of a staff route: the staff 401 (no WWW-Authenticate, no rate limit) plus these."""
    out = {**problem_responses(*statuses), "401": _problem("Missing, malformed, unknown or revoked staff token.")}
    out.update({status.removeprefix("s"): _problem(text) for status, text in described.items()})
    return dict(sorted(out.items()))


_ENDPOINT_ID = [{"name": "endpoint_id", "in": "path", "required": True, "schema": {"type": "string"},
                 "example": "ep_0123456789abcdef"}]
_TN = [{"$ref": "#/components/parameters/TrackingNumber"}]

SECURITY_SCHEMES = {"staffBearer": {
    "type": "http", "scheme": "bearer",
    "description": "A post-office staff member's token, `st_<staff id>_<secret>`; the staff member scans for "
                   "their own office only."}}

_EVENT_NAMES = {"type": "array", "minItems": 1, "items": {"enum": [*RULES, *sorted(FEATURE_EVENTS)]}}
_OFFICE_REF = {"type": "object", "required": ["code", "name_fa", "name_en", "city", "province"],
               "properties": {k: {"type": "string"} for k in ("code", "name_fa", "name_en", "city", "province")}}

# A feed cursor (tracking.feed._CURSOR): a stream id, and .k for the k-th event of a run.
_CURSOR_PATTERN = ("^[0-9]{1,20}-[0-9]{1,20}(\\.(" + "|".join(map(str, range(1, keys.FEED_RUN)))
                   + "))?$")

SCHEMAS: dict[str, Any] = {
    "ScanRequest": {
        "type": "object", "required": ["tracking_number", "event", "office", "occurred_at", "scan_id"],
        "description": "One staff scan. `reason` is required for delivery_failed, `receiver_name` for delivered, "
                       "`amount` and `method` for cod_collected (and `rrn` when paid by card); they are ignored "
                       "for other events." + IGNORED,
        "properties": {
            "tracking_number": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{9}[A-Z]{2}$",
                                "description": "UPU S10 number, upper case, with a valid check digit."},
            "event": {"enum": list(STAFF_EVENTS), "description": "sorting_in and sorting_out are scanned at a hub; "
                      "arrived_delivery_office, out_for_delivery, delivery_failed, delivered and cod_collected at "
                      "a post office; accepted and returned_to_sender at either."},
            "office": {"enum": list(_OFFICES), "description": "The scanning office: the staff member's own."},
            "occurred_at": {**_TIMESTAMP, "description": "ISO 8601 with a zone, at most "
                            f"{_DEFAULTS.max_clock_skew_s:g} s in the future (device clock skew) and at most "
                            f"{_DEFAULTS.max_scan_age_s / 86400:g} days in the past (occurred_in_future, "
                            "occurred_too_long_ago: 422)."},
            "scan_id": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$",
                        "description": "The device's id of this scan: sending it again is a duplicate (200), "
                                       "reusing it for a different scan is a 409."},
            "reason": {"enum": list(FAILURE_REASONS)},
            "receiver_name": {"type": "string", "minLength": 1, "maxLength": 100,
                              "description": "Who took the parcel (whitespace collapsed first)."},
            "amount": {"type": "integer", "minimum": 1, "description": "Rials collected; must equal the booked "
                                                                     "goods value."},
            "method": {"enum": list(COD_METHODS)},
            "rrn": {"type": "string", "pattern": "^[0-9]{12}$", "description": "Shaparak RRN of a card payment."},
        },
        "allOf": [
            {"if": {"required": ["event"], "properties": {"event": {"const": "delivery_failed"}}},
             "then": {"required": ["reason"]}},
            {"if": {"required": ["event"], "properties": {"event": {"const": "delivered"}}},
             "then": {"required": ["receiver_name"]}},
            {"if": {"required": ["event"], "properties": {"event": {"const": "cod_collected"}}},
             "then": {"required": ["amount", "method"],
                      "if": {"required": ["method"], "properties": {"method": {"const": "card"}}},
                      "then": {"required": ["rrn"]}}},
        ],
    },
    "ScanResult": {
        "type": "object", "required": ["scan_id", "tracking_number", "event_id", "status", "duplicate"],
        "properties": {
            "scan_id": {"type": "string"}, "tracking_number": {"type": "string"},
            "event_id": {"type": "string", "description": "`evt_<tracking number>_<seq>`."},
            "status": {"enum": list(STATUSES), "description": "The parcel's status after this scan."},
            "duplicate": {"type": "boolean", "description": "true: this scan_id was recorded before, nothing "
                                                            "changed."},
            "missort": {"const": True, "description": "Present when a sorting scan was made at a hub off the "
                                                      "parcel's route: recorded, and flagged in the event too."}}},
    "ScanBatchRequest": {"type": "object", "required": ["scans"], "description": "Items are validated one by one "
                         "(an invalid item is rejected on its own) and applied oldest occurred_at first." + IGNORED,
                         "properties": {"scans": {"type": "array", "minItems": 1,
                                                  "maxItems": _DEFAULTS.max_batch_scans,
                                                  "items": {"description": "A ScanRequest; any other "
                                                            "value is rejected on its own in `results`."}}}},
    "ItemProblem": {"type": "object", "required": ["title", "status", "code", "detail"],
                    "description": "A problem (see Problem) without `type` and `instance`.",
                    "properties": {"title": {"type": "string"}, "status": {"type": "integer"},
                                   "code": {"type": "string"}, "detail": {"type": "string"},
                                   "detail_fa": {"type": "string"},
                                   "errors": {"type": "array", "items": ref("FieldError")}}},
    "ScanBatchResult": {
        "type": "object", "required": ["recorded", "duplicates", "rejected", "results"],
        "properties": {
            **{k: {"type": "integer", "minimum": 0} for k in ("recorded", "duplicates", "rejected")},
            "results": {"type": "array", "description": "One per submitted scan, in order.", "items": {"oneOf": [
                {"type": "object", "required": ["index", "scan_id", "ok", "event_id", "status", "duplicate"],
                 "properties": {"index": {"type": "integer"}, "scan_id": {"type": "string"}, "ok": {"const": True},
                                "event_id": {"type": "string"}, "status": {"enum": list(STATUSES)},
                                "duplicate": {"type": "boolean"}, "missort": {"const": True}}},
                {"type": "object", "required": ["index", "ok", "error"],
                 "properties": {"index": {"type": "integer"}, "scan_id": {"type": "string"},
                                "ok": {"const": False}, "error": ref("ItemProblem")}},
            ]}}}},
    "WebhookEndpointRequest": {
        "type": "object", "required": ["url"], "description": IGNORED.strip(),
        "properties": {
            "url": {"type": "string", "format": "uri", "maxLength": 2048,
                    "description": "Absolute http(s) URL without credentials whose host (every address it resolves "
                                   "to) is public; checked now and again on every delivery."},
            "events": {"anyOf": [{"const": ["*"]}, _EVENT_NAMES, {"type": "null"}],
                       "description": "Event types to deliver; `[\"*\"]`, null or absent means all."},
            "description": {"type": "string", "maxLength": 200},
        }},
    "WebhookEndpoint": {
        "type": "object",
        "required": ["id", "url", "events", "status", "description", "created_at", "disabled_reason"],
        "properties": {
            "id": {"type": "string", "pattern": "^ep_[0-9a-f]{16}$"}, "url": {"type": "string"},
            "events": {"anyOf": [{"const": ["*"]}, _EVENT_NAMES]},
            "status": {"enum": ["active", "paused", "disabled"],
                       "description": "disabled: the storefront answered 410 Gone; resume re-enables it."},
            "description": {"type": "string"}, "created_at": _TIMESTAMP,
            "disabled_reason": {"type": ["string", "null"]}}},
    "WebhookEndpointCreated": {
        "allOf": [ref("WebhookEndpoint")], "required": ["secret"],
        "properties": {"secret": {"type": "string", "pattern": "^whsec_[A-Za-z0-9+/=]+$",
                                  "description": "Standard Webhooks signing secret; shown this once."}}},
    "WebhookSecretRotated": {
        "allOf": [ref("WebhookEndpointCreated")], "required": ["previous_secret_expires_at"],
        "properties": {"previous_secret_expires_at": {
            **_TIMESTAMP, "description": "Until then deliveries are signed with both secrets."}}},
    "WebhookReplayRequest": {
        "type": "object", "description": "Dead letters of this endpoint that failed in [from, to] are queued "
                                         "again. A body that is not an object counts as {}." + IGNORED,
        "properties": {"from": {**_TIMESTAMP, "description": "Default: the beginning."},
                       "to": {**_TIMESTAMP, "description": "Default: now."}}},
    "EventPage": {"type": "object", "required": ["data", "next_after", "has_more"], "properties": {
        "data": {"type": "array", "items": ref("Event"), "description": "Oldest first."},
        "next_after": {"type": ["string", "null"], "description": "Pass as `after` for the next page; null "
                                                                  "when the feed is still empty."},
        "has_more": {"type": "boolean"}}},
    # Before OpenAPI 3.2's itemSchema, a text/event-stream schema describes one event (as schemathesis reads it).
    "StreamEvent": {
        "type": "object", "required": ["id", "event", "data"],
        "description": "One server-sent event (comments such as `: keep-alive` are not events).",
        "properties": {
            "id": {"type": "string", "pattern": _CURSOR_PATTERN,
                   "description": "The cursor after this event: send it back as `Last-Event-ID` (or `after`)."},
            "event": {"enum": [*RULES, *sorted(FEATURE_EVENTS)], "description": "The event's `type`."},
            "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": ref("Event"),
                     "description": "The Event, as JSON on one line."},
            "retry": {"type": "integer", "minimum": 0, "description": "Reconnection delay in milliseconds."}}},
    "TrackingView": {
        "type": "object", "description": "What anyone holding the number may see: no names, phones, addresses "
                                         "or payment details.",
        "required": ["tracking_number", "status", "status_fa", "status_at", "service", "destination",
                     "expected_delivery", "events"],
        "properties": {
            "tracking_number": {"type": "string"}, "status": {"enum": list(STATUSES)},
            "status_fa": {"type": "string"}, "status_at": _TIMESTAMP,
            "service": {"enum": [*SERVICES, None]},
            "destination": {"type": "object", "required": ["city", "province"],
                            "properties": {"city": {"type": ["string", "null"]},
                                           "province": {"type": ["string", "null"]}}},
            "expected_delivery": {"type": ["string", "null"], "description": "ISO 8601, Iran time."},
            "events": {"type": "array", "description": "Oldest first.", "items": {
                "type": "object", "required": ["type", "label_fa", "emsevt", "occurred_at", "office"],
                "properties": {
                    "type": {"enum": list(RULES)}, "label_fa": {"type": "string"},
                    "emsevt": {"type": ["string", "null"], "description": "UPU EMSEVT code, where one exists."},
                    "occurred_at": _TIMESTAMP, "office": {"oneOf": [_OFFICE_REF, {"type": "null"}]},
                    "reason": {"enum": list(FAILURE_REASONS)}, "reason_fa": {"type": "string"}}}},
        }},
}

_SCAN_EXAMPLE = {"tracking_number": "EP123456785IR", "event": "accepted", "office": "THR-06",
                 "occurred_at": "2025-03-20T10:30:00+03:30", "scan_id": "dev7-000123"}


def _body(schema: str, required: bool = True, example: dict[str, Any] | None = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": ref(schema)}
    if example is not None:
        media["example"] = example
    return {"required": required, "content": {JSON: media}}


def _endpoint_op(summary: str, op_id: str, ok: dict[str, Any]) -> dict[str, Any]:
    return {"post": {"tags": ["webhooks"], "summary": summary, "operationId": op_id, "security": _SHOP,
                     "parameters": _ENDPOINT_ID,
                     "responses": {"200": ok, **problem_responses(401, 404, 429, 503)}}}


_NOT_FOUND = "No such webhook endpoint in the calling shop."
_TRACK_LIMITED = {
    "description": f"track_rate_limited: this client address (an IPv4 address or an IPv6 /64) made more than "
                   f"{_DEFAULTS.track_limits.burst} lookups at once or more than {_DEFAULTS.track_limits.rate_per_s:g} "
                   "a second; retry after `Retry-After` seconds.",
    "headers": {"Retry-After": {"description": "Whole seconds to wait.", "required": True,
                                "schema": {"type": "string", "pattern": "^[0-9]+$"}}},
    "content": {PROBLEM_CONTENT_TYPE: {"schema": ref("Problem")}}}
_CACHE = {"Cache-Control": {"required": True, "schema": {"const": "public, max-age=15"}}}
_after = {"name": "after", "in": "query", "description": "`next_after` of an earlier answer (opaque: a feed stream "
          "id, and `.k` for the k-th event of an entry holding a run of them); absent or empty starts at the oldest "
          "event kept.",
          "schema": {"type": "string", "pattern": "^(" + _CURSOR_PATTERN.strip("^$") + ")?$"}}

PATHS: dict[str, dict[str, Any]] = {
    "/v1/scans": {"post": {
        "tags": ["tracking"], "summary": "Record one staff scan", "operationId": "createScan",
        "security": _STAFF, "requestBody": _body("ScanRequest", example=_SCAN_EXAMPLE),
        "responses": {
            "201": json_body(ref("ScanResult"), "Recorded."),
            "200": json_body(ref("ScanResult"), "This scan_id was already recorded for the same scan: nothing "
                                                "changed."),
            **_staff_errors(403, 404, 409, 413, 415, 422, 503,
                            s403="office_not_allowed: the office is not the staff member's own; "
                                 "scan_office_not_responsible: a delivery-side event (arrived_delivery_office, "
                                 "out_for_delivery, delivery_failed, delivered, cod_collected) scanned by an office "
                                 "other than the parcel's delivering office (`responsible_office` names it). "
                                 "Nothing is recorded.",
                            s404="No parcel with this tracking number.",
                            s409="scan_out_of_sequence: the scan makes no sense now (before acceptance, COD "
                                 "twice...); parcel_cancelled; parcel_terminal: the parcel is delivered or "
                                 "returned and the event cannot follow (`parcel_status` says which; only "
                                 "cod_collected follows delivered, and late uploads of events that happened before "
                                 "the final one are kept); scan_id_reused: the scan_id was used for a different "
                                 "scan.",
                            s422="Body is not JSON or fields are invalid (`errors` lists every bad field), or "
                                 "cod_amount_mismatch (`expected_amount` says the booked value)."),
        }}},
    "/v1/scans/batch": {"post": {
        "tags": ["tracking"], "summary": "Record many scans (an offline device's upload)",
        "operationId": "createScanBatch", "security": _STAFF,
        "requestBody": _body("ScanBatchRequest", example={"scans": [_SCAN_EXAMPLE]}),
        "responses": {"200": json_body(ref("ScanBatchResult"), "Per-scan outcome."),
                      **_staff_errors(413, 415, 422, 503,
                                      s422=f"Body is not JSON, or `scans` is not a list of 1-"
                                           f"{_DEFAULTS.max_batch_scans} items.")}}},
    "/v1/webhooks": {
        "post": {
            "tags": ["webhooks"], "summary": "Register a webhook endpoint", "operationId": "createWebhook",
            "security": _SHOP,
            "requestBody": _body("WebhookEndpointRequest", example={"url": "https://shop.example/hooks/barid",
                                                                    "events": ["delivered", "delivery_failed"]}),
            "responses": {
                "201": json_body(ref("WebhookEndpointCreated"), "Registered; the secret is shown this once."),
                **problem_responses(401, 409, 413, 415, 422, 429, 503),
                "409": _problem(f"The shop has {_DEFAULTS.max_endpoints_per_shop} endpoints already."),
                "422": _problem("Body is not JSON, or fields are invalid: the URL's form, a host that does not "
                                "resolve or leads to a non-public address, events or description."),
            }},
        "get": {
            "tags": ["webhooks"], "summary": "The shop's webhook endpoints, oldest first",
            "operationId": "listWebhooks", "security": _SHOP,
            "responses": {"200": json_body({"type": "object", "required": ["data"], "properties": {
                "data": {"type": "array", "items": ref("WebhookEndpoint")}}}, "Endpoints (without secrets)."),
                **problem_responses(401, 429, 503)}},
    },
    "/v1/webhooks/{endpoint_id}": {
        "get": {"tags": ["webhooks"], "summary": "A webhook endpoint", "operationId": "getWebhook",
                "security": _SHOP, "parameters": _ENDPOINT_ID,
                "responses": {"200": json_body(ref("WebhookEndpoint"), "The endpoint."),
                              **problem_responses(401, 404, 429, 503), "404": _problem(_NOT_FOUND)}},
        "delete": {"tags": ["webhooks"], "summary": "Delete a webhook endpoint", "operationId": "deleteWebhook",
                   "security": _SHOP, "parameters": _ENDPOINT_ID,
                   "responses": {"204": {"description": "Deleted; nothing more is delivered to it."},
                                 **problem_responses(401, 404, 429, 503), "404": _problem(_NOT_FOUND)}},
    },
    "/v1/webhooks/{endpoint_id}/pause": _endpoint_op(
        "Stop deliveries (they wait, and are sent on resume)", "pauseWebhook",
        json_body(ref("WebhookEndpoint"), "Paused.")),
    "/v1/webhooks/{endpoint_id}/resume": _endpoint_op(
        "Resume deliveries (also re-enables an endpoint disabled by a 410)", "resumeWebhook",
        json_body(ref("WebhookEndpoint"), "Active.")),
    "/v1/webhooks/{endpoint_id}/rotate-secret": _endpoint_op(
        "New signing secret; the old one keeps signing for a while", "rotateWebhookSecret",
        json_body(ref("WebhookSecretRotated"), "The new secret, shown this once.")),
    "/v1/webhooks/{endpoint_id}/replay": {"post": {
        "tags": ["webhooks"], "summary": "Send dead-lettered deliveries again", "operationId": "replayWebhook",
        "security": _SHOP, "parameters": _ENDPOINT_ID,
        "requestBody": _body("WebhookReplayRequest", required=False,
                             example={"from": "2025-03-20T00:00:00Z", "to": "2025-03-21T00:00:00Z"}),
        "responses": {"202": json_body({"type": "object", "required": ["replayed"], "properties": {
            "replayed": {"type": "integer", "minimum": 0}}}, "Number of deliveries queued again."),
            **problem_responses(401, 404, 413, 415, 422, 429, 503), "404": _problem(_NOT_FOUND)}}},
    "/v1/events": {"get": {
        "tags": ["events"], "summary": "Poll the shop's event feed, oldest first", "operationId": "listEvents",
        "security": _SHOP,
        "parameters": [_after, {"name": "limit", "in": "query",
                                "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}],
        "responses": {"200": json_body(ref("EventPage"), "A page of events."),
                      **problem_responses(401, 422, 429, 503)}}},
    "/v1/events/stream": {"get": {
        "tags": ["events"], "summary": "The shop's event feed as server-sent events",
        "description": "Without a cursor the stream starts with what happens from now on. Each event is "
                       "`id: <cursor>`, `event: <type>`, `data: <Event JSON>`; a `: keep-alive` comment is sent "
                       f"every {_DEFAULTS.sse_heartbeat_s:g} s of silence. Reconnect with `Last-Event-ID` (or "
                       "`after`) to resume exactly where the stream stopped.",
        "operationId": "streamEvents", "security": _SHOP,
        "parameters": [{"name": "Last-Event-ID", "in": "header", "description": "Takes precedence over `after`.",
                        "schema": _after["schema"]}, _after],
        "responses": {"200": {"description": "An endless event stream.",
                              "content": {"text/event-stream": {"schema": ref("StreamEvent")}}},
                      **problem_responses(401, 422, 429, 503)}}},
    "/v1/track/{tracking_number}": {"get": {
        "tags": ["tracking"], "summary": "Public tracking of a parcel (for buyers)", "operationId": "trackParcel",
        "security": _PUBLIC, "parameters": _TN,
        "responses": {
            "200": json_body(ref("TrackingView"), "Status and history.", {
                **_CACHE, "Access-Control-Allow-Origin": {"required": True, "schema": {"const": "*"}}}),
            **problem_responses(404, 503), "404": _problem("No parcel with this tracking number."),
            "429": _TRACK_LIMITED}}},
    "/track/{tracking_number}": {"get": {
        "tags": ["tracking"], "summary": "The Persian tracking page (for buyers)", "operationId": "trackingPage",
        "security": _PUBLIC, "parameters": _TN,
        "responses": {
            **{status: {"description": text, "headers": {**_CACHE, "Content-Security-Policy": {
                "required": True, "schema": {"type": "string"}}},
                "content": {"text/html": {"schema": {"type": "string"}}}}
               for status, text in (("200", "Self-contained right-to-left HTML page."),
                                    ("404", "Page saying no such parcel exists."))},
            **problem_responses(503), "429": _TRACK_LIMITED}}},
}


def fragment(_limits: object = None) -> dict[str, Any]:
    """The tracking operations and the components they name, for the gateway's document (gateway.openapi)."""
    return {"paths": PATHS, "components": {"schemas": SCHEMAS, "securitySchemes": SECURITY_SCHEMES}}
