"""The office's label of a return leg: the parcel is in the office's hands when its case returns it, so the office
prints the leg's label (the labels feature's renderer) and sticks it over the original's.

* ``GET /v1/offices/{code}/return-labels/{tracking_number}`` (``format``: pdf, png, zpl): staff of the office
  the leg starts from (its ``origin_office``), for a return to sender only (a buyer's return is labelled by the
  shop, ``GET /v1/shipments/{tracking_number}/label``).
"""

from __future__ import annotations

import asyncio
import re

import orjson
from aiohttp import web

from handover.labels import CONTENT_TYPES, Label, render
from kernel.app_keys import CONFIG, REDIS
from kernel.errors import FieldError, Forbidden, NotFound, validation_failed
from kernel.postal.offices import load_registry
from kernel.postal.s10 import is_valid
from kernel.store import keys
from tracking.scans import OfficeNotAllowed
from tracking.staff import STAFF_AUTH

_FORMAT = re.compile(r"pdf|png|zpl")
SIZE = "100x150"


class ReturnLegNotFound(NotFound):
    code = "return_leg_not_found"
    title = "No return leg with this tracking number"


class ReturnLabelNotHere(Forbidden):
    code = "return_label_not_here"
    title = "Only the office a return leg starts from prints its label"


def _not_found(tn: str) -> ReturnLegNotFound:
    return ReturnLegNotFound(f"no return leg {tn[:20]}", f"مرسولهٔ بازگشتی {tn[:20]} یافت نشد")


async def get_return_label(request: web.Request) -> web.Response:
    staff = await request.app[STAFF_AUTH](request)
    code = request.match_info["code"]
    if staff.office != code:
        raise OfficeNotAllowed(f"staff of {staff.office} cannot act for {code[:16]}",
                               "کارمند فقط برای ادارهٔ خود می‌تواند اقدام کند")
    fmt = request.query.get("format", "pdf")
    if not _FORMAT.fullmatch(fmt):
        raise validation_failed([FieldError("format", "format_invalid", "Must be pdf, png or zpl.",
                                            "قالب باید pdf، png یا zpl باشد.")])
    tn = request.match_info["tracking_number"].strip().upper()
    if not is_valid(tn):
        raise _not_found(tn)
    redis = request.app[REDIS]
    shop = await redis.get(keys.tracking_index(tn))
    if shop is None:
        raise _not_found(tn)
    doc_raw, kind = await redis.hmget(keys.parcel(int(shop), tn), "doc", "return_kind")
    if doc_raw is None or kind != b"return_to_sender":
        raise _not_found(tn)
    doc = orjson.loads(doc_raw)
    if doc["origin_office"] != staff.office:
        raise ReturnLabelNotHere(f"{tn} starts from {doc['origin_office']}; its label is printed there",
                                 f"برچسب مرسولهٔ بازگشتی {tn} در ادارهٔ مبدأ آن ({doc['origin_office']}) چاپ می‌شود",
                                 extra={"origin_office": doc["origin_office"]})
    office = load_registry().offices.get(doc["delivering_office"])
    office_name = office.name_fa if office is not None else ""
    base = request.app[CONFIG].public_url or str(request.url.origin()).rstrip("/")
    label = Label.from_shipment(doc, f"{base}/track/{tn}", office_name, doc.get("route") or ())
    body = await asyncio.get_running_loop().run_in_executor(None, render, [label], fmt, SIZE)
    return web.Response(body=body, content_type=CONTENT_TYPES[fmt], headers={
        "Content-Disposition": f'inline; filename="{tn}-{SIZE}.{fmt}"', "Cache-Control": "private, no-cache"})


def setup(app: web.Application) -> None:
    app.router.add_get("/v1/offices/{code}/return-labels/{tracking_number}", get_return_label)
