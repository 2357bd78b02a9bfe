"""OpenAPI description of the panel's JSON routes (``panel.web``): the shop's panel users and its API key rotation,
and the panel session as a second way to call every shop route."""

from __future__ import annotations

from typing import Any

from kernel.openapi import json_body, problem_responses, ref

from .accounts import PASSWORD_MAX, PASSWORD_MIN, ROLES
from .sheets import XLSX

_USER = {"type": "object", "required": ["mobile", "role", "created_at"], "properties": {
    "mobile": {"type": "string", "pattern": "^09[0-9]{9}$"}, "role": {"enum": list(ROLES)},
    "created_at": {"type": "string", "format": "date-time"}, "invited_by": {"type": ["string", "null"]},
    "shop_id": {"type": "integer"},
    "one_time_password": {"type": "string", "minLength": PASSWORD_MIN, "maxLength": PASSWORD_MAX,
                          "description": "Only in the answer to an invitation: hand it to the user."}}}
_SECURITY = [{"bearerAuth": []}, {"panelSession": []}]
_MANAGER = ("The shop's API key, or a panel session of the owner role (a staff-role user gets 403 "
            "`shop_manager_only`); with a session, a change needs `X-CSRF-Token`.")

PATHS = {
    "/v1/shop/users": {
        "get": {"tags": ["panel"], "summary": "The shop's panel users", "description": _MANAGER,
                "operationId": "listShopUsers", "security": _SECURITY,
                "responses": {"200": json_body({"type": "object", "required": ["data"], "properties": {
                    "data": {"type": "array", "items": ref("ShopUser")}}}, "The users."),
                    **problem_responses(401, 403, 429, 503)}},
        "post": {"tags": ["panel"], "summary": "Invite a panel user (answers a one-time password, once)",
                 "description": _MANAGER, "operationId": "inviteShopUser", "security": _SECURITY,
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "required": ["mobile", "role"], "properties": {
                         "mobile": {"type": "string", "pattern": "^09[0-9]{9}$"},
                         "role": {"enum": list(ROLES)}}}}}},
                 "responses": {"201": json_body(ref("ShopUser"), "Invited."),
                               **problem_responses(401, 403, 409, 422, 429, 503)}},
    },
    "/v1/shop/users/{mobile}": {"delete": {
        "tags": ["panel"], "summary": "Remove a panel user; their sessions end at once", "description": _MANAGER,
        "operationId": "removeShopUser", "security": _SECURITY,
        "parameters": [{"name": "mobile", "in": "path", "required": True, "schema": {"type": "string",
                                                                                   "maxLength": 32}}],
        "responses": {"204": {"description": "Removed."}, **problem_responses(401, 403, 404, 429, 503)}}},
    "/v1/shop/api-key/rotate": {"post": {
        "tags": ["panel"], "summary": "Issue a new API key (answered once); the old one works for the overlap",
        "description": _MANAGER + " The overlap is BARID_KEY_ROTATION_OVERLAP_S.",
        "operationId": "rotateShopApiKey", "security": _SECURITY,
        "responses": {"200": json_body({"type": "object", "required": ["shop_id", "api_key"], "properties": {
            "shop_id": {"type": "integer"}, "api_key": {"type": "string"},
            "previous_key_valid_until": {"type": "string", "format": "date-time"}}}, "The new key."),
            **problem_responses(401, 403, 429, 503)}}},
}


_HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}
_SEE_OTHER = {"description": "Not signed in (or signed in/out): go to the Location.",
              "headers": {"Location": {"required": True, "schema": {"type": "string"}}}}


def _page(summary: str) -> dict[str, Any]:
    return {"get": {"tags": ["panel pages"], "summary": summary, "security": [], "responses": {
        "200": {"description": "Right-to-left Persian page (its data comes from the shop API).", **_HTML},
        "303": _SEE_OTHER, **problem_responses(503)}}}


def _pages() -> dict[str, Any]:
    from .web import PAGES  # the pages the panel serves (web imports this module's neighbours, not this one)

    paths = {f"/shop/{name}": _page(title) for name, (_, title, _) in PAGES.items()}
    paths["/shop/parcels/{tracking_number}"] = _page("A parcel: its facts, history, labels")
    paths["/shop/parcels/{tracking_number}"]["get"]["parameters"] = [
        {"name": "tracking_number", "in": "path", "required": True, "schema": {"type": "string"}}]
    paths["/shop"] = {"get": {"tags": ["panel pages"], "summary": "The panel's home (its parcels)", "security": [],
                              "responses": {"303": _SEE_OTHER}}}
    paths["/shop/login"] = {
        "get": {"tags": ["panel pages"], "summary": "Sign-in form", "security": [],
                "responses": {"200": {"description": "The form.", **_HTML}}},
        "post": {"tags": ["panel pages"], "summary": "Sign in by mobile and password", "security": [],
                 "description": "A form post (mobile, password, csrf: the form's token, double-submitted in a cookie). "
                                "Attempts are rate-limited per mobile and per address; a wrong mobile and a wrong "
                                "password get the same answer.",
                 "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                     "type": "object", "properties": {"mobile": {"type": "string"}, "password": {"type": "string"},
                                                      "csrf": {"type": "string"}}}}}},
                 "responses": {"303": _SEE_OTHER, **{s: {"description": d, **_HTML} for s, d in (
                     ("401", "Wrong mobile or password: the form again."), ("403", "Stale form: the form again."),
                     ("429", "Too many attempts: the form again, with Retry-After."))},
                     **problem_responses(415, 503)}}}
    paths["/shop/logout"] = {"post": {"tags": ["panel pages"], "summary": "Sign out (ends the session)",
                                      "security": [], "responses": {"303": _SEE_OTHER, **problem_responses(401, 403, 415)}}}
    paths["/shop/static/{name}"] = {"get": {
        "tags": ["panel pages"], "summary": "The panel's script and style sheet", "security": [],
        "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 40}}],
        "responses": {"200": {"description": "The file.", "content": {"text/javascript": {"schema": {"type": "string"}},
                                                                     "text/css": {"schema": {"type": "string"}}}},
                      **problem_responses(404)}}}
    for ext, ctype in (("xlsx", XLSX), ("csv", "text/csv")):
        paths[f"/shop/sheets/template.{ext}"] = {"get": {
            "tags": ["panel pages"], "summary": f"The bulk booking template ({ext})", "security": [],
            "responses": {"200": {"description": "The template.", "content": {ctype: {"schema": {"type": "string"}}}}}}}
    paths["/shop/sheets/parse"] = {"post": {
        "tags": ["panel"], "summary": "Read an .xlsx or CSV sheet into shipment requests (books nothing)",
        "security": _SECURITY, "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "contentMediaType": "application/octet-stream"}}}}}},
        "responses": {"200": json_body({"type": "object", "required": ["rows", "batch_max"], "properties": {
            "rows": {"type": "array", "items": {"type": "object"}}, "batch_max": {"type": "integer"}}},
            "Each row as a POST /v1/shipments/batch item, with its sheet row number."),
            **problem_responses(401, 403, 413, 415, 422, 429, 503)}}}
    paths["/shop/sheets/failed"] = {"post": {
        "tags": ["panel"], "summary": "The failed rows, with their errors, as an .xlsx sheet to fix and upload again",
        "security": _SECURITY, "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["rows"], "properties": {"rows": {"type": "array", "items": {
                "type": "object"}}}}}}},
        "responses": {"200": {"description": "The sheet.", "content": {XLSX: {"schema": {"type": "string"}}}},
                      **problem_responses(401, 403, 422, 429, 503)}}}
    return paths


def fragment(_limits: Any) -> dict[str, Any]:
    return {"paths": {**PATHS, **_pages()}, "components": {
        "schemas": {"ShopUser": _USER},
        "securitySchemes": {"panelSession": {
            "type": "apiKey", "in": "cookie", "name": "barid_panel",
            "description": "A shop panel session (sign in at /shop/login). Every shop route accepts it instead of "
                           "the bearer key, for the user's shop, with the same rate limits; POST, PUT, PATCH and "
                           "DELETE also need the header `X-CSRF-Token` (the page's csrf-token meta)."}},
    }}
