"""OpenAPI description of the proof-of-delivery routes (``pod.web``), contributed to the gateway's document.

Listed in ``gateway.openapi.FRAGMENTS``. Methods, relations and limits come from the policy data that the code
applies.
"""

from __future__ import annotations

from typing import Any

from kernel.openapi import JSON, json_body, problem_responses, ref

from .policy import METHODS, POLICY

_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_TN = {"$ref": "#/components/parameters/TrackingNumber"}
_STAFF = [{"staffBearer": []}]
_SHOP = [{"bearerAuth": []}]
_LINK = {"type": ["string", "null"], "description": f"A signed link, valid {POLICY.link_ttl_s} s "
                                                    "(`links_expire_at`); read the proof again for a fresh one."}

SCHEMAS = {
    "ProofOfDelivery": {
        "type": "object",
        "required": ["tracking_number", "status", "delivered_at", "delivered_by", "received_by", "verification",
                     "location", "photo_url", "signature_url", "links_expire_at", "scan_id", "unlocks"],
        "properties": {
            "tracking_number": _STR, "status": _STR, "delivered_at": {"type": "string", "format": "date-time"},
            "delivered_by": {"type": "object", "required": ["office", "staff_id", "staff_name"], "properties": {
                "office": _STR, "staff_id": {"type": "integer"}, "staff_name": _STR}},
            "received_by": {"type": "object", "required": ["name", "relation"], "properties": {
                "name": _STR, "relation": {"enum": [*POLICY.relation_names, None]}, "relation_fa": _NSTR}},
            "verification": {"enum": list(METHODS), "description": "How the hand-over was verified."},
            "verification_fa": _STR,
            "location": {"type": ["object", "null"], "properties": {"lat": {"type": "number"},
                                                                   "lon": {"type": "number"}}},
            "photo_url": _LINK, "signature_url": _LINK,
            "links_expire_at": {"type": "string", "format": "date-time"}, "scan_id": _STR,
            "unlocks": {"type": "array", "items": {"type": "object"},
                        "description": "Supervisors' unlocks after wrong codes, oldest first."},
        }},
    "PodPolicy": {
        "type": "object", "required": ["delivery_verification"],
        "properties": {
            "delivery_verification": {"enum": [*METHODS, None], "description": "The shop's verification for "
                                      "bookings that name none; null: the default (a code for COD parcels above "
                                      "`default.cod_otp_above_rial`)."},
            "default": {"type": "object"}, "max_wrong_codes": {"type": "integer"},
            "relations": {"type": "array", "items": _STR}}},
    "PodUnlock": {
        "type": "object", "required": ["tracking_number", "unlocked", "wrong_codes_forgiven", "event_id"],
        "properties": {"tracking_number": _STR, "unlocked": {"const": True},
                       "wrong_codes_forgiven": {"type": "integer"}, "event_id": _STR, "office": _STR,
                       "staff_id": {"type": "integer"}}},
}

PATHS = {
    "/v1/shipments/{tracking_number}/pod": {"get": {
        "tags": ["pod"], "summary": "Proof of delivery of a delivered parcel", "operationId": "getProofOfDelivery",
        "security": _SHOP, "parameters": [_TN],
        "description": "When, by whom, to whom and how the hand-over was verified, with signed links to the photo "
                       "and signature images. 404 for a parcel of another shop, or one not delivered.",
        "responses": {"200": json_body(ref("ProofOfDelivery"), "The proof of delivery."),
                      **problem_responses(401, 404, 429, 503)}}},
    "/v1/pod/files/{key}": {"get": {
        "tags": ["pod"], "summary": "A proof-of-delivery image, by its signed link", "operationId": "getPodImage",
        "security": [],
        "parameters": [{"name": "key", "in": "path", "required": True, "schema": _STR},
                       {"name": "expires", "in": "query", "required": True, "schema": _STR},
                       {"name": "signature", "in": "query", "required": True, "schema": _STR}],
        "responses": {"200": {"description": "The image.", "content": {
            t: {"schema": {"type": "string", "format": "binary"}} for t in ("image/jpeg", "image/png", "image/webp")}},
            **problem_responses(403, 404)}}},
    "/v1/pod/{tracking_number}/unlock": {"post": {
        "tags": ["pod"], "summary": "Unlock a delivery locked by wrong codes", "operationId": "unlockDelivery",
        "security": _STAFF, "parameters": [_TN],
        "description": f"After {POLICY.max_wrong_codes} wrong delivery codes a parcel is locked (409 "
                       "`delivery_locked`). A supervisor of its delivering office unlocks it: the wrong codes are "
                       "forgiven, the buyer's code stays, and a `delivery_unlocked` event tells the shop.",
        "responses": {"200": json_body(ref("PodUnlock"), "Unlocked."),
                      **problem_responses(401, 403, 404, 409, 503)}}},
    "/v1/pod/policy": {
        "get": {"tags": ["pod"], "summary": "The shop's delivery verification setting", "operationId": "getPodPolicy",
                "security": _SHOP,
                "responses": {"200": json_body(ref("PodPolicy"), "The setting."),
                              **problem_responses(401, 429, 503)}},
        "put": {"tags": ["pod"], "summary": "Set the shop's delivery verification", "operationId": "putPodPolicy",
                "security": _SHOP,
                "requestBody": {"required": True, "content": {JSON: {"schema": {
                    "type": "object", "required": ["delivery_verification"],
                    "properties": {"delivery_verification": {"enum": [*METHODS, None]}}}}}},
                "responses": {"200": json_body(ref("PodPolicy"), "The new setting."),
                              **problem_responses(401, 415, 422, 429, 503)}}},
}



def fragment(_limits: object = None) -> dict[str, Any]:
    """The proof-of-delivery routes and schemas (gateway.openapi merges every feature's)."""
    return {"paths": PATHS, "components": {"schemas": SCHEMAS}}
