"""Bulk label jobs as a shop uses them: 202 and a job, progress and per-item problems, one PDF (A4 2-up) or ZPL
stream to download whose barcodes decode, Idempotency-Key, the limits, and a job left running by a dead worker
finished by another."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime, timedelta, timezone

import orjson
import pypdfium2 as pdfium
import zxingcpp
from yarl import URL

from handover import jobs
from handover.labels import Label
from handover.web import PRINTS_FIELD
from kernel.store import keys
from tests.conftest import shipment_body


async def _book(client, shop, **overrides) -> str:
    resp = await client.post("/v1/shipments", json=shipment_body(**overrides), headers=shop.headers)
    assert resp.status == 201, await resp.text()
    return (await resp.json())["tracking_number"]


async def _wait_done(client, shop, job_id: str, timeout: float = 30) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        resp = await client.get(f"/v1/label-jobs/{job_id}", headers=shop.headers)
        assert resp.status == 200, await resp.text()
        job = await resp.json()
        if job["status"] in ("done", "failed") or asyncio.get_running_loop().time() > deadline:
            return job
        await asyncio.sleep(0.05)


async def test_a_pdf_job_prints_the_good_parcels_and_names_the_others(app_client, shop, make_shop, redis):
    tns = [await _book(app_client, shop) for _ in range(3)]
    cancelled = await _book(app_client, shop)
    assert (await app_client.post(f"/v1/shipments/{cancelled}/cancel", headers=shop.headers)).status == 200
    other = await make_shop("other")
    foreign = await _book(app_client, other)
    asked = [*tns, cancelled, foreign, "EE000000000IR", "nonsense"]
    resp = await app_client.post("/v1/label-jobs", json={"tracking_numbers": asked}, headers=shop.headers)
    assert resp.status == 202, await resp.text()
    job = await resp.json()
    assert job["status"] == "queued" and job["format"] == "pdf" and job["size"] == "a4-2up"
    assert job["total"] == len(asked)
    early = await app_client.get(f"/v1/label-jobs/{job['job_id']}/file", headers=shop.headers)
    assert early.status in (200, 409)  # a fast worker may already be done
    job = await _wait_done(app_client, shop, job["job_id"])
    assert job["status"] == "done" and job["done"] == job["total"] == len(asked) and job["printed"] == 3
    problems = {p["tracking_number"]: p["code"] for p in job["problems"]}
    assert problems == {cancelled: "label_parcel_cancelled", foreign: "shipment_not_found",
                        "EE000000000IR": "shipment_not_found", "NONSENSE": "shipment_not_found"}
    assert all(p["detail_fa"] for p in job["problems"])
    assert job["file"].endswith(f"/v1/label-jobs/{job['job_id']}/file")
    resp = await app_client.get(f"/v1/label-jobs/{job['job_id']}/file", headers=shop.headers)
    assert resp.status == 200 and resp.content_type == "application/pdf"
    doc = pdfium.PdfDocument(await resp.read())
    assert len(doc) == 2  # three labels, two to an A4 page
    found = []
    for page in doc:
        found += [r.text for r in zxingcpp.read_barcodes(page.render(scale=200 / 72).to_pil())
                  if r.format.name == "Code128"]
    assert sorted(found) == sorted(tns)
    for tn in tns:  # each label sent is a print
        assert int(await redis.hget(keys.parcel(shop.id, tn), PRINTS_FIELD)) == 1
    # Another shop sees neither the job nor its file.
    for path in (f"/v1/label-jobs/{job['job_id']}", f"/v1/label-jobs/{job['job_id']}/file"):
        resp = await app_client.get(path, headers=other.headers)
        assert resp.status == 404 and (await resp.json())["code"] == "label_job_not_found"
    # Kept 7 days, in the shop's partition.
    key = jobs.job_key(shop.id, job["job_id"])
    assert key.startswith(keys.tag(shop.id)) and jobs.file_key(shop.id, job["job_id"]).startswith(keys.tag(shop.id))
    assert 6 * 86400 < await redis.ttl(key) <= 7 * 86400
    assert 6 * 86400 < await redis.ttl(jobs.file_key(shop.id, job["job_id"])) <= 7 * 86400


async def test_a_zpl_job_by_booking_time(app_client, shop, make_shop):
    start = datetime.now(timezone.utc) - timedelta(seconds=1)
    tns = [await _book(app_client, shop) for _ in range(3)]
    await _book(app_client, await make_shop("other"))  # not this shop's
    end = datetime.now(timezone.utc) + timedelta(seconds=1)
    body = {"booked_between": {"from": start.isoformat(), "to": end.isoformat()}, "format": "zpl"}
    resp = await app_client.post("/v1/label-jobs", json=body, headers=shop.headers)
    assert resp.status == 202, await resp.text()
    job = await _wait_done(app_client, shop, (await resp.json())["job_id"])
    assert job["status"] == "done" and job["printed"] == 3 and job["problems"] == [] and job["size"] == "100x150"
    resp = await app_client.get(URL(job["file"]).path, headers=shop.headers)
    zpl = (await resp.read()).decode("ascii")
    assert resp.content_type == "application/zpl" and zpl.count("^XA") == 3
    assert sorted(re.findall(r"\^BC[^^]*\^FD([^^]*)\^FS", zpl)) == sorted(tns)
    # A range with nothing in it is refused.
    past = {"booked_between": {"from": "2001-01-01T00:00:00Z", "to": "2001-01-02T00:00:00Z"}}
    resp = await app_client.post("/v1/label-jobs", json=past, headers=shop.headers)
    assert resp.status == 422 and (await resp.json())["code"] == "label_job_empty"


async def test_idempotency_key_replays_the_same_job(app_client, shop):
    tn = await _book(app_client, shop)
    headers = {**shop.headers, "Idempotency-Key": uuid.uuid4().hex}
    first = await app_client.post("/v1/label-jobs", json={"tracking_numbers": [tn]}, headers=headers)
    again = await app_client.post("/v1/label-jobs", json={"tracking_numbers": [tn]}, headers=headers)
    assert first.status == again.status == 202
    assert (await first.json())["job_id"] == (await again.json())["job_id"]
    other = await app_client.post("/v1/label-jobs", json={"tracking_numbers": [tn], "format": "zpl"},
                                  headers=headers)
    assert other.status == 409 and (await other.json())["code"] == "idempotency_key_reused"


async def test_bad_jobs_are_refused_and_store_nothing(app_client, shop, redis):
    before = await redis.xlen(jobs.JOBS_STREAM) if await redis.exists(jobs.JOBS_STREAM) else 0
    too_many = [f"EE{i:09d}IR" for i in range(jobs.MAX_ITEMS + 1)]
    resp = await app_client.post("/v1/label-jobs", json={"tracking_numbers": too_many}, headers=shop.headers)
    problem = await resp.json()
    assert resp.status == 422 and problem["code"] == "label_job_too_large" and "۵٬۰۰۰" in problem["detail_fa"]
    for body, field in (({}, "tracking_numbers"), ({"tracking_numbers": []}, "tracking_numbers"),
                        ({"tracking_numbers": ["EE000000000IR"], "format": "eps"}, "format"),
                        ({"tracking_numbers": ["EE000000000IR"], "format": "png"}, "format"),
                        ({"tracking_numbers": ["EE000000000IR"], "format": "zpl", "size": "a4-2up"}, "size"),
                        ({"booked_between": {"from": "yesterday", "to": "today"}}, "booked_between")):
        resp = await app_client.post("/v1/label-jobs", json=body, headers=shop.headers)
        problem = await resp.json()
        assert resp.status == 422 and problem["code"] == "validation_failed", body
        assert field in {e["field"] for e in problem["errors"]}, problem
    after = await redis.xlen(jobs.JOBS_STREAM) if await redis.exists(jobs.JOBS_STREAM) else 0
    assert after == before
    resp = await app_client.get("/v1/label-jobs/lj_00000000000000000000", headers=shop.headers)
    assert resp.status == 404 and (await resp.json())["code"] == "label_job_not_found"
    assert (await app_client.post("/v1/label-jobs", json={"tracking_numbers": ["x"]})).status == 401


async def test_a_job_left_running_by_a_dead_worker_is_finished_by_another(app_client, shop, redis):
    tns = [await _book(app_client, shop) for _ in range(2)]
    stream = f"test:labeljobs:{uuid.uuid4().hex}"  # its own stream: the app's worker does not race this test

    def label_of(doc: bytes, url: str) -> Label:
        return Label.from_shipment(orjson.loads(doc), url, "", ())

    record = await jobs.create_job(redis, shop.id, "pdf", "100x150", tns, [], "http://x", stream=stream)
    dead = jobs.LabelJobWorker(redis, label_of, consumer="dead", stream=stream)
    await dead.ensure_group()
    [(entry_id, _)] = await dead._read_new(100)  # taken, then the process dies: pending, never acknowledged
    raw = orjson.loads(await redis.get(jobs.job_key(shop.id, record["job_id"])))
    raw.update(status="running", attempts=1)
    await redis.set(jobs.job_key(shop.id, record["job_id"]), orjson.dumps(raw), keepttl=True)
    await asyncio.sleep(0.06)
    alive = jobs.LabelJobWorker(redis, label_of, consumer="alive", stream=stream, claim_idle_ms=50)
    assert await alive.run(burst=True) == 1
    done = orjson.loads(await redis.get(jobs.job_key(shop.id, record["job_id"])))
    assert done["status"] == "done" and done["printed"] == 2 and done["attempts"] == 2
    pdf = pdfium.PdfDocument(await redis.get(jobs.file_key(shop.id, record["job_id"])))
    assert len(pdf) == 2
    assert (await redis.xpending(stream, jobs.JOBS_GROUP))["pending"] == 0
    await redis.delete(stream)


async def test_a_booking_batch_prints_by_its_id(app_client, shop, make_shop, redis):
    items = [shipment_body(), shipment_body(), {"service": "nonsense"}]
    resp = await app_client.post("/v1/shipments/batch", json={"shipments": items}, headers=shop.headers)
    batch = await resp.json()
    booked = [r["shipment"]["tracking_number"] for r in batch["results"] if r["result"] == "booked"]
    assert batch["batch_id"] and len(booked) == 2 and batch["rejected"] == 1
    resp = await app_client.post("/v1/label-jobs", json={"batch_id": batch["batch_id"], "format": "zpl"},
                                 headers=shop.headers)
    assert resp.status == 202, await resp.text()
    job = await _wait_done(app_client, shop, (await resp.json())["job_id"])
    assert job["status"] == "done" and job["printed"] == 2 and job["problems"] == []
    zpl = (await (await app_client.get(URL(job["file"]).path, headers=shop.headers)).read()).decode("ascii")
    assert re.findall(r"\^BC[^^]*\^FD([^^]*)\^FS", zpl) == booked  # the batch's order
    # Another shop's batch, or none, is not found; with another selector it is a field error. Nothing is stored.
    stranger = await make_shop("other")
    before = await redis.dbsize()
    for who, body, status, code in ((stranger, {"batch_id": batch["batch_id"]}, 404, "label_job_batch_not_found"),
                                    (shop, {"batch_id": "BNOSUCHBATCH"}, 404, "label_job_batch_not_found"),
                                    (shop, {"batch_id": batch["batch_id"], "tracking_numbers": booked}, 422,
                                     "validation_failed")):
        resp = await app_client.post("/v1/label-jobs", json=body, headers=who.headers)
        problem = await resp.json()
        assert resp.status == status and problem["code"] == code and problem["detail_fa"], problem
    assert "دسته" in problem["detail_fa"] or problem["errors"][0]["field"] == "tracking_numbers"
    assert await redis.dbsize() == before
