"""Shared pieces of the OpenAPI fragments every feature writes (its ``api_spec.fragment``): ``ref``,
``json_body``, the problem responses, and the components every fragment names (Problem, FieldError, the
TrackingNumber parameter). The gateway assembles the document (``gateway/openapi.py``).
"""

from __future__ import annotations

from typing import Any

from kernel.errors import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE

JSON = "application/json"
IGNORED = " Unknown fields are ignored, so richer objects may be sent; every field listed here is checked."


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    resp: dict[str, Any] = {"description": description, "content": {JSON: {"schema": schema}}}
    if headers:
        resp["headers"] = headers
    return resp


PROBLEMS = {  # status -> (component name, what it means here)
    401: ("Unauthorized", "Missing, malformed or revoked API key, or the shop is disabled."),
    403: ("Forbidden", "Authenticated, but not allowed to do this."),
    404: ("NotFound", "No such resource in the calling shop."),
    409: ("Conflict", "Idempotency-Key reused with a different request (`idempotency_key_reused`), the order "
                      "already has a live shipment (`client_order_id_exists`, naming it in `tracking_number`), or "
                      "the state forbids the change."),
    413: ("PayloadTooLarge", "Request body over the size limit."),
    415: ("UnsupportedMediaType", "Content-Type is not JSON (application/json or any +json type)."),
    422: ("ValidationFailed", "Body is not JSON, or fields are invalid; `errors` lists every bad field. A batch "
                              "larger than the shop's whole rate-limit burst is `batch_exceeds_burst` (with "
                              "`burst`): split it, waiting would not help."),
    429: ("RateLimited", "The shop's rate limit is exhausted; retry after `Retry-After` seconds."),
    500: ("InternalError", "Unexpected failure; the request was not applied."),
    503: ("StoreUnavailable", "The store did not answer; nothing was applied. Safe to retry."),
}
_RETRY_AFTER = {"description": "Whole seconds to wait.", "schema": {"type": "string", "pattern": "^[0-9]+$"}}
_PROBLEM_HEADERS = {
    401: {"WWW-Authenticate": {"description": "Sent when no bearer key was given.", "schema": {"type": "string"}}},
    429: {"Retry-After": {**_RETRY_AFTER, "required": True}},
    503: {"Retry-After": _RETRY_AFTER},  # /readyz answers without it
}


def problem_responses(*statuses: int) -> dict[str, Any]:
    """``responses`` entries for these error statuses; 500 is always included (the error middleware's catch-all).

    Routes that touch the store should list 503: the middleware answers it when the store does not respond."""
    return {str(s): {"$ref": f"#/components/responses/{PROBLEMS[s][0]}"} for s in sorted({*statuses, 500})}


def shared_components() -> dict[str, Any]:
    """The components every fragment may name by ``$ref``: the problem body and its per-status responses."""
    return {
        "schemas": {
            "Problem": {
                "type": "object", "description": "RFC 9457 problem details, with a Persian `detail_fa` beside it.",
                "required": ["type", "title", "status", "code", "detail"],
                "properties": {
                    "type": {"type": "string", "description": f"{PROBLEM_TYPE_BASE}<code>"},
                    "title": {"type": "string"}, "status": {"type": "integer", "minimum": 400, "maximum": 599},
                    "code": {"type": "string", "description": "Stable machine-readable error code."},
                    "detail": {"type": "string"}, "detail_fa": {"type": "string"},
                    "instance": {"type": "string", "description": "The request path."},
                    "errors": {"type": "array", "items": ref("FieldError")},
                },
            },
            "FieldError": {"type": "object", "required": ["field", "code", "message", "message_fa"], "properties": {
                "field": {"type": "string", "description": "Dotted path, e.g. `receiver.phone`; '' is the body."},
                "code": {"type": "string"}, "message": {"type": "string"}, "message_fa": {"type": "string"}}},
        },
        "parameters": {
            "TrackingNumber": {"name": "tracking_number", "in": "path", "required": True,
                               "description": "UPU S10 number, any case; unknown or malformed numbers are 404.",
                               "schema": {"type": "string"}, "example": "EP123456785IR"},
        },
        "responses": {
            name: {"description": desc, "content": {PROBLEM_CONTENT_TYPE: {"schema": ref("Problem")}},
                   **({"headers": _PROBLEM_HEADERS[s]} if s in _PROBLEM_HEADERS else {})}
            for s, (name, desc) in PROBLEMS.items()
        },
    }
