"""The operator's remittance routes (operator bearer tokens only, as delivery planning's: a token ``op_...``
whose SHA-256 is listed in BARID_OPERATOR_TOKEN_SHA256):

* ``POST /v1/operator/remittance-runs`` {as_of?} -> 201 the run's summary
* ``GET  /v1/operator/remittance-runs/{id}/payout-file?format=pain001|csv`` -> the run's payout file (the first
  fetch sends its scheduled remittances; a later one returns the same batch: money/payout_ops.py)
* ``POST /v1/operator/remittances/{id}/bank-ref`` {bank_ref} -> the paid remittance (payout posted, event fired)
* ``POST /v1/operator/remittances/{id}/failed`` {reason} -> the failed remittance (due again in the next run)
* ``GET  /v1/operator/remittances?shop=&status=&run=`` -> remittances, newest payout day first

``setup(app)`` after ``money.web.setup``: the routes share its database pool.
"""

from __future__ import annotations

from aiohttp import web

from kernel.app_keys import REDIS
from kernel.errors import FieldError, Forbidden, Unauthorized, validation_failed
from kernel.http import json_response, read_json
from kernel.operators import operator_of

from . import payout_ops, payouts
from .web import MONEY


class OperatorOnly(Forbidden):
    code = "operator_only"
    title = "Only an operator may do this"


def operator(request: web.Request) -> str:
    """Who the operator is (``operator:<first digits of the token's hash>``); 401 without a valid operator
    token, 403 for any other credential (a shop's key, a staff token)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        raise Unauthorized("an operator token is required (Authorization: Bearer op_...)",
                           "این کار به توکن اپراتور نیاز دارد", headers={"WWW-Authenticate": "Bearer"})
    token = header[7:].strip()
    if not token.startswith("op_"):
        raise OperatorOnly("remittances are the post's operators' to run; this credential is not an operator's",
                           "اجرای تسویه و ثبت پرداخت فقط کار اپراتور پست است؛ این اعتبارنامه متعلق به اپراتور نیست")
    who = operator_of(request)
    if who is None:
        raise Unauthorized("unknown operator token", "توکن اپراتور نامعتبر است", headers={"WWW-Authenticate": "Bearer"})
    return who


def _int(raw: str, name: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise validation_failed([FieldError(name, "id_invalid", "a positive whole number", "شناسه باید عدد صحیح باشد")])
    return int(raw)


async def create_run(request: web.Request) -> web.Response:
    who = operator(request)
    body, _ = await read_json(request) if request.can_read_body else ({}, b"")
    if not isinstance(body, dict):
        raise validation_failed([FieldError("body", "object_expected", "must be a JSON object",
                                            "بدنهٔ درخواست باید یک شیء JSON باشد")])
    as_of = payout_ops.parse_day(body["as_of"]) if body.get("as_of") is not None else None
    pool = await request.app[MONEY].get_pool()
    done = await payouts.run(pool, payouts.store_payees(request.app[REDIS]), as_of, made_by=who)
    resp = json_response(done, 201)
    resp.headers["Location"] = f"/v1/operator/remittance-runs/{done['run_id']}"
    return resp


async def payout_file(request: web.Request) -> web.Response:
    who = operator(request)
    run_id = _int(request.match_info["id"], "id")
    fmt = request.query.get("format", "pain001")
    pool = await request.app[MONEY].get_pool()
    body, summary = await payout_ops.payout_file(pool, run_id, fmt, payouts.store_names(request.app[REDIS]), who)
    ext = "xml" if fmt == "pain001" else "csv"
    return web.Response(body=body, content_type=payout_ops.MEDIA_TYPES[fmt], charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="barid-run-{run_id}.{ext}"', "Cache-Control": "no-store",
        "X-Remittances": str(summary["remittances"]), "X-Total-Rials": str(summary["total"])})


async def bank_ref(request: web.Request) -> web.Response:
    who = operator(request)
    body, _ = await read_json(request)
    ref = body.get("bank_ref") if isinstance(body, dict) else None
    pool = await request.app[MONEY].get_pool()
    done = await payout_ops.mark_paid(pool, request.match_info["id"], ref, who)  # type: ignore[arg-type]
    if done["paid_now"]:
        done["event_id"] = await payout_ops.announce(request.app[REDIS], done)
    return json_response(done)


async def failed(request: web.Request) -> web.Response:
    who = operator(request)
    body, _ = await read_json(request)
    reason = body.get("reason") if isinstance(body, dict) else None
    pool = await request.app[MONEY].get_pool()
    return json_response(await payout_ops.mark_failed(pool, request.match_info["id"], reason, who))  # type: ignore[arg-type]


async def list_remittances(request: web.Request) -> web.Response:
    operator(request)
    q = request.query
    shop = _int(q["shop"], "shop") if "shop" in q else None
    run_id = _int(q["run"], "run") if "run" in q else None
    limit = min(_int(q.get("limit", "1000"), "limit"), 10_000)
    pool = await request.app[MONEY].get_pool()
    return json_response(await payout_ops.list_remittances(pool, shop, q.get("status"), run_id, limit))


def setup(app: web.Application) -> None:
    app.router.add_post("/v1/operator/remittance-runs", create_run)
    app.router.add_get("/v1/operator/remittance-runs/{id}/payout-file", payout_file)
    app.router.add_get("/v1/operator/remittances", list_remittances)
    app.router.add_post("/v1/operator/remittances/{id}/bank-ref", bank_ref)
    app.router.add_post("/v1/operator/remittances/{id}/failed", failed)
