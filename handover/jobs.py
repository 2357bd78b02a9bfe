"""Bulk label jobs: a shop asks for up to ``MAX_ITEMS`` labels at once and downloads one PDF or ZPL stream.

``POST /v1/label-jobs`` stores a job record and adds its id to the ``JOBS_STREAM`` stream; label workers (a task in
every gateway process, ``LabelJobWorker``) read the stream in one consumer group, render, and store the file. A
worker that dies mid-job leaves its entry pending; another claims it (XAUTOCLAIM) once it has been idle longer than
``CLAIM_IDLE_MS`` (a live worker keeps its entry fresh by claiming it again as it progresses), and after
``MAX_ATTEMPTS`` the job is marked failed. So a job left ``running`` by a dead process is finished by the next.

Keys: the job record and its file live in the shop's hash-tag partition (``{pN}:labeljob:<shop>:<id>`` and
``...:file``, one slot with the shop's parcels) and expire ``JOB_TTL_S`` (7 days) after the job was made. The
stream is one key. A parcel that cannot be printed (unknown, another shop's, cancelled) is a per-item problem of
the job; the job still prints the others.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

import orjson
import redis.asyncio as aioredis

from kernel.postal.timeutil import iso_ms
from kernel.store import keys
from kernel.store.jobs import StreamWorker

from .labels import CONTENT_TYPES, Label, render, render_pdf

log = logging.getLogger("barid.labels")

MAX_ITEMS = 5000
JOB_TTL_S = 7 * 24 * 3600
JOBS_STREAM = "barid:labels:jobs"
JOBS_GROUP = "labelers"
MAX_ATTEMPTS = 3
CLAIM_IDLE_MS = 60_000
CHUNK = 250  # labels read from the store, and ZPL labels rendered, per step
PROGRESS_EVERY_S = 0.5
PRINTS_FIELD = "label_prints"


def job_key(shop_id: int, job_id: str) -> str:
    """String JSON: the job record {job_id, status, format, size, tracking_numbers, total, done, problems, ...}."""
    return f"{keys.tag(shop_id)}:labeljob:{shop_id}:{job_id}"


def file_key(shop_id: int, job_id: str) -> str:
    """String: the job's rendered PDF or ZPL."""
    return f"{keys.tag(shop_id)}:labeljob:{shop_id}:{job_id}:file"


def new_job_id() -> str:
    return "lj_" + secrets.token_hex(10)


def public_view(record: dict[str, Any], base: str) -> dict[str, Any]:
    view = {k: record.get(k) for k in ("job_id", "status", "format", "size", "total", "done", "printed",
                                        "created_at", "started_at", "finished_at", "expires_at")}
    view["problems"] = record.get("problems", [])
    if record.get("error"):
        view["error"] = record["error"]
    view["file"] = f"{base}/v1/label-jobs/{record['job_id']}/file" if record["status"] == "done" else None
    return view


async def create_job(redis: aioredis.Redis, shop_id: int, fmt: str, size: str, tracking_numbers: list[str],
                     problems: list[dict[str, Any]], base: str, stream: str = JOBS_STREAM) -> dict[str, Any]:
    now = time.time()
    job_id = new_job_id()
    record = {"job_id": job_id, "shop_id": shop_id, "status": "queued", "format": fmt, "size": size,
              "tracking_numbers": tracking_numbers, "total": len(tracking_numbers) + len(problems), "done": 0,
              "printed": 0, "problems": problems, "created_at": iso_ms(now), "expires_at": iso_ms(now + JOB_TTL_S),
              "attempts": 0, "base": base}
    await redis.set(job_key(shop_id, job_id), orjson.dumps(record), ex=JOB_TTL_S)
    await redis.xadd(stream, {"shop": str(shop_id), "id": job_id}, maxlen=100_000, approximate=True)
    return record


async def get_job(redis: aioredis.Redis, shop_id: int, job_id: str) -> dict[str, Any] | None:
    if not job_id.startswith("lj_") or len(job_id) > 40:
        return None
    raw = await redis.get(job_key(shop_id, job_id))
    return orjson.loads(raw) if raw is not None else None


def _problem(tn: str, code: str, detail: str, detail_fa: str) -> dict[str, str]:
    return {"tracking_number": tn, "code": code, "detail": detail, "detail_fa": detail_fa}


class LabelJobWorker(StreamWorker):
    """Takes label jobs from the stream and renders them, one at a time, off the event loop."""

    group = JOBS_GROUP
    name = "labeler"

    def __init__(self, redis: aioredis.Redis, label_of, consumer: str | None = None, block_ms: int = 1000,
                 claim_idle_ms: int = CLAIM_IDLE_MS, stream: str = JOBS_STREAM) -> None:
        super().__init__(redis, consumer, block_ms, claim_idle_ms)
        self.stream = stream
        self.label_of = label_of  # (raw doc bytes, tracking URL) -> Label

    async def _save(self, record: dict[str, Any]) -> None:
        key = job_key(record["shop_id"], record["job_id"])
        await self.redis.set(key, orjson.dumps(record), keepttl=True)

    async def handle(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        shop_id, job_id = int(fields[b"shop"]), fields[b"id"].decode()
        raw = await self.redis.get(job_key(shop_id, job_id))
        if raw is None:  # expired: nothing to do
            await self.ack(entry_id)
            return
        record = orjson.loads(raw)
        if record["status"] in ("done", "failed"):
            await self.ack(entry_id)
            return
        record["attempts"] = record.get("attempts", 0) + 1
        if record["attempts"] > MAX_ATTEMPTS:
            record.update(status="failed", finished_at=iso_ms(time.time()),
                          error={"code": "label_job_failed", "detail": "the label job failed on every attempt"})
            await self._save(record)
            await self.ack(entry_id)
            return
        record.update(status="running", started_at=iso_ms(time.time()), done=len(record["problems"]))
        await self._save(record)
        await self._render(entry_id, record)
        await self.ack(entry_id)

    async def _render(self, entry_id: bytes, record: dict[str, Any]) -> None:
        shop_id, fmt, size = record["shop_id"], record["format"], record["size"]
        problems = list(record["problems"])
        labels: list[Label] = []
        printable: list[str] = []
        tns = record["tracking_numbers"]
        for i in range(0, len(tns), CHUNK):
            chunk = tns[i:i + CHUNK]
            pipe = self.redis.pipeline(transaction=False)
            for tn in chunk:
                pipe.hmget(keys.parcel(shop_id, tn), (b"doc", b"status"))
            for tn, (doc, status) in zip(chunk, await pipe.execute()):
                if doc is None:
                    problems.append(_problem(tn, "shipment_not_found", f"no shipment {tn} in this shop",
                                             f"مرسوله {tn} در این فروشگاه یافت نشد"))
                elif status == b"cancelled":
                    problems.append(_problem(tn, "label_parcel_cancelled",
                                             f"shipment {tn} is cancelled; it has no label to print",
                                             f"مرسوله {tn} لغو شده است و برچسبی برای چاپ ندارد"))
                else:
                    labels.append(self.label_of(doc, f"{record['base']}/track/{tn}"))
                    printable.append(tn)
        # ZPL streams concatenate, so they are rendered in pieces; a PDF is one document drawn in one pass off the
        # loop, its progress read from the drawing thread meanwhile.
        if fmt == "zpl":
            parts = []
            for i in range(0, len(labels), CHUNK):
                parts.append(await asyncio.to_thread(render, labels[i:i + CHUNK], fmt, size))
                record.update(done=len(problems) + min(len(labels), i + CHUNK), problems=problems)
                await self._save(record)
                await self._keep_claim(entry_id)
            body = b"".join(parts)
        elif labels:
            drawn = [0]
            task = asyncio.ensure_future(asyncio.to_thread(render_pdf, labels, size, progress=drawn))
            while not task.done():
                await asyncio.wait({task}, timeout=PROGRESS_EVERY_S)
                if not task.done():
                    record.update(done=len(problems) + drawn[0], problems=problems)
                    await self._save(record)
                    await self._keep_claim(entry_id)
            body = task.result()
        else:
            body = b""
        pipe = self.redis.pipeline(transaction=False)
        for tn in printable:
            pipe.hincrby(keys.parcel(shop_id, tn), PRINTS_FIELD, 1)
        pipe.set(file_key(shop_id, record["job_id"]), body, ex=_ttl_left(record))
        await pipe.execute()
        record.update(status="done", done=record["total"], printed=len(printable), problems=problems,
                      finished_at=iso_ms(time.time()), content_type=CONTENT_TYPES[fmt])
        await self._save(record)

    async def _keep_claim(self, entry_id: bytes) -> None:
        """Claiming our own entry resets its idle time: no other worker takes a job that is progressing."""
        await self.redis.xclaim(self.stream, JOBS_GROUP, self.consumer, 0, [entry_id], justid=True)


def _ttl_left(record: dict[str, Any]) -> int:
    from kernel.postal.timeutil import parse_iso

    return max(60, int(parse_iso(record["expires_at"]) - time.time()))
