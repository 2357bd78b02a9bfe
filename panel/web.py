"""The shop panel (``/shop``): server-rendered pages whose data and actions go through the shop API (``/v1/...``)
with the session cookie and its CSRF token, and the few JSON routes the API lacked: the shop's users and its API
key rotation.

Pages are shells (labels, forms, layout) rendered here; panel.js fills them from the same endpoints a shop's
backend calls, so the panel can do nothing the API would refuse the shop.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from booking.app_keys import BOOKING, SESSION_AUTH
from booking.auth import require_caller, require_manager
from booking.shops import ShopRegistry
from kernel.app_keys import BATCHER, CONFIG, LIMITS, REDIS
from kernel.errors import FieldError, PayloadTooLarge, UnsupportedMediaType, validation_failed
from kernel.http import client_address, json_response, read_json
from kernel.templates import render

from . import handover_forms, sheets
from .accounts import Accounts
from .sessions import (
    COOKIE,
    LOGIN_FAILED_FA,
    PANEL_USER,
    LoginRateLimited,
    SessionInvalid,
    Sessions,
    check_csrf,
    csrf_token,
)

ACCOUNTS = web.AppKey("panel_accounts", Accounts)
SESSIONS = web.AppKey("panel_sessions", Sessions)
STATIC = Path(__file__).with_name("static")
ASSETS = {"panel.js": "text/javascript", "panel.css": "text/css", "handover.js": "text/javascript",
          "money.js": "text/javascript"}
# What aiohttp raises for a body that is not the form its Content-Type claims (no boundary, broken part headers).
_MALFORMED = (ValueError, AssertionError, HttpProcessingError)
PRE_COOKIE = "barid_panel_pre"  # the sign-in form's CSRF token, double-submitted (there is no session yet)
UPLOAD_MAX = 5 * 1024 * 1024
# Own origin only: no inline script or style, nothing from elsewhere, never framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
}
PAGES = {  # path -> (template, Persian title, owner only)
    "parcels": ("parcels.html", "مرسوله‌ها", False),
    "book": ("book.html", "ثبت مرسوله", False),
    "upload": ("upload.html", "ثبت گروهی از فایل", False),
    "labels": ("labels.html", "چاپ برچسب", False),
    "ndr": ("ndr.html", "تحویل‌های ناموفق", False),
    "money": ("money.html", "حساب پرداخت در محل", False),
    "settings": ("settings.html", "تنظیمات فروشگاه", True),
    "pickups": ("pickups.html", "جمع‌آوری از فروشگاه", False),
    "manifests": ("manifests.html", "فهرست‌های تحویل به پست", False),
}
EXTRA = {"pickups": handover_forms.pickup_form}  # page -> more of its template's context, made per request


def _secure(request: web.Request) -> bool:
    public = request.app[CONFIG].public_url or ""
    return request.secure or public.startswith("https://")


def _set_cookie(response: web.StreamResponse, request: web.Request, name: str, value: str, max_age: int,
                path: str = "/") -> None:
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="Strict",
                        secure=_secure(request))


def _see_other(location: str) -> web.Response:
    """A redirect answered, not raised: the gateway's error middleware turns raised HTTP errors into problems."""
    return web.Response(status=303, headers={"Location": location, **SECURITY_HEADERS})


async def _form(request: web.Request):
    """The posted form; a body that is no form (or a multipart one without its boundary) is a 415, not a crash."""
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise _not_a_form()
    try:
        return await request.post()
    except _MALFORMED:
        raise _not_a_form() from None


def _not_a_form() -> UnsupportedMediaType:
    return UnsupportedMediaType("send an HTML form (application/x-www-form-urlencoded or multipart/form-data)",
                                "بدنهٔ درخواست باید فرم HTML باشد")


def _page(request: web.Request, template: str, status: int = 200, **context: object) -> web.Response:
    html = render("panel", template, **context)
    return web.Response(text=html, status=status, content_type="text/html", headers=SECURITY_HEADERS)


# -- signing in and out -------------------------------------------------------------------------------------------
async def login_form(request: web.Request, error: str | None = None, status: int = 200,
                     mobile: str = "") -> web.Response:
    token = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
    response = _page(request, "login.html", status, title="ورود به پنل فروشگاه", csrf=token, error=error,
                     mobile=mobile)
    _set_cookie(response, request, PRE_COOKIE, token, 3600, "/shop")
    return response


async def login(request: web.Request) -> web.Response:
    form = await _form(request)
    mobile, password = str(form.get("mobile", "")), str(form.get("password", ""))
    pre = request.cookies.get(PRE_COOKIE)
    if not pre or not secrets.compare_digest(pre, str(form.get("csrf", ""))):
        return await login_form(request, "نشانهٔ امنیتی فرم نادرست یا منقضی است؛ دوباره تلاش کنید.", 403, mobile)
    sessions = request.app[SESSIONS]
    try:
        await sessions.limit_login(client_address(request, request.app[CONFIG].trusted_proxies), mobile.strip())
    except LoginRateLimited as exc:
        response = await login_form(request, exc.detail_fa, 429, mobile)
        response.headers.update(exc.headers)
        return response
    found = await request.app[ACCOUNTS].verify(mobile, password[:256])
    if found is None:  # one answer for an unknown mobile and a wrong password
        return await login_form(request, LOGIN_FAILED_FA, 401, mobile)
    shop_id, mobile, role = found
    cookie = await sessions.create(shop_id, mobile, role)
    response = _see_other("/shop/parcels")
    _set_cookie(response, request, COOKIE, cookie, request.app[CONFIG].panel.session_ttl_s)
    response.del_cookie(PRE_COOKIE, path="/shop")
    return response


async def logout(request: web.Request) -> web.Response:
    found = await request.app[SESSIONS].lookup(request)
    if found is not None:
        form = await _form(request)
        check_csrf(str(form.get("csrf", "")), found[4])
        await request.app[SESSIONS].revoke(request.cookies.get(COOKIE))
    response = _see_other("/shop/login")
    response.del_cookie(COOKIE, path="/")
    return response


# -- pages --------------------------------------------------------------------------------------------------------
def _screen(name: str, template: str, title: str, owner_only: bool):
    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            found = await request.app[SESSIONS].lookup(request)
        except SessionInvalid:
            found = None
        if found is None:
            return _see_other("/shop/login")
        shop_id, mobile, role, _, secret = found
        if owner_only and role != "owner":
            return _page(request, "denied.html", 403, title=title, csrf=csrf_token(secret), mobile=mobile, role=role,
                         page=name)
        limits = request.app[LIMITS]
        return _page(request, template, title=title, csrf=csrf_token(secret), mobile=mobile, role=role, page=name,
                     shop_id=shop_id, tracking_number=_tn(request.match_info.get("tracking_number", "")),
                     batch_max=limits.batch_max_items, columns=sheets.COLUMNS, **EXTRA.get(name, dict)())

    return handler


def _tn(raw: str) -> str:
    """The path's tracking number as the page may put it into its API links: letters and digits only (anything
    else is no tracking number, and the page's lookup says so)."""
    return re.sub(r"[^A-Z0-9]", "", raw.upper())[:30]


async def home(request: web.Request) -> web.Response:
    return _see_other("/shop/parcels")


async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in ASSETS:
        raise web.HTTPNotFound()
    response = web.Response(body=(STATIC / name).read_bytes(), content_type=ASSETS[name],
                            headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})
    response.enable_compression()
    return response


# -- spreadsheets -------------------------------------------------------------------------------------------------
def _template_file(kind: str):
    async def handler(request: web.Request) -> web.Response:
        return _template(kind)

    return handler


def _template(kind: str) -> web.Response:
    body, ctype = (sheets.template_xlsx(), sheets.XLSX) if kind == "xlsx" else (sheets.template_csv(), "text/csv")
    return web.Response(body=body, content_type=ctype,
                        headers={"Content-Disposition": f'attachment; filename="barid-parcels.{kind}"'})


async def parse_sheet(request: web.Request) -> web.Response:
    """The upload's rows as API request objects; the page books them with POST /v1/shipments/batch."""
    caller = await require_caller(request)
    await request.app[BOOKING].authorize(caller)
    if request.content_type != "multipart/form-data":
        raise _not_a_form()
    try:
        reader = await request.multipart()
        part = await reader.next()
        while part is not None and getattr(part, "name", None) != "file":  # other fields are ignored, as in JSON
            part = await reader.next()
    except _MALFORMED:
        raise _not_a_form() from None
    if part is None or getattr(part, "name", None) != "file":
        raise validation_failed([FieldError("file", "required", "Send the sheet as the multipart field 'file'.",
                                            "فایل را انتخاب کنید.")])
    data = bytearray()
    try:
        while chunk := await part.read_chunk():  # type: ignore[union-attr]
            data += chunk
            if len(data) > UPLOAD_MAX:
                raise PayloadTooLarge(f"a sheet may be at most {UPLOAD_MAX // 1048576} MB",
                                      "حجم فایل بیش از ۵ مگابایت است؛ آن را به چند فایل تقسیم کنید")
    except _MALFORMED:
        raise _not_a_form() from None
    rows = sheets.read_upload(bytes(data), part.filename or "")  # type: ignore[union-attr]
    return json_response({"rows": rows, "batch_max": request.app[LIMITS].batch_max_items})


async def failed_sheet(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    await request.app[BOOKING].authorize(caller)
    body, _ = await read_json(request)
    rows = body.get("rows") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise validation_failed([FieldError("rows", "type_array", "Must be an array of rows.",
                                            "فهرست سطرها لازم است.")])
    return web.Response(body=sheets.failed_xlsx(rows[:sheets.MAX_ROWS]), content_type=sheets.XLSX,
                        headers={"Content-Disposition": 'attachment; filename="barid-failed-rows.xlsx"'})


# -- the shop's users and API key (JSON, for the panel and the API alike) -----------------------------------------
async def _manager(request: web.Request):
    caller = await require_caller(request)
    await request.app[BOOKING].authorize(caller)
    require_manager(caller)
    return caller


async def list_users(request: web.Request) -> web.Response:
    caller = await _manager(request)
    return json_response({"data": await request.app[ACCOUNTS].list(caller.shop.id)})


async def invite_user(request: web.Request) -> web.Response:
    caller = await _manager(request)
    body, _ = await read_json(request)
    body = body if isinstance(body, dict) else {}
    invited_by = request.get(PANEL_USER) or "api_key"
    user = await request.app[ACCOUNTS].add(caller.shop.id, body.get("mobile"), body.get("role"),
                                           invited_by=invited_by)
    return json_response(user, status=201)


async def remove_user(request: web.Request) -> web.Response:
    caller = await _manager(request)
    await request.app[ACCOUNTS].remove(caller.shop.id, request.match_info["mobile"])
    return web.Response(status=204)


async def rotate_api_key(request: web.Request) -> web.Response:
    caller = await _manager(request)
    registry = ShopRegistry(request.app[REDIS])
    api_key = await registry.rotate_key(caller.shop.id, request.app[CONFIG].key_rotation_overlap_s)
    return json_response({**(await registry.get(caller.shop.id)).public(), "api_key": api_key})


def setup(app: web.Application) -> None:
    async def ctx(app: web.Application):
        app[ACCOUNTS] = Accounts(app[REDIS])
        app[SESSIONS] = sessions = Sessions(app[REDIS], app[BATCHER], app[CONFIG].panel)
        app[SESSION_AUTH] = sessions.caller  # the API accepts a panel session as a caller (booking.auth)
        yield

    app.cleanup_ctx.append(ctx)
    r = app.router
    r.add_get("/shop", home)
    r.add_get("/shop/login", login_form)
    r.add_post("/shop/login", login)
    r.add_post("/shop/logout", logout)
    for name, page in PAGES.items():
        r.add_get(f"/shop/{name}", _screen(name, *page))
    r.add_get("/shop/parcels/{tracking_number}", _screen("parcels", "parcel.html", "مرسوله", False))
    r.add_get("/shop/static/{name}", asset)
    r.add_get("/shop/sheets/template.xlsx", _template_file("xlsx"))
    r.add_get("/shop/sheets/template.csv", _template_file("csv"))
    r.add_post("/shop/sheets/parse", parse_sheet)
    r.add_post("/shop/sheets/failed", failed_sheet)
    r.add_get("/v1/shop/users", list_users)
    r.add_post("/v1/shop/users", invite_user)
    r.add_delete("/v1/shop/users/{mobile}", remove_user)
    r.add_post("/v1/shop/api-key/rotate", rotate_api_key)
