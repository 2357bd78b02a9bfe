"""The staff app's OpenAPI fragment (``staffapp.web``'s routes), assembled by ``gateway/openapi.py``."""

from __future__ import annotations

from typing import Any

from kernel.openapi import json_body, problem_responses, ref

_SESSION = [{"staffSession": []}]
_STAFF = [{"staffBearer": []}, {"staffSession": []}]  # staffBearer is contributed by tracking.api_spec
_CODE = {"name": "code", "in": "path", "required": True, "description": "Post-office code of the registry.",
         "schema": {"type": "string"}, "example": "IFN-01"}

SCHEMAS: dict[str, Any] = {
    "StaffSignIn": {"type": "object", "required": ["staff_id", "code"], "properties": {
        "staff_id": {"type": "integer", "minimum": 1}, "code": {"type": "string", "pattern": "^[0-9]{8}$"}}},
    "StaffMe": {"type": "object", "required": ["staff_id", "name", "office", "csrf_token"], "properties": {
        "staff_id": {"type": "integer"}, "name": {"type": "string"}, "office": {"type": "string"},
        "office_name_fa": {"type": "string"},
        "role": {"enum": ["staff", "supervisor"], "description": "A supervisor issues codes and revokes devices."},
        "csrf_token": {"type": "string", "description": "Send it as X-CSRF-Token on every state-changing call."},
        "failure_reasons": {"type": "object", "additionalProperties": {"type": "string"},
                            "description": "Failed-delivery reason code -> its Persian text."}}},
    "StaffSignInCode": {"type": "object", "required": ["staff_id", "office", "code", "expires_at"], "properties": {
        "staff_id": {"type": "integer"}, "office": {"type": "string"},
        "code": {"type": "string", "description": "Eight digits, shown once; single use."},
        "expires_at": {"type": "string", "format": "date-time"}}},
    "StaffSession": {"type": "object", "required": ["session_id", "staff_id", "created_at"], "properties": {
        "session_id": {"type": "string"}, "staff_id": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"}, "device": {"type": "string"}}},
}

SECURITY_SCHEMES = {"staffSession": {
    "type": "apiKey", "in": "cookie", "name": "barid_staff",
    "description": "The staff app's device session (HttpOnly cookie from POST /staff/api/sign-in). Accepted by "
                   "every staff route in place of a bearer token; a state-changing call must also send the "
                   "session's X-CSRF-Token header."}}


def _page(summary: str, *ctypes: str) -> dict[str, Any]:
    return {"get": {"tags": ["staff app"], "summary": summary, "security": [], "responses": {
        "200": {"description": summary, "content": {c: {"schema": {}} for c in ctypes}},
        **problem_responses(404)}}}


def fragment(_limits: Any) -> dict[str, Any]:
    staff_id = {"name": "staff_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    session_id = {"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}}
    static = _page("The app's script, style, icon, service worker or web app manifest.", "text/javascript",
                   "text/css", "image/svg+xml", "application/manifest+json")
    static["get"]["parameters"] = [{"name": "name", "in": "path", "required": True, "schema": {
        "enum": ["lib.js", "day.js", "super.js", "app.js", "app.css", "sw.js", "icon.svg", "manifest.webmanifest"]}}]
    decoder = _page("The bundled barcode reader (fetched only by browsers without BarcodeDetector).",
                    "text/javascript", "application/wasm")
    decoder["get"]["parameters"] = [{"name": "name", "in": "path", "required": True, "schema": {
        "enum": ["decoder.js", "zxing-reader.js", "zxing_reader.wasm"]}}]
    return {"paths": {
        "/staff": _page("The staff app (Persian, one page; works offline once loaded).", "text/html"),
        "/staff/{name}": static,
        "/staff/decoder/{name}": decoder,
        "/staff/api/sign-in": {"post": {
            "tags": ["staff app"], "summary": "Sign in with a one-time code; sets the session cookie",
            "security": [], "requestBody": {"required": True, "content": {"application/json": {
                "schema": ref("StaffSignIn")}}},
            "responses": {"201": json_body(ref("StaffMe"), "Signed in; Set-Cookie holds the session."),
                          **problem_responses(401, 415, 422, 429, 503)}}},
        "/staff/api/me": {"get": {
            "tags": ["staff app"], "summary": "Who this session is, and its CSRF token", "security": _SESSION,
            "responses": {"200": json_body(ref("StaffMe"), "The session's staff member."),
                          **problem_responses(401, 503)}}},
        "/staff/api/sign-out": {"post": {
            "tags": ["staff app"], "summary": "End this device's session", "security": _SESSION,
            "responses": {"204": {"description": "Signed out."}, **problem_responses(401, 403, 503)}}},
        "/v1/offices/{code}/staff/{staff_id}/sign-in-codes": {"post": {
            "tags": ["staff app"], "summary": "A supervisor issues a one-time sign-in code to a staff member",
            "security": _STAFF, "parameters": [_CODE, staff_id],
            "responses": {"201": json_body(ref("StaffSignInCode"), "The code, shown this once."),
                          **problem_responses(401, 403, 404, 422, 503)}}},
        "/v1/offices/{code}/staff-sessions": {"get": {
            "tags": ["staff app"], "summary": "A supervisor lists the office's device sessions", "security": _STAFF,
            "parameters": [_CODE],
            "responses": {"200": json_body({"type": "object", "required": ["data"], "properties": {
                "data": {"type": "array", "items": ref("StaffSession")}}}, "Live sessions."),
                **problem_responses(401, 403, 404, 503)}}},
        "/v1/offices/{code}/staff-sessions/{session_id}": {"delete": {
            "tags": ["staff app"], "summary": "A supervisor revokes a device session at once", "security": _STAFF,
            "parameters": [_CODE, session_id],
            "responses": {"204": {"description": "Revoked."}, **problem_responses(401, 403, 404, 503)}}},
    }, "components": {"schemas": SCHEMAS, "securitySchemes": SECURITY_SCHEMES}}
