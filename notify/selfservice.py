"""The buyer's self-service page behind the signed link of the failed-attempt SMS: ``GET/POST /s/{token}``.

The buyer picks a new day (the next working days within the returns policy's reschedule window), collects the
parcel at the office, or adds address notes; the choice becomes the case's action through the returns feature's
case service (``reschedule``, ``hold_at_office``, ``update_contact``). Persian, right to left, one page with its
own style and no script or outside asset. The form carries a CSRF token bound to the link. Each request is
counted against its client address (the GCRA of ``tracking.ratelimit``, a budget of its own). A forged or expired
link, or a refused choice, is a Persian page and changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web

from kernel.app_keys import BATCHER, CONFIG
from kernel.errors import BaridError, Forbidden, RateLimited
from kernel.http import client_address
from kernel.postal.text import PostalError, normalize_text
from kernel.templates import render
from returns.cases import next_working_day, today_iran
from tracking.events import FAILURE_REASONS
from tracking.ratelimit import TRACK_LIMIT, client_key

from . import links, texts
from .appkeys import NDR_CASES, SMS_POLICY, SMS_SETTINGS
from .policy import TEHRAN

HEADERS = {
    # The token is in the address: never sent on to another site, never cached, never indexed.
    "Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Robots-Tag": "noindex",
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                "base-uri 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
}


class LinkInvalid(Forbidden):
    code = "selfservice_link_invalid"
    title = "The self-service link is not valid"


class LinkExpired(BaridError):
    code = "selfservice_link_expired"
    title = "The self-service link has expired"


class CsrfInvalid(Forbidden):
    code = "selfservice_csrf_invalid"
    title = "The form does not belong to this link"


class PageRateLimited(RateLimited):
    code = "selfservice_rate_limited"
    title = "Too many requests to the self-service page from this address"


def _html(name: str, status: int = 200, headers: dict[str, str] | None = None, **ctx: Any) -> web.Response:
    return web.Response(text=render("notify", name, **ctx), status=status, content_type="text/html",
                        charset="utf-8", headers={**HEADERS, **(headers or {})})


def _error_page(exc: BaridError, heading: str) -> web.Response:
    return _html("error.html", exc.kind().status, exc.headers, heading=heading, message=exc.detail_fa)


def page_limit_key(remote: str | None) -> str:
    """The page's own budget per client address (hashed as tracking's lookups are, not shared with them)."""
    return "barid:sms:page:" + client_key(remote).rsplit(":", 1)[-1]


async def _limit(request: web.Request) -> None:
    policy = request.app[SMS_POLICY]
    interval = 1000.0 / policy.page_rate_per_s
    remote = client_address(request, request.app[CONFIG].trusted_proxies)
    wait_ms = await request.app[BATCHER].evalsha(TRACK_LIMIT, [page_limit_key(remote)],
                                                 [repr(interval), repr(interval * policy.page_burst)])
    if wait_ms:
        seconds = max(1, -(-int(wait_ms) // 1000))
        raise PageRateLimited(f"too many requests from this address; retry in {seconds} s",
                              f"درخواست‌های این نشانی بیش از حد مجاز است؛ {texts.fa_digits(str(seconds))} ثانیهٔ دیگر "
                              "دوباره تلاش کنید", headers={"Retry-After": str(seconds)})


def _link(request: web.Request) -> links.Link:
    link, why = links.verify(request.app[SMS_SETTINGS].link_secret, request.match_info["token"])
    if link is None and why == "expired":
        raise LinkExpired("the link has expired", "مهلت این پیوند به پایان رسیده است؛ با فروشگاه تماس بگیرید")
    if link is None:
        raise LinkInvalid("the link is not valid", "این پیوند معتبر نیست؛ نشانی را کامل و دقیق از پیامک باز کنید")
    return link


def offered_days(cases: Any, today: date) -> list[date]:
    """The working days after today within the returns policy's reschedule window."""
    last = today + timedelta(days=cases.policy.reschedule_window_days)
    days, day = [], next_working_day(cases.registry, today)
    while day <= last:
        days.append(day)
        day = next_working_day(cases.registry, day)
    return days


async def _render(request: web.Request, link: links.Link, *, done: str = "", problem: str = "",
                  status: int = 200) -> web.Response:
    cases = request.app[NDR_CASES]
    try:
        case = await cases.get(link.shop_id, link.tracking_number)
    except BaridError:
        return _html("error.html", 404, heading="پرونده‌ای پیدا نشد",
                     message="برای این مرسوله پروندهٔ تحویل ناموفق ثبت نشده است؛ چند دقیقهٔ دیگر دوباره سر بزنید.")
    allowed = case["allowed_actions"]
    scheduled = case.get("scheduled_for")
    return _html(
        "page.html", status, tn=link.tracking_number, done=done, problem=problem, state_fa=case["status_fa"],
        reason_fa=FAILURE_REASONS.get(case.get("reason") or "", (False, ""))[1],
        scheduled=texts.day_label(date.fromisoformat(scheduled)) if scheduled else "",
        can_act=bool(allowed), can_hold="hold_at_office" in allowed,
        days=[{"iso": d.isoformat(), "label": texts.day_label(d)} for d in offered_days(cases, today_iran())],
        csrf=links.csrf_token(request.app[SMS_SETTINGS].link_secret, link.token),
        notes_max=texts.fa_digits(str(cases.policy.notes_max_chars)),
        expires=texts.jalali_long(datetime.fromtimestamp(link.expires, TEHRAN).date()))


async def page(request: web.Request) -> web.Response:
    try:
        await _limit(request)
        link = _link(request)
    except BaridError as exc:
        return _error_page(exc, "پیوند نامعتبر" if exc.kind().status != 429 else "درخواست بیش از حد")
    return await _render(request, link)


async def choose(request: web.Request) -> web.Response:
    try:
        await _limit(request)
        link = _link(request)
        form = await request.post()
        if not links.csrf_ok(request.app[SMS_SETTINGS].link_secret, link.token, str(form.get("csrf", ""))):
            raise CsrfInvalid("the form does not belong to this link",
                              "این فرم از همین پیوند ارسال نشده است؛ صفحه را دوباره باز کنید")
    except BaridError as exc:
        return _error_page(exc, "درخواست پذیرفته نشد")
    cases = request.app[NDR_CASES]
    choice = str(form.get("choice", ""))
    notes = str(form.get("notes", "")).strip()
    days = offered_days(cases, today_iran())
    if choice.startswith("day:"):
        picked = next((d for d in days if d.isoformat() == choice[4:]), None)
        if picked is None:
            return await _render(request, link, problem="این روز برای تحویل قابل انتخاب نیست.", status=422)
        action, params, said = "reschedule", {"date": picked.isoformat()}, f"تحویل در {texts.day_label(picked)}"
    elif choice == "hold":
        action, params, said = "hold_at_office", {}, "مرسوله در ادارهٔ پست برای تحویل حضوری نگه‌داری می‌شود."
    elif choice == "notes" or (not choice and notes):
        action, params, said = "update_contact", {}, "توضیح نشانی برای نامه‌رسان ثبت شد."
    else:
        return await _render(request, link, problem="یکی از گزینه‌ها را انتخاب کنید.", status=422)
    if notes or action == "update_contact":
        try:
            params_notes = normalize_text(notes, cases.policy.notes_max_chars, error_code="address_notes_invalid")
        except PostalError as exc:
            return await _render(request, link, problem=exc.message_fa, status=422)
        if action == "update_contact":
            params["address_notes"] = params_notes
    try:
        await cases.act(link.shop_id, link.tracking_number, action, params)
        if notes and action != "update_contact":  # the day or the counter, and the notes for the postman too
            await cases.act(link.shop_id, link.tracking_number, "update_contact", {"address_notes": params_notes})
    except BaridError as exc:
        return await _render(request, link, problem=exc.detail_fa, status=exc.kind().status)
    return await _render(request, link, done=said)

