"""The staff app: its page and files under /staff, its sign-in, and the supervisors' code and session routes.

    GET  /staff                                            the app (one page; a service worker keeps it offline)
    POST /staff/api/sign-in        {staff_id, code}        a device session (HttpOnly cookie) + its CSRF token
    GET  /staff/api/me                                     who is signed in, the CSRF token, the reason list
    POST /staff/api/sign-out                               ends this device's session
    POST   /v1/offices/{code}/staff/{staff_id}/sign-in-codes   a supervisor issues a one-time code
    GET    /v1/offices/{code}/staff-sessions                   a supervisor lists the office's device sessions
    DELETE /v1/offices/{code}/staff-sessions/{session_id}      a supervisor revokes one

Scans, plans and manifests go to the same API handhelds use; ``setup`` makes tracking's staff authentication
accept this app's session (``STAFF_SESSION_AUTH``) as well as a bearer token.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from kernel.app_keys import BATCHER, CONFIG, REDIS
from kernel.errors import FieldError, ValidationFailed
from kernel.http import client_address, json_response, read_json
from kernel.postal.offices import load_registry
from kernel.settings import Config
from tracking.events import FAILURE_REASONS
from tracking.staff import STAFF_AUTH, STAFF_SESSION_AUTH, Staff

from . import sessions
from .sessions import COOKIE

STATIC = Path(__file__).parent / "static"
FILES = {  # name -> content type; read once at setup, served from memory
    "lib.js": "text/javascript", "day.js": "text/javascript", "super.js": "text/javascript",
    "app.js": "text/javascript", "app.css": "text/css",
    "sw.js": "text/javascript", "icon.svg": "image/svg+xml",
    "manifest.webmanifest": "application/manifest+json",
}
# The barcode reader for browsers without BarcodeDetector: fetched only by those, on their first camera use, so it
# is no part of the page's load (its size is stated apart from the app's, in docs/staff-app.md).
DECODER = STATIC / "decoder"
DECODER_FILES = {"decoder.js": "text/javascript", "zxing-reader.js": "text/javascript",
                 "zxing_reader.wasm": "application/wasm"}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STYLE_LINK = b'<link rel="stylesheet" href="/staff/app.css">'
# Everything from this origin only (the inlined style by its hash); the camera's frames stay in the page. The
# bundled barcode reader is WebAssembly, which a CSP allows by 'wasm-unsafe-eval' (no JavaScript eval).
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' '{style}'; "
       "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
_FILES = web.AppKey("staffapp_files", dict)
_CSP = web.AppKey("staffapp_csp", str)
_DECODER = web.AppKey("staffapp_decoder", dict)


async def _session(request: web.Request) -> sessions.Session:
    config: Config = request.app[CONFIG]
    return await sessions.session_of(request.app[BATCHER], request.cookies.get(COOKIE, ""),
                                     config.staff_session_ttl_s)


async def session_staff(request: web.Request) -> Staff | None:
    """tracking's second way in: the staff member of this request's session cookie (None without one); a
    state-changing call must carry the session's X-CSRF-Token."""
    if COOKIE not in request.cookies:
        return None
    session = await _session(request)
    if request.method not in SAFE_METHODS:
        sessions.check_csrf(session, request.headers.get("X-CSRF-Token"))
    return session.staff


def _me(staff: Staff, csrf: str) -> dict:
    office = load_registry().offices.get(staff.office)
    return {"staff_id": staff.id, "name": staff.name, "office": staff.office, "role": staff.role,
            "office_name_fa": office.name_fa if office else staff.office, "csrf_token": csrf,
            "failure_reasons": {k: fa for k, (_, fa) in FAILURE_REASONS.items()}}


# -- the page and its files ----------------------------------------------------------------------------------
async def page(request: web.Request) -> web.Response:
    body, _ = request.app[_FILES]["index.html"]
    resp = web.Response(body=body, content_type="text/html", charset="utf-8", headers={
        "Content-Security-Policy": request.app[_CSP], "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer"})
    resp.enable_compression()  # the page carries its script and style: a quarter of the bytes on a slow network
    return resp


async def static_file(request: web.Request) -> web.Response:
    found = request.app[_FILES].get(request.match_info["name"])
    if found is None:
        raise web.HTTPNotFound()
    body, ctype = found
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if request.match_info["name"] == "sw.js":
        headers["Service-Worker-Allowed"] = "/staff"  # its scope covers /staff itself, not only /staff/...
    resp = web.Response(body=body, content_type=ctype, headers=headers)
    resp.enable_compression()
    return resp


async def decoder_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in DECODER_FILES:
        raise web.HTTPNotFound()
    raw, packed = request.app[_DECODER][name]
    # the reader's files change only with a release of the app: a day's cache spares a phone the download
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("Accept-Encoding", ""):  # packed once at start, not on every request
        headers["Content-Encoding"] = "gzip"
        return web.Response(body=packed, content_type=DECODER_FILES[name], headers=headers)
    return web.Response(body=raw, content_type=DECODER_FILES[name], headers=headers)


# -- sign-in -----------------------------------------------------------------------------------------------
async def sign_in(request: web.Request) -> web.Response:
    body, _ = await read_json(request)
    if not isinstance(body, dict):
        raise ValidationFailed(errors=[FieldError("body", "object_expected", "must be a JSON object",
                                                  "باید یک شیء JSON باشد")])
    config: Config = request.app[CONFIG]
    secret, session = await sessions.sign_in(
        request.app[REDIS], request.app[BATCHER], body.get("staff_id"), body.get("code"),
        client_address(request, config.trusted_proxies),  # behind a proxy, the client's address, not the proxy's
        failures_allowed=config.staff_sign_in_failures, session_ttl_s=config.staff_session_ttl_s,
        device=request.headers.get("User-Agent", ""))
    resp = json_response(_me(session.staff, session.csrf), status=201)
    resp.set_cookie(COOKIE, secret, max_age=config.staff_session_ttl_s, path="/", httponly=True,
                    secure=config.staff_cookie_secure, samesite="Strict")
    return resp


async def me(request: web.Request) -> web.Response:
    session = await _session(request)
    resp = json_response(_me(session.staff, session.csrf))
    resp.headers["Cache-Control"] = "no-store"
    return resp


async def sign_out(request: web.Request) -> web.Response:
    session = await _session(request)
    sessions.check_csrf(session, request.headers.get("X-CSRF-Token"))
    await sessions.end_session(request.app[REDIS], session)
    resp = web.Response(status=204)
    resp.del_cookie(COOKIE, path="/")
    return resp


# -- supervisors ---------------------------------------------------------------------------------------------
async def _supervisor(request: web.Request) -> str:
    office = load_registry().get(request.match_info["code"]).code
    caller = await request.app[STAFF_AUTH](request)
    await sessions.require_supervisor(request.app[REDIS], caller, office)
    return office


def _staff_id(request: web.Request) -> int:
    raw = request.match_info["staff_id"]
    if not raw.isdigit() or len(raw) > 12:
        raise ValidationFailed(errors=[FieldError("staff_id", "staff_id_invalid", "must be a staff number",
                                                  "شمارهٔ کارمند نامعتبر است")])
    return int(raw)


async def issue_code(request: web.Request) -> web.Response:
    office = await _supervisor(request)
    made = await sessions.issue_code(request.app[REDIS], load_registry(), office, _staff_id(request),
                                     request.app[CONFIG].staff_code_ttl_s)
    resp = json_response(made, status=201)
    resp.headers["Cache-Control"] = "no-store"
    return resp


async def office_sessions(request: web.Request) -> web.Response:
    office = await _supervisor(request)
    redis = request.app[REDIS]
    staff_ids = sorted(int(i) for i in await redis.smembers(sessions.keys.office_staff(office)))
    return json_response({"data": await sessions.list_sessions(redis, staff_ids)})


async def revoke_session(request: web.Request) -> web.Response:
    office = await _supervisor(request)
    redis = request.app[REDIS]
    sid = request.match_info["session_id"]
    for staff_id in sorted(int(i) for i in await redis.smembers(sessions.keys.office_staff(office))):
        try:
            await sessions.revoke_sessions(redis, staff_id, sid)
            return web.Response(status=204)
        except sessions.StaffSessionNotFound:
            continue
    raise sessions.StaffSessionNotFound(f"no live session {sid[:40]!r} in {office}",
                                        "چنین نشستی در این اداره وجود ندارد یا پیش‌تر پایان یافته است")


def _sha(text: bytes) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text).digest()).decode()


async def _ctx(app: web.Application) -> AsyncIterator[None]:
    files = {name: ((STATIC / name).read_bytes(), ctype) for name, ctype in FILES.items()}
    # The style is inlined into the page: on a slow mobile network a render-blocking request is a round trip
    # before the first paint. The scripts are deferred, so they never hold the first paint back.
    css = files["app.css"][0]
    page = (STATIC / "index.html").read_bytes().replace(STYLE_LINK, b"<style>" + css + b"</style>")
    files["index.html"] = (page, "text/html")
    app[_FILES] = files
    app[_DECODER] = {name: (raw, gzip.compress(raw, 9)) for name in DECODER_FILES
                     if (raw := (DECODER / name).read_bytes())}
    app[_CSP] = CSP.format(style=_sha(css))
    yield


def setup(app: web.Application) -> None:
    """Mount the staff app, and let tracking's staff authentication accept its sessions."""
    app[STAFF_SESSION_AUTH] = session_staff
    app.cleanup_ctx.append(_ctx)
    r = app.router
    r.add_get("/staff", page)
    r.add_get("/staff/{name:[a-z]+\\.(?:js|css|svg|webmanifest)}", static_file)
    r.add_get("/staff/decoder/{name}", decoder_file)
    r.add_post("/staff/api/sign-in", sign_in)
    r.add_get("/staff/api/me", me)
    r.add_post("/staff/api/sign-out", sign_out)
    r.add_post("/v1/offices/{code}/staff/{staff_id}/sign-in-codes", issue_code)
    r.add_get("/v1/offices/{code}/staff-sessions", office_sessions)
    r.add_delete("/v1/offices/{code}/staff-sessions/{session_id}", revoke_session)
