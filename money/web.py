"""Money routes: the postman's cash close, by the office's own staff.

* ``POST /v1/offices/{code}/cash-closings`` {date, postman, declared_total, parcels?} -> 201 the close
* ``GET /v1/offices/{code}/cash-closings?date=YYYY-MM-DD`` -> the office's day close (its postmen summed)
* ``GET /v1/offices/{code}/cash-closings/{id}`` -> one close; ``/sheet`` -> its printable Persian sheet (HTML)

``setup(app, dsn)``: ``dsn`` is the ledger's database (None: every route answers 503). Staff are authenticated by
``STAFF_AUTH``, filled in at assembly (tracking authenticates staff for every feature).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import asyncpg
from aiohttp import web

from kernel.errors import FieldError, validation_failed
from kernel.http import json_response, read_json
from kernel.postal.timeutil import IRAN_TIME
from tracking.staff import STAFF_AUTH

from . import closing
from .sheet import render_close_sheet

log = logging.getLogger("barid.money.web")

_POSTMAN = re.compile(r"[A-Za-z0-9_.-]{1,32}", re.ASCII)
_TN = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}", re.ASCII)
MAX_PARCELS = 2000  # parcels one close lists at most: more than a postman carries in a day
MAX_RIALS = 10**15


class Money:
    def __init__(self, dsn: str | None) -> None:
        self.dsn = dsn
        self.pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def get_pool(self) -> asyncpg.Pool:
        """The pool, opened on first use (the database may come up after the gateway)."""
        if self.pool is None:
            if self.dsn is None:
                raise closing.LedgerUnavailable("this gateway runs without the ledger database",
                                                "این درگاه بدون پایگاه دادهٔ دفتر کل اجرا شده است")
            async with self._lock:
                if self.pool is None:
                    try:
                        self.pool = await asyncpg.create_pool(self.dsn, min_size=0, max_size=4)
                    except (OSError, asyncpg.PostgresError) as exc:
                        log.warning("ledger database unreachable: %s", exc)
                        raise closing.LedgerUnavailable(
                            "the ledger database did not answer; nothing was applied",
                            "پایگاه دادهٔ دفتر کل پاسخ نداد؛ درخواست اعمال نشد") from None
        return self.pool


MONEY = web.AppKey("money", Money)


async def _office_staff(request: web.Request) -> tuple[Money, str, Any]:
    money = request.app[MONEY]
    staff = await request.app[STAFF_AUTH](request)
    office = request.match_info["code"]
    if staff.office != office:
        raise closing.CloseForbidden(f"staff of {staff.office} cannot close the cash of {office}",
                                     f"کارمند اداره {staff.office} اجازهٔ بستن صندوق اداره {office} را ندارد")
    return money, office, staff


def _today() -> date:
    return datetime.now(IRAN_TIME).date()


def _date(raw: Any, errors: list[FieldError], field: str = "date") -> date | None:
    try:
        day = date.fromisoformat(raw) if isinstance(raw, str) and len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        errors.append(FieldError(field, "date_invalid", "a day as YYYY-MM-DD (Tehran calendar day)",
                                 "تاریخ باید به شکل YYYY-MM-DD باشد"))
    elif day > _today():
        errors.append(FieldError(field, "date_in_future", "a day that has not come cannot be closed",
                                 "روزی که هنوز نرسیده است بسته نمی‌شود"))
        day = None
    return day


def _parse_close(body: Any) -> tuple[date, str, int, list[dict[str, Any]] | None]:
    errors: list[FieldError] = []
    if not isinstance(body, dict):
        raise validation_failed([FieldError("body", "object_expected", "must be a JSON object",
                                            "بدنهٔ درخواست باید یک شیء JSON باشد")])
    day = _date(body.get("date"), errors)
    postman = body.get("postman")
    if not (isinstance(postman, str) and _POSTMAN.fullmatch(postman)):
        errors.append(FieldError("postman", "postman_invalid", "the postman's id: 1-32 of A-Z a-z 0-9 _ . -",
                                 "شناسهٔ نامه‌رسان نامعتبر است؛ ۱ تا ۳۲ نویسه از حروف لاتین، رقم و _ . -"))
    declared = body.get("declared_total")
    if type(declared) is not int or not 0 <= declared < MAX_RIALS:
        errors.append(FieldError("declared_total", "amount_invalid", "the cash handed in: whole rials, 0 or more",
                                 "مبلغ تحویلی باید عددی صحیح و نامنفی به ریال باشد"))
    parcels = body.get("parcels")
    if parcels is not None:
        if not isinstance(parcels, list) or len(parcels) > MAX_PARCELS:
            errors.append(FieldError("parcels", "parcels_invalid", f"a list of at most {MAX_PARCELS} parcels",
                                     f"فهرست مرسوله‌ها باید آرایه‌ای با حداکثر {MAX_PARCELS} مورد باشد"))
        else:
            for i, p in enumerate(parcels):
                tn = p.get("tracking_number") if isinstance(p, dict) else None
                amount = p.get("amount") if isinstance(p, dict) else None
                if not (isinstance(tn, str) and _TN.fullmatch(tn)):
                    errors.append(FieldError(f"parcels[{i}].tracking_number", "tracking_number_invalid",
                                             "an S10 tracking number", "کد رهگیری نامعتبر است"))
                if amount is not None and (type(amount) is not int or not 0 <= amount < MAX_RIALS):
                    errors.append(FieldError(f"parcels[{i}].amount", "amount_invalid", "whole rials, 0 or more",
                                             "مبلغ باید عددی صحیح و نامنفی به ریال باشد"))
    if errors:
        raise validation_failed(errors)
    return day, postman, declared, parcels  # type: ignore[return-value]


async def post_close(request: web.Request) -> web.Response:
    money, office, staff = await _office_staff(request)
    body, _ = await read_json(request)
    day, postman, declared, parcels = _parse_close(body)
    pool = await money.get_pool()
    done = await closing.close(pool, office=office, postman=postman, day=day, declared=declared, parcels=parcels,
                               closed_by=f"staff:{staff.id}")
    return json_response(done, 201)


async def get_office_day(request: web.Request) -> web.Response:
    money, office, _ = await _office_staff(request)
    errors: list[FieldError] = []
    day = _date(request.query.get("date", _today().isoformat()), errors)
    if errors:
        raise validation_failed(errors)
    return json_response(await closing.office_day(await money.get_pool(), office, day))  # type: ignore[arg-type]


def _closing_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 18:
        raise closing.CloseNotFound(f"no cash close {raw}", "چنین بستن صندوقی وجود ندارد")
    return int(raw)


async def get_close(request: web.Request) -> web.Response:
    money, office, _ = await _office_staff(request)
    return json_response(await closing.get(await money.get_pool(), office, _closing_id(request)))


async def get_close_sheet(request: web.Request) -> web.Response:
    money, office, _ = await _office_staff(request)
    done = await closing.get(await money.get_pool(), office, _closing_id(request))
    return web.Response(text=render_close_sheet(done), content_type="text/html", charset="utf-8",
                        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


def setup(app: web.Application, dsn: str | None) -> None:
    app[MONEY] = Money(dsn)

    async def pool_ctx(app: web.Application) -> AsyncIterator[None]:
        yield
        if app[MONEY].pool is not None:
            await app[MONEY].pool.close()

    app.cleanup_ctx.append(pool_ctx)
    base = "/v1/offices/{code}/cash-closings"
    app.router.add_post(base, post_close)
    app.router.add_get(base, get_office_day)
    app.router.add_get(base + "/{id}", get_close)
    app.router.add_get(base + "/{id}/sheet", get_close_sheet)
