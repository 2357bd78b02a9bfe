"""OpenAPI description of the return routes (``returns.buyer_web``) and the return links on a shipment.

Reasons, kinds and the window come from the code and data that apply them.
"""

from __future__ import annotations

from typing import Any

from kernel.openapi import problem_responses

from .buyer import REASONS, load_policy
from .legs import KINDS

_POLICY = load_policy()
_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_IDEM = {"$ref": "#/components/parameters/IdempotencyKey"}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS = {
    "ReturnRequest": {
        "type": "object", "required": ["tracking_number", "reason"],
        "properties": {
            "tracking_number": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{9}[A-Z]{2}$",
                                "description": "The shop's delivered parcel the buyer returns."},
            "reason": {"enum": list(REASONS), "description": "; ".join(f"`{k}`: {v}" for k, v in REASONS.items())},
        }},
    "ReturnFee": {"type": "object", "required": ["fee", "vat", "total", "currency"], "properties": {
        "fee": {"type": "integer"}, "vat": {"type": "integer"}, "total": {"type": "integer"},
        "currency": {"const": "IRR"}}},
    "ReturnParcel": {
        "type": "object", "description": (
            "A parcel on its way back to its shop, with its own tracking number: a shipment (as `GET "
            "/v1/shipments/{tracking_number}` shows it: status, history, label) from the buyer to the address the "
            "original was sent from, prepaid, priced at zero; the return fee is `return_fee`."),
        "required": ["tracking_number", "kind", "return_of", "status", "sender", "receiver", "delivering_office",
                     "route", "expected_delivery", "return_fee"],
        "properties": {
            "tracking_number": _STR, "kind": {"enum": list(KINDS)},
            "return_of": {"type": "string", "description": "The original parcel (whose `return_leg` names this one)."},
            "return_reason": {"enum": list(REASONS), "description": "buyer_return only."},
            "status": _STR, "sender": {"type": "object"}, "receiver": {"type": "object"},
            "origin_office": _STR, "delivering_office": _STR, "route": {"type": "array", "items": _STR},
            "expected_delivery": {"type": "string", "format": "date"},
            "payment": {"type": "object", "description": "Always prepaid: COD is never collected on a return."},
            "return_fee": ref("ReturnFee"),
            "label_url": {"type": "string", "description": "In the 201 answer: where its label is printed."},
        }},
    "ReturnPage": {"type": "object", "required": ["data", "next_after", "has_more"], "properties": {
        "data": {"type": "array", "items": ref("ReturnParcel")}, "next_after": _NSTR,
        "has_more": {"type": "boolean"}}},
}

PATHS = {
    "/v1/returns": {
        "post": {
            "tags": ["returns"], "summary": "A buyer returns a delivered parcel",
            "description": (
                f"For the shop's own parcel delivered at most {_POLICY.window_days} days ago, once. 201: the return "
                "parcel (`booked`, `pre_transit`) with its label at `label_url`; the original gets a "
                "`return_requested` event. The return fee is charged when the post accepts the parcel (its first "
                "`accepted` scan), never at creation. 404 `shipment_not_found` (not the shop's), 409 "
                "`return_not_delivered`, `return_window_closed`, `return_exists`, `return_of_return`."),
            "operationId": "createReturn", "parameters": [_IDEM],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("ReturnRequest")}}},
            "responses": {"201": {"description": "The return parcel.",
                                  "content": {"application/json": {"schema": ref("ReturnParcel")}}},
                          **problem_responses(401, 404, 409, 415, 422, 429, 503)}},
        "get": {
            "tags": ["returns"], "summary": "The shop's return parcels (returns to sender and buyers' returns)",
            "operationId": "listReturns",
            "parameters": [
                {"name": "kind", "in": "query", "schema": {"enum": list(KINDS)}},
                {"name": "after", "in": "query", "description": "`next_after` of the previous page.",
                 "schema": {"type": "string", "pattern": "^[0-9]{13}:[A-Z]{2}[0-9]{9}[A-Z]{2}$"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                            "maximum": _POLICY.list_max, "default": 50}},
            ],
            "responses": {"200": {"description": "A page of return parcels, newest first.",
                                  "content": {"application/json": {"schema": ref("ReturnPage")}}},
                          **problem_responses(401, 422, 429, 503)}},
    },
    "/v1/offices/{code}/return-labels/{tracking_number}": {"get": {
        "tags": ["returns"], "summary": "The office prints a return leg's label",
        "description": (
            "A parcel its case returns is in the office's hands: staff of the office the leg starts from (its "
            "`origin_office`) print the leg's label and stick it over the original's. 403 `office_not_allowed` "
            "(another office's path), 403 `return_label_not_here` (the leg starts elsewhere), 404 "
            "`return_leg_not_found` (not a return to sender's leg)."),
        "operationId": "getReturnLegLabel", "security": [{"staffBearer": []}],
        "parameters": [
            {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}, "example": "IFN-01"},
            {"$ref": "#/components/parameters/TrackingNumber"},
            {"name": "format", "in": "query", "schema": {"enum": ["pdf", "png", "zpl"], "default": "pdf"}},
        ],
        "responses": {"200": {"description": "The label, 100 x 150 mm.", "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "application/zpl": {"schema": {"type": "string"}}}},
            **problem_responses(401, 403, 404, 422, 503)}}},
}


def fragment() -> dict[str, Any]:
    return {"paths": PATHS, "components": {"schemas": SCHEMAS}}
