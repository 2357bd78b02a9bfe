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
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import orjson
from aiohttp import web

from booking import batches
from booking.app_keys import BOOKING
from booking.auth import require_caller
from booking.idempotency import idempotent
from booking.service import ShipmentNotFound
from kernel.app_keys import CONFIG, REDIS
from kernel.errors import BaridError, Conflict, FieldError, NotFound, validation_failed
from kernel.http import json_response, read_json
from kernel.postal.s10 import is_valid
from kernel.postal.text import fa_digits
from kernel.postal.timeutil import iso_ms, parse_iso
from kernel.store import keys
from kernel.tasks import stop_task
from routing.errors import RoutingError
from tracking.app_keys import TRACKING
from tracking.staff import STAFF_AUTH

from . import (
    jobs,
    manifest_list,
    manifests,
    pickup_web,
)
from .acceptance import accept_all
from .labels import CONTENT_TYPES, FORMATS, SIZES, ZPL_SIZES, Label, render
from .pickup_web import not_waiting, pickup_parcels, settle_from_manifest

PRINTS_FIELD = "label_prints"  # on the parcel hash: how many labels were sent
_EXECUTOR = web.AppKey("handover_executor", ThreadPoolExecutor)
_WORKER = web.AppKey("handover_label_worker", asyncio.Task)


class ParcelCancelled(Conflict):
    code = "label_parcel_cancelled"
    title = "A cancelled parcel gets no label"


class LabelJobTooLarge(BaridError):
    code = "label_job_too_large"
    title = "A label job holds at most 5,000 parcels"


class LabelJobEmpty(BaridError):
    code = "label_job_empty"
    title = "No parcel to print in that range"


class LabelJobNotFound(NotFound):
    code = "label_job_not_found"
    title = "No such label job"


class LabelJobBatchNotFound(NotFound):
    code = "label_job_batch_not_found"
    title = "No such booking batch"


class LabelJobNotReady(Conflict):
    code = "label_job_not_ready"
    title = "The label job has not finished"


class ManifestNotFound(NotFound):
    code = "manifest_not_found"
    title = "No such manifest"


class ManifestParcelsTaken(Conflict):
    code = "manifest_parcels_taken"
    title = "Parcels are already on an open manifest"


class ManifestEmpty(BaridError):
    code = "manifest_empty"
    title = "No parcel to hand over that day"


def public_base(request: web.Request) -> str:
    """Where buyers reach the tracking page: BARID_PUBLIC_URL (behind a proxy), else the origin the shop called."""
    return request.app[CONFIG].public_url or str(request.url.origin()).rstrip("/")


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


# -- bulk label jobs ---------------------------------------------------------------------------------------------

_FA_MAX = "۵٬۰۰۰"


def _job_errors(body) -> tuple[list[FieldError], str, str]:
    errors: list[FieldError] = []
    if not isinstance(body, dict):
        return [FieldError("", "type_object", "Must be a JSON object.", "باید شیء JSON باشد.")], "", ""
    fmt = body.get("format", "pdf")
    size = body.get("size", "a4-2up" if fmt == "pdf" else "100x150")
    if not isinstance(fmt, str) or not isinstance(size, str):
        errors.append(FieldError("format", "type_string", "format and size must be strings.",
                                 "قالب و اندازه باید رشته باشند."))
        return errors, "", ""
    if fmt == "png":
        errors.append(FieldError("format", "enum", "A label job makes one PDF or one ZPL stream: pdf or zpl.",
                                 "خروجی کار گروهی برچسب یک فایل PDF یا ZPL است: pdf یا zpl."))
    errors += _query_errors(fmt, size)
    has_tns, has_range = "tracking_numbers" in body, "booked_between" in body
    if has_tns + has_range + ("batch_id" in body) != 1:
        errors.append(FieldError("tracking_numbers", "one_of",
                                 "Give exactly one of tracking_numbers, booked_between or batch_id.",
                                 "دقیقاً یکی از tracking_numbers یا booked_between یا batch_id را بفرستید."))
    elif "batch_id" in body:
        if not isinstance(body["batch_id"], str) or not body["batch_id"]:
            errors.append(FieldError("batch_id", "type_string", "Must be the batch_id a batch booking answered.",
                                     "باید شناسهٔ دسته‌ای باشد که پاسخ ثبت گروهی داده است."))
    elif has_tns:
        tns = body["tracking_numbers"]
        if not isinstance(tns, list) or not tns or not all(isinstance(t, str) for t in tns):
            errors.append(FieldError("tracking_numbers", "type_array", "Must be a non-empty array of strings.",
                                     "باید فهرستی ناتهی از شماره‌های رهگیری باشد."))
    else:
        rng = body["booked_between"]
        ok = isinstance(rng, dict) and isinstance(rng.get("from"), str) and isinstance(rng.get("to"), str)
        if ok:
            try:
                ok = parse_iso(rng["from"]) <= parse_iso(rng["to"])
            except ValueError:
                ok = False
        if not ok:
            errors.append(FieldError("booked_between", "range_invalid",
                                     "Must be {from, to}: ISO 8601 times with a zone, from not after to.",
                                     "باید {from, to} با زمان‌های ISO 8601 دارای منطقهٔ زمانی باشد و from پس از to "
                                     "نباشد."))
    return errors, fmt, size


def _too_large(count: int) -> LabelJobTooLarge:
    return LabelJobTooLarge(f"{count} parcels asked for; a label job holds at most {jobs.MAX_ITEMS}",
                            f"{count} مرسوله درخواست شده است؛ هر کار گروهی برچسب حداکثر {_FA_MAX} مرسوله دارد")


async def _booked_between(redis, shop_id: int, rng: dict) -> list[str]:
    """The shop's parcels booked in the range, oldest first, cancelled ones left out (nothing to print)."""
    lo = "[%013d" % int(parse_iso(rng["from"]) * 1000)
    hi = "(%013d" % (int(parse_iso(rng["to"]) * 1000) + 1)
    pipe = redis.pipeline(transaction=False)
    for status in keys.STATUSES:
        if status != "cancelled":
            pipe.zrange(keys.shop_status_index(shop_id, status), lo, hi, bylex=True, offset=0,
                        num=jobs.MAX_ITEMS + 1)
    members = sorted({m for found in await pipe.execute() for m in found})
    return [m.decode().split(":", 1)[1] for m in members]


async def post_label_job(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    body, raw = await read_json(request)
    app = request.app
    booking = app[BOOKING]

    async def produce() -> tuple[int, bytes]:
        errors, fmt, size = _job_errors(body)
        if errors:
            await booking.authorize(caller)
            raise validation_failed(errors)
        problems: list[dict] = []
        batch = None
        if "batch_id" in body:
            batch = await batches.parcels(app[REDIS], caller.shop.id, body["batch_id"].strip().upper())
            if batch is None:
                await booking.authorize(caller)
                raise LabelJobBatchNotFound(
                    f"no booking batch {body['batch_id'][:40]} of this shop (kept {batches.TTL_S // 86400} days)",
                    f"دستهٔ ثبت گروهی با این شناسه در این فروشگاه یافت نشد (شناسهٔ هر دسته "
                    f"{fa_digits(str(batches.TTL_S // 86400))} روز نگه داشته می‌شود)")
        if batch is not None or "tracking_numbers" in body:
            seen: dict[str, None] = {}
            for t in batch if batch is not None else body["tracking_numbers"]:
                seen.setdefault(t.strip().upper(), None)
            if len(seen) > jobs.MAX_ITEMS:
                await booking.authorize(caller)
                raise _too_large(len(seen))
            tns = []
            for tn in seen:
                if is_valid(tn):
                    tns.append(tn)
                else:
                    problems.append(jobs._problem(tn[:20], "shipment_not_found", f"no shipment {tn[:20]} in this shop",
                                                  "مرسوله در این فروشگاه یافت نشد"))
        else:
            tns = await _booked_between(app[REDIS], caller.shop.id, body["booked_between"])
            if len(tns) > jobs.MAX_ITEMS:
                await booking.authorize(caller)
                raise _too_large(len(tns))
            if not tns:
                await booking.authorize(caller)
                raise LabelJobEmpty("no parcel of this shop that can be printed was booked in that range",
                                    "در این بازه مرسولهٔ قابل چاپی از این فروشگاه ثبت نشده است")
        await booking.authorize(caller)
        record = await jobs.create_job(app[REDIS], caller.shop.id, fmt, size, tns, problems, public_base(request))
        return 202, orjson.dumps(jobs.public_view(record, public_base(request)))

    return await idempotent(request, caller, raw, produce)


async def _job(request: web.Request) -> dict:
    caller = await require_caller(request)
    job_id = request.match_info["job_id"]
    record, _ = await asyncio.gather(jobs.get_job(request.app[REDIS], caller.shop.id, job_id),
                                     request.app[BOOKING].authorize(caller))
    if record is None:
        raise LabelJobNotFound(f"no label job {job_id[:40]} in this shop",
                               "کار گروهی برچسب با این شناسه در این فروشگاه یافت نشد")
    return record


async def get_label_job(request: web.Request) -> web.Response:
    record = await _job(request)
    return json_response(jobs.public_view(record, public_base(request)))


async def get_label_job_file(request: web.Request) -> web.Response:
    record = await _job(request)
    if record["status"] != "done":
        raise LabelJobNotReady(f"label job {record['job_id']} is {record['status']}; its file is not ready",
                               "کار گروهی برچسب هنوز تمام نشده و فایل آن آماده نیست")
    body = await request.app[REDIS].get(jobs.file_key(record["shop_id"], record["job_id"])) or b""
    ext = record["format"]
    return web.Response(body=body, content_type=CONTENT_TYPES[ext], headers={
        "Content-Disposition": f'attachment; filename="{record["job_id"]}-{record["size"]}.{ext}"'})


# -- manifests ---------------------------------------------------------------------------------------------------

def _manifest_errors(body) -> list[FieldError]:
    if not isinstance(body, dict):
        return [FieldError("", "type_object", "Must be a JSON object.", "باید شیء JSON باشد.")]
    if sum(k in body for k in ("tracking_numbers", "date", "pickup_id")) != 1:
        return [FieldError("tracking_numbers", "one_of", "Give exactly one of tracking_numbers, date or pickup_id.",
                           "دقیقاً یکی از tracking_numbers یا date یا pickup_id را بفرستید.")]
    if "pickup_id" in body:
        return [] if isinstance(body["pickup_id"], str) else [
            FieldError("pickup_id", "type_string", "Must be a string.", "باید رشته باشد.")]
    if "date" in body:
        try:
            datetime.strptime(body["date"], "%Y-%m-%d")
        except (TypeError, ValueError):
            return [FieldError("date", "date_invalid", "Must be a date, YYYY-MM-DD (Iran time).",
                               "تاریخ باید به شکل YYYY-MM-DD باشد.")]
        return []
    tns = body["tracking_numbers"]
    if (not isinstance(tns, list) or not 1 <= len(tns) <= manifests.MAX_PARCELS
            or not all(isinstance(t, str) for t in tns)):
        return [FieldError("tracking_numbers", "type_array",
                           f"Must be an array of 1 to {manifests.MAX_PARCELS} tracking numbers.",
                           f"باید فهرستی از ۱ تا {manifests.MAX_PARCELS} شمارهٔ رهگیری باشد.")]
    return []


async def _manifest_parcels(redis, shop_id: int, tns: list[str]) -> tuple[list[dict], list[FieldError]]:
    pipe = redis.pipeline(transaction=False)
    for tn in tns:
        pipe.hmget(keys.parcel(shop_id, tn), (b"doc", b"status"))
    docs, errors = [], []
    for i, (tn, (doc, status)) in enumerate(zip(tns, await pipe.execute())):
        error = not_waiting(f"tracking_numbers[{i}]", tn, None if doc is None else status)
        if error is not None:
            errors.append(error)
        else:
            docs.append(orjson.loads(doc))
    return docs, errors


async def _booked_on(redis, shop_id: int, day: str) -> list[str]:
    """The shop's parcels booked that day (Iran time) and not handed over, not on an open manifest."""
    start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=manifests.IRAN)
    lo, hi = int(start.timestamp() * 1000), int((start + timedelta(days=1)).timestamp() * 1000)
    found = await redis.zrange(keys.shop_status_index(shop_id, "pre_transit"), "[%013d" % lo, "(%013d" % hi,
                               bylex=True)
    tns = [m.decode().split(":", 1)[1] for m in sorted(found)][:manifests.MAX_PARCELS]
    if not tns:
        return []
    taken = await redis.hmget(manifests.manifested_key(shop_id), tns)
    return [tn for tn, m in zip(tns, taken) if m is None]


async def post_manifest(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    body, raw = await read_json(request)
    app = request.app
    booking, redis = app[BOOKING], app[REDIS]
    shop_id = caller.shop.id

    async def produce() -> tuple[int, bytes]:
        errors = _manifest_errors(body)
        if errors:
            await booking.authorize(caller)
            raise validation_failed(errors)
        pickup_id = None
        if "pickup_id" in body:
            pickup_id, tns = await pickup_parcels(app, caller, body["pickup_id"])
        elif "date" in body:
            tns = await _booked_on(redis, shop_id, body["date"])
            if not tns:
                await booking.authorize(caller)
                raise ManifestEmpty(f"no parcel booked on {body['date']} waits for handover",
                                    "در آن روز مرسوله‌ای ثبت نشده که منتظر تحویل به پست باشد")
        else:
            tns = list(dict.fromkeys(t.strip().upper() for t in body["tracking_numbers"]))
        docs, errors = await _manifest_parcels(redis, shop_id, tns)
        await booking.authorize(caller)
        if errors:
            raise validation_failed(errors)
        manifest_id = manifests.new_manifest_id(shop_id)
        record = manifests.make_record(manifest_id, shop_id, caller.shop.name, docs)
        if pickup_id is not None:
            record["pickup_id"] = pickup_id
        taken = await redis.eval(manifests.CREATE, 3, manifests.manifested_key(shop_id),
                                 manifests.manifest_key(shop_id, manifest_id), manifests.shop_manifests_key(shop_id),
                                 manifest_id, orjson.dumps(record), manifests.TTL_S,
                                 int(parse_iso(record["created_at"]) * 1000), *record["tracking_numbers"])
        if taken:
            pairs = [{"tracking_number": taken[i].decode(), "manifest_id": taken[i + 1].decode()}
                     for i in range(0, len(taken), 2)]
            names = ", ".join(p["tracking_number"] for p in pairs[:20])
            raise ManifestParcelsTaken(f"already on an open manifest: {names}",
                                       f"این مرسوله‌ها در فهرست تحویل باز دیگری هستند: {names}",
                                       extra={"manifested": pairs})
        return 201, orjson.dumps(manifests.view(record, public_base(request)))

    return await idempotent(request, caller, raw, produce)


async def _shop_manifest(request: web.Request) -> dict:
    caller = await require_caller(request)
    manifest_id = request.match_info["manifest_id"]
    raw = None
    if manifests.shop_of(manifest_id) == caller.shop.id:
        raw = await request.app[REDIS].get(manifests.manifest_key(caller.shop.id, manifest_id))
    await request.app[BOOKING].authorize(caller)
    if raw is None:
        raise ManifestNotFound(f"no manifest {manifest_id[:40]} in this shop",
                               "فهرست تحویلی با این شماره در این فروشگاه یافت نشد")
    return orjson.loads(raw)


async def get_manifest(request: web.Request) -> web.Response:
    return json_response(manifests.view(await _shop_manifest(request), public_base(request)))


async def get_manifest_pdf(request: web.Request) -> web.Response:
    record = await _shop_manifest(request)
    loop = asyncio.get_running_loop()
    body = await loop.run_in_executor(request.app[_EXECUTOR], manifests.render_pdf, record)
    return web.Response(body=body, content_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{record["manifest_id"]}.pdf"'})


async def accept_manifest(request: web.Request) -> web.Response:
    """Staff scanned the manifest's barcode: every listed parcel (or those of ``present`` that are listed) gets its
    own ``accepted`` scan through the scan service, as if scanned alone."""
    t = request.app[TRACKING]
    staff = await request.app[STAFF_AUTH](request)
    body, _ = await read_json(request) if request.can_read_body else ({}, b"")
    present = body.get("present") if isinstance(body, dict) else None
    if present is not None and (not isinstance(present, list) or not all(isinstance(p, str) for p in present)
                                or len(present) > manifests.MAX_PARCELS):
        raise validation_failed([FieldError("present", "type_array", "Must be an array of tracking numbers.",
                                            "باید فهرستی از شماره‌های رهگیری باشد.")])
    manifest_id = request.match_info["manifest_id"].strip().upper()
    shop_id = manifests.shop_of(manifest_id)
    raw = await request.app[REDIS].get(manifests.manifest_key(shop_id, manifest_id)) if shop_id is not None else None
    if raw is None:
        raise ManifestNotFound(f"no manifest {manifest_id[:40]}", "فهرست تحویلی با این شماره یافت نشد")
    record = orjson.loads(raw)
    listed = record["tracking_numbers"]
    seen = set(t.strip().upper() for t in present) if present is not None else set(listed)
    to_accept = [tn for tn in listed if tn in seen]
    # A manifest is handed over once: a repeated call scans at the same moment with the same scan ids, so the
    # scan service answers duplicates instead of refusing a reused scan id.
    now = parse_iso(record["accepted_at"]) if record.get("accepted_at") else time.time()
    accepted, missing = await accept_all(t, staff, to_accept, f"mf:{manifest_id}", now)
    for tn in listed:
        if tn not in seen:
            missing.append({"tracking_number": tn, "code": "not_presented",
                            "detail": "listed on the manifest but not handed over",
                            "detail_fa": "در فهرست تحویل آمده ولی تحویل داده نشده است"})
    unexpected = sorted(seen - set(listed))
    if record["status"] == "open":
        record.update(status="accepted", accepted_at=iso_ms(now), accepted_by={"office": staff.office,
                                                                                "staff_id": staff.id},
                      accepted_count=len(accepted))
        await request.app[REDIS].eval(manifests.CLOSE, 2, manifests.manifested_key(shop_id),
                                      manifests.manifest_key(shop_id, manifest_id), manifest_id, orjson.dumps(record),
                                      *listed)
    answer = {"manifest_id": manifest_id, "office": staff.office, "accepted": accepted, "missing": missing,
              "unexpected": unexpected}
    if record.get("pickup_id"):  # a manifest made from a pickup: scanning it collects the pickup
        answer["pickup"] = await settle_from_manifest(request.app, staff, record, accepted, missing)
    return json_response(answer)


async def _ctx(app: web.Application) -> AsyncIterator[None]:
    executor = app[_EXECUTOR] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="labels")
    booking = app[BOOKING]
    worker = jobs.LabelJobWorker(app[REDIS], lambda doc, url: _label(booking, doc, url))
    app[_WORKER] = asyncio.get_running_loop().create_task(_run_worker(worker))
    yield
    await stop_task(app[_WORKER])
    executor.shutdown(wait=False, cancel_futures=True)


async def _run_worker(worker: jobs.LabelJobWorker) -> None:
    """The gateway process's label worker: restarts after a store error rather than dying with it."""
    while True:
        try:
            await worker.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            jobs.log.exception("label worker stopped; restarting")
            await asyncio.sleep(1)


def setup(app: web.Application) -> None:
    """Add the label routes (after the gateway's store context: they use the store client and the booking
    service) and the process's label-job worker."""
    app.cleanup_ctx.append(_ctx)
    app.router.add_get("/v1/shipments/{tracking_number}/label", get_label)
    app.router.add_post("/v1/label-jobs", post_label_job)
    app.router.add_get("/v1/label-jobs/{job_id}", get_label_job)
    app.router.add_get("/v1/label-jobs/{job_id}/file", get_label_job_file)
    app.router.add_post("/v1/manifests", post_manifest)
    app.router.add_get("/v1/manifests", manifest_list.list_manifests)
    app.router.add_get("/v1/manifests/{manifest_id}", get_manifest)
    app.router.add_get("/v1/manifests/{manifest_id}/pdf", get_manifest_pdf)
    app.router.add_post("/v1/manifests/{manifest_id}/accept", accept_manifest)
    pickup_web.setup(app)
