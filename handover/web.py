"""Handover routes: a shop prints the label of its own parcel.

``GET /v1/shipments/{tracking_number}/label?format=pdf|zpl|png&size=100x150|a6|a5|a4-2up``

Authentication and ownership are the shipment read's: the shop's API key, and a parcel of another shop (or none)
is a 404. A cancelled parcel gets no label (409). The label is re-printable: its ETag is a digest of what is
printed on it, so ``If-None-Match`` answers 304 without rendering; every label sent (200) adds one to the
parcel's ``label_prints`` field (HINCRBY on the parcel's own hash: one key, one slot).

``setup(app)`` adds the route and a one-thread executor the rendering runs in (it is CPU work: the event loop
keeps serving while a label is drawn, and the font objects are never used by two threads at once).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from gateway import keys
from gateway.app_keys import BOOKING, REDIS
from gateway.auth import require_caller
from gateway.booking import ShipmentNotFound
from gateway.errors import Conflict, FieldError
from gateway.s10 import is_valid
from gateway.web_shipments import validation_failed
from routing.errors import RoutingError

from . import api_spec  # noqa: F401  (documents these routes)
from .labels import CONTENT_TYPES, FORMATS, SIZES, ZPL_SIZES, Label, render

PRINTS_FIELD = "label_prints"  # on the parcel hash: how many labels were sent
_EXECUTOR = web.AppKey("handover_executor", ThreadPoolExecutor)


class ParcelCancelled(Conflict):
    code = "label_parcel_cancelled"
    title = "A cancelled parcel gets no label"


def public_base(request: web.Request) -> str:
    """Where buyers reach the tracking page: BARID_PUBLIC_URL (behind a proxy), else the origin the shop called."""
    return (os.environ.get("BARID_PUBLIC_URL") or str(request.url.origin())).rstrip("/")


def _query_errors(fmt: str, size: str) -> list[FieldError]:
    errors = []
    if fmt not in FORMATS:
        errors.append(FieldError("format", "enum", f"Must be one of: {', '.join(FORMATS)}.",
                                 f"قالب برچسب باید یکی از {'، '.join(FORMATS)} باشد."))
    if size not in SIZES:
        errors.append(FieldError("size", "enum", f"Must be one of: {', '.join(SIZES)}.",
                                 f"اندازهٔ برچسب باید یکی از {'، '.join(SIZES)} باشد."))
    elif fmt == "zpl" and size not in ZPL_SIZES:
        errors.append(FieldError("size", "size_not_for_format",
                                 f"ZPL is for thermal rolls: size must be one of {', '.join(ZPL_SIZES)}.",
                                 f"برچسب ZPL برای چاپگر حرارتی است و اندازهٔ آن باید یکی از "
                                 f"{'، '.join(ZPL_SIZES)} باشد."))
    return errors


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    return header.strip() == "*" or etag in {t.strip().removeprefix("W/") for t in header.split(",")}


async def get_label(request: web.Request) -> web.StreamResponse:
    caller = await require_caller(request)
    app = request.app
    booking = app[BOOKING]
    fmt, size = request.query.get("format", "pdf"), request.query.get("size", "100x150")
    tn = request.match_info["tracking_number"].strip().upper()
    errors = _query_errors(fmt, size)
    if errors or not is_valid(tn):
        await booking.authorize(caller)  # a stranger learns nothing about the input before the key is checked
        if errors:
            raise validation_failed(errors)
        raise ShipmentNotFound(f"no shipment {tn[:20]} in this shop", "مرسوله در این فروشگاه یافت نشد")
    parcel_key = keys.parcel(caller.shop.id, tn)
    _, (doc, status) = await asyncio.gather(booking.authorize(caller),
                                            app[REDIS].hmget(parcel_key, (b"doc", b"status")))
    if doc is None:
        raise ShipmentNotFound(f"no shipment {tn} in this shop", f"مرسوله {tn} در این فروشگاه یافت نشد")
    if status == b"cancelled":
        raise ParcelCancelled(f"shipment {tn} is cancelled; it has no label to print",
                              f"مرسوله {tn} لغو شده است و برچسبی برای چاپ ندارد")
    label = _label(booking, doc, f"{public_base(request)}/track/{tn}")
    etag = f'"{label.digest()}-{fmt}-{size}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if _etag_matches(request.headers.get("If-None-Match"), etag):
        return web.Response(status=304, headers=headers)
    loop = asyncio.get_running_loop()
    body = await loop.run_in_executor(app[_EXECUTOR], render, [label], fmt, size)
    prints = await app[REDIS].hincrby(parcel_key, PRINTS_FIELD, 1)
    headers["X-Label-Print-Count"] = str(prints)
    headers["Content-Disposition"] = f'inline; filename="{tn}-{size}.{fmt}"'
    return web.Response(body=body, headers=headers, content_type=CONTENT_TYPES[fmt])


def _label(booking, raw_doc: bytes, url: str) -> Label:
    import orjson

    doc = orjson.loads(raw_doc)
    registry = booking.network.registry
    code = doc.get("delivering_office") or ""
    try:
        office_name = registry.get(code).name_fa
    except (RoutingError, KeyError):
        office_name = ""
    return Label.from_shipment(doc, url, office_name, doc.get("route") or ())


async def _ctx(app: web.Application) -> AsyncIterator[None]:
    executor = app[_EXECUTOR] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="labels")
    yield
    executor.shutdown(wait=False, cancel_futures=True)


def setup(app: web.Application) -> None:
    """Add the label route (after the gateway's store context: it uses the store client and the booking service)."""
    app.cleanup_ctx.append(_ctx)
    app.router.add_get("/v1/shipments/{tracking_number}/label", get_label)
