"""The shop's money routes, by the shop's own API key (or its panel session), on the ledger database:

* ``GET /v1/balance``: due now, on hold, in flight, pending (by the day each becomes due), the next payout;
* ``GET /v1/remittances`` (``status``, ``limit``, ``cursor``), ``GET /v1/remittances/{id}`` (fee totals, history),
  ``GET /v1/remittances/{id}/lines?format=json|csv`` (streamed from a server-side cursor: constant memory),
  ``GET /v1/remittances/{id}/statement.pdf`` (the Persian statement, money/statement.py);
* ``POST /v1/disputes`` (Idempotency-Key), ``GET /v1/disputes``, ``GET /v1/disputes/{id}``;
* ``POST /v1/operator/disputes/{id}/resolve``: by an operator token (BARID_OPERATOR_TOKEN_SHA256).

A shop sees only its own: another shop's remittance or dispute is a 404, as one that does not exist.
``setup(app)`` runs after money.web's (its database pool, ``MONEY``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from booking.app_keys import BOOKING
from booking.auth import require_caller, require_shop
from booking.idempotency import idempotent
from booking.shops import mask_sheba
from kernel.app_keys import REDIS
from kernel.errors import BaridError, FieldError, Unauthorized, validation_failed
from kernel.http import json_response, read_json
from kernel.operators import operator_of
from kernel.postal.timeutil import IRAN_TIME
from kernel.postal.workdays import is_working_day

from . import disputes, shop_money
from .policy import policy
from .remittance import STATUSES
from .statement import CSV_HEADER, render_pdf
from .web import MONEY

log = logging.getLogger("barid.money.shop_web")

MAX_PDF_LINES = 3000  # a hundred A4 pages; a longer remittance's lines are read as CSV
MAX_NOTE = 1000
MAX_RIALS = 10**15
_TN = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}", re.ASCII)


def _whole(v: Any) -> Any:
    """A JSON number that is a whole number (1490.0 is one, as JSON Schema says) as an int; anything else as is."""
    return int(v) if type(v) is float and v.is_integer() and abs(v) < MAX_RIALS else v


class StatementTooLong(BaridError):
    code = "statement_pdf_too_long"
    title = "The remittance is too long for a PDF statement"


def _limit(request: web.Request, default: int = 50, most: int = 200) -> int:
    raw = request.query.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise validation_failed([FieldError("limit", "limit_invalid", f"a whole number from 1 to {most}",
                                            f"تعداد در هر صفحه باید عددی از ۱ تا {most} باشد")])
    return int(raw)


def _status(request: web.Request, allowed: tuple[str, ...] | dict[str, str]) -> str | None:
    status = request.query.get("status")
    if status is not None and status not in allowed:
        raise validation_failed([FieldError("status", "status_invalid", f"one of {', '.join(allowed)}",
                                            "وضعیت درخواستی شناخته نیست")])
    return status


async def get_balance(request: web.Request) -> web.Response:
    shop = await require_shop(request)
    pool = await request.app[MONEY].get_pool()
    today = datetime.now(IRAN_TIME).date()
    async with pool.acquire() as conn:
        return json_response(await shop_money.balance(conn, shop.id, policy().cycle(shop.settlement_plan), today,
                                                      is_working_day))


async def list_remittances(request: web.Request) -> web.Response:
    shop = await require_shop(request)
    status, limit = _status(request, STATUSES), _limit(request)
    raw = request.query.get("cursor")
    cursor = shop_money.decode_cursor(raw) if raw else None
    pool = await request.app[MONEY].get_pool()
    async with pool.acquire() as conn:
        return json_response(await shop_money.list_remittances(conn, shop.id, status=status, limit=limit,
                                                               cursor=cursor))


async def get_remittance(request: web.Request) -> web.Response:
    shop = await require_shop(request)
    pool = await request.app[MONEY].get_pool()
    async with pool.acquire() as conn:
        return json_response(await shop_money.detail(conn, shop.id, request.match_info["id"]))


async def get_lines(request: web.Request) -> web.StreamResponse:
    """The lines in delivery order, written as they are read: the first bytes leave before the last row is
    fetched, and only one fetch of rows is in memory at a time."""
    shop = await require_shop(request)
    fmt = request.query.get("format", "json")
    if fmt not in ("json", "csv"):
        raise validation_failed([FieldError("format", "format_invalid", "json or csv",
                                            "قالب باید json یا csv باشد")])
    pool = await request.app[MONEY].get_pool()
    async with pool.acquire() as conn:
        row = await shop_money.remittance_row(conn, shop.id, request.match_info["id"])
        rid = row["id"]
        resp = web.StreamResponse(headers={
            "Content-Type": "text/csv; charset=utf-8" if fmt == "csv" else "application/json",
            "Content-Disposition": f'attachment; filename="{rid}.{fmt}"', "X-Line-Count": str(row["count"])})
        await resp.prepare(request)
        if fmt == "csv":
            await resp.write((",".join(CSV_HEADER) + "\r\n").encode())
        else:
            await resp.write(b'{"remittance_id":' + orjson.dumps(rid) + b',"count":' + str(row["count"]).encode()
                             + b',"lines":[')
        async for chunk in shop_money.stream_lines(conn, rid, fmt):
            await resp.write(chunk)
        if fmt == "json":
            await resp.write(b"]}")
        await resp.write_eof()
    return resp


async def get_statement(request: web.Request) -> web.Response:
    shop = await require_shop(request)
    pool = await request.app[MONEY].get_pool()
    async with pool.acquire() as conn:
        row = await shop_money.remittance_row(conn, shop.id, request.match_info["id"])
        rem = await shop_money.remittance_for_pdf(conn, row, MAX_PDF_LINES)
    if rem is None:
        raise StatementTooLong(
            f"remittance {row['id']} has {row['count']} lines, over the PDF's {MAX_PDF_LINES}; read its lines as CSV",
            f"این حواله {row['count']} ردیف دارد و برای صورت‌حساب PDF (حداکثر {MAX_PDF_LINES} ردیف) بلند است؛ "
            "ردیف‌ها را به صورت CSV بارگیری کنید", extra={"lines_csv": f"/v1/remittances/{row['id']}/lines?format=csv"})
    bank_fa = shop.sheba_bank[1] if shop.sheba_bank and shop.sheba == row["sheba"] else None
    body = await asyncio.get_running_loop().run_in_executor(
        None, render_pdf, rem, shop.name, mask_sheba(row["sheba"]) if row["sheba"] else None, bank_fa)
    return web.Response(body=body, content_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{row["id"]}.pdf"'})


# -- disputes --------------------------------------------------------------------------------------------------
def _parse_dispute(body: Any) -> tuple[str, str, int | None, str | None]:
    if not isinstance(body, dict):
        raise validation_failed([FieldError("body", "object_expected", "must be a JSON object",
                                            "بدنهٔ درخواست باید یک شیء JSON باشد")])
    errors: list[FieldError] = []
    tn = body.get("tracking_number")
    tn = tn.strip().upper() if isinstance(tn, str) else tn
    if not (isinstance(tn, str) and _TN.fullmatch(tn)):
        errors.append(FieldError("tracking_number", "tracking_number_invalid", "an S10 tracking number, e.g. EP123456785IR",
                                 "شمارهٔ رهگیری باید ۱۳ نویسه مانند EP123456785IR باشد"))
    kind = body.get("kind")
    if not isinstance(kind, str) or kind not in disputes.KINDS:
        errors.append(FieldError("kind", "kind_invalid", "not_remitted or wrong_amount",
                                 "نوع اعتراض را برگزینید: «واریز نشده» یا «مبلغ نادرست»"))
    claimed = _whole(body.get("claimed_amount"))
    if claimed is not None and (type(claimed) is not int or not 0 <= claimed < MAX_RIALS):
        errors.append(FieldError("claimed_amount", "amount_invalid", "whole rials, 0 or more",
                                 "مبلغ ادعایی باید عددی صحیح و نامنفی به ریال باشد"))
    elif claimed is None and kind == "wrong_amount":
        errors.append(FieldError("claimed_amount", "required", "the amount the shop says is right, in rials",
                                 "برای اعتراض به مبلغ، مبلغ درست را به ریال بنویسید"))
    note = body.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        errors.append(FieldError("note", "note_invalid", f"text of at most {MAX_NOTE} characters",
                                 f"توضیح باید متنی با حداکثر {MAX_NOTE} نویسه باشد"))
    if errors:
        raise validation_failed(errors)
    return tn, kind, claimed, (note.strip() or None) if isinstance(note, str) else None


async def _announce(app: web.Application, shop_id: int, event_type: str, dispute: dict[str, Any]) -> None:
    try:
        await disputes.announce(app[REDIS], shop_id, event_type, dispute)
    except Exception:  # the dispute is committed either way; its event is what is lost
        log.exception("could not append %s of dispute %s to the feed", event_type, dispute["dispute_id"])


async def post_dispute(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    body, raw = await read_json(request)

    async def produce() -> tuple[int, bytes]:
        await request.app[BOOKING].authorize(caller)
        tn, kind, claimed, note = _parse_dispute(body)
        pool = await request.app[MONEY].get_pool()
        async with pool.acquire() as conn:
            done = await disputes.open_dispute(conn, caller.shop.id, tn, kind, claimed, note,
                                               f"shop:{caller.shop.id}")
        await _announce(request.app, caller.shop.id, "dispute_opened", done)
        return 201, orjson.dumps(done)

    return await idempotent(request, caller, raw, produce)


def _dispute_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 18:
        raise disputes.DisputeNotFound(f"no dispute {raw[:40]}", "اعتراضی با این شماره نیست")
    return int(raw)


async def list_disputes(request: web.Request) -> web.Response:
    shop = await require_shop(request)
    status, limit = _status(request, disputes.STATUSES), _limit(request)
    raw = request.query.get("cursor")
    if raw is not None and not (raw.isdigit() and len(raw) <= 18):
        raise validation_failed([FieldError("cursor", "cursor_invalid", "the next_cursor of a previous page",
                                            "نشانگر صفحه نامعتبر است؛ از next_cursor پاسخ قبلی استفاده کنید")])
    pool = await request.app[MONEY].get_pool()
    async with pool.acquire() as conn:
        return json_response(await disputes.list_disputes(conn, shop.id, status, limit, int(raw) if raw else None))


async def get_dispute(request: web.Request) -> web.Response:
    shop = await require_shop(request)
    pool = await request.app[MONEY].get_pool()
    async with pool.acquire() as conn:
        return json_response(await disputes.get(conn, _dispute_id(request), shop.id))


def _require_operator(request: web.Request) -> None:
    """An operator token ``op_...`` whose SHA-256 is in the settings (BARID_OPERATOR_TOKEN_SHA256)."""
    if operator_of(request):
        return
    raise Unauthorized("send 'Authorization: Bearer op_...', an operator token", "توکن اپراتور معتبر ارسال نشده است",
                       headers={"WWW-Authenticate": 'Bearer realm="barid-operator"'})


def parse_resolution(body: Any) -> tuple[str, str, str, int | None]:
    body = body if isinstance(body, dict) else {}
    errors: list[FieldError] = []
    outcome, note, by, adjustment = body.get("outcome"), body.get("note"), body.get("by"), _whole(body.get("adjustment"))
    if not isinstance(outcome, str) or outcome not in disputes.OUTCOMES:
        errors.append(FieldError("outcome", "outcome_invalid", "resolved or rejected", "نتیجه باید resolved یا rejected باشد"))
    if not (isinstance(note, str) and note.strip() and len(note) <= MAX_NOTE):
        errors.append(FieldError("note", "note_invalid", f"why, in at most {MAX_NOTE} characters",
                                 "علت تصمیم را (حداکثر ۱۰۰۰ نویسه) بنویسید"))
    if not (isinstance(by, str) and by.strip() and len(by) <= 100):
        errors.append(FieldError("by", "by_invalid", "who decides", "نام تصمیم‌گیرنده را بنویسید"))
    if adjustment is not None and (type(adjustment) is not int or not -MAX_RIALS < adjustment < MAX_RIALS):
        errors.append(FieldError("adjustment", "amount_invalid", "whole rials (negative: the shop owes it back)",
                                 "مبلغ اصلاح باید عددی صحیح به ریال باشد"))
    if errors:
        raise validation_failed(errors)
    return outcome, note.strip(), by.strip(), adjustment


async def resolve_dispute(request: web.Request) -> web.Response:
    _require_operator(request)
    dispute_id = _dispute_id(request)
    body, _ = await read_json(request)
    outcome, note, by, adjustment = parse_resolution(body)
    pool = await request.app[MONEY].get_pool()
    async with pool.acquire() as conn:
        done = await disputes.resolve(conn, dispute_id, outcome, note, f"operator:{by}", adjustment)
        shop_id = await conn.fetchval("SELECT shop_id FROM disputes WHERE id = $1", dispute_id)
    await _announce(request.app, shop_id, "dispute_resolved", done)
    return json_response(done)


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/v1/balance", get_balance)
    r.add_get("/v1/remittances", list_remittances)
    r.add_get("/v1/remittances/{id}", get_remittance)
    r.add_get("/v1/remittances/{id}/lines", get_lines)
    r.add_get("/v1/remittances/{id}/statement.pdf", get_statement)
    r.add_post("/v1/disputes", post_dispute)
    r.add_get("/v1/disputes", list_disputes)
    r.add_get("/v1/disputes/{id}", get_dispute)
    r.add_post("/v1/operator/disputes/{id}/resolve", resolve_dispute)
