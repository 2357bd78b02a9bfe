"""Delivery plans through the store: the gateway queues a plan and answers at once; router workers solve.

A plan request becomes a record ``keys.plan(id)`` (status ``queued``) and an entry in the ``keys.PLAN_JOBS``
stream. Router workers (any number, any machine) read the stream in one consumer group, gather the office's
parcels due that day from the store, solve in their own process, and store the plan. A worker that dies
mid-solve leaves its entry pending; another claims it (XAUTOCLAIM) once it has been idle longer than the plan's
time limit plus a grace, and after ``MAX_ATTEMPTS`` the plan is marked failed. Nothing about a plan lives in a
gateway process, so any gateway worker answers for any plan.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import date, datetime
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from gateway import keys
from gateway.errors import FieldError, ValidationFailed
from gateway.timeutil import iso_ms

from .errors import InvalidDate, NoParcels, RoutingError, SolverFailed, TimeLimitOutOfRange
from .offices import load_registry
from .service import PLAN_TIME_LIMIT_S, PlanRequest, plan_office_day

log = logging.getLogger("barid.router")

PLAN_TTL_S = 7 * 24 * 3600
MAX_ATTEMPTS = 2
CLAIM_GRACE_MS = 30_000
TERMINAL = {b"delivered", b"returned", b"cancelled"}


def parse_day(value: Any) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except (TypeError, ValueError):
        raise InvalidDate(f"date must be YYYY-MM-DD, not {str(value)[:40]!r}") from None


async def submit_plan(redis: aioredis.Redis, office_code: str, body: Any) -> dict:
    """Validate and queue a plan; returns its record (status ``queued``)."""
    office = load_registry().get(office_code)
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object", "بدنه باید یک شیء JSON باشد",
                               errors=[FieldError("", "type_object", "Must be a JSON object.", "باید شیء JSON باشد.")])
    day = parse_day(body.get("date"))
    limit = body.get("time_limit_s", 10)
    low, high = PLAN_TIME_LIMIT_S
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not low <= limit <= high:
        raise TimeLimitOutOfRange(f"time_limit_s must be a number from {low:g} to {high:g}")
    postmen = body.get("postmen")
    if postmen is not None and (isinstance(postmen, bool) or not isinstance(postmen, int) or not 1 <= postmen <= 200):
        raise ValidationFailed("postmen must be an integer from 1 to 200", "تعداد نامه‌رسان نامعتبر است",
                               errors=[FieldError("postmen", "out_of_range", "Must be an integer from 1 to 200.",
                                                  "باید عددی صحیح از ۱ تا ۲۰۰ باشد.")])
    plan_id = uuid.uuid4().hex
    record = {"plan_id": plan_id, "office": office.code, "date": day.isoformat(), "time_limit_s": limit,
              "postmen": postmen, "status": "queued", "requested_at": iso_ms(time.time())}
    await redis.set(keys.plan(plan_id), orjson.dumps(record), ex=PLAN_TTL_S)
    await redis.xadd(keys.PLAN_JOBS, {"id": plan_id}, maxlen=100_000, approximate=True)
    return record


async def get_plan(redis: aioredis.Redis, office_code: str, plan_id: str) -> dict | None:
    raw = await redis.get(keys.plan(plan_id)) if len(plan_id) <= 64 else None
    if raw is None:
        return None
    record = orjson.loads(raw)
    return record if record["office"] == office_code else None


async def due_parcels(redis: aioredis.Redis, office_code: str, day: date) -> list[dict]:
    """The office's parcels expected on or before ``day`` and not yet finished, as the planner wants them."""
    due_key = keys.office_due(office_code)
    tns = [t.decode() for t in await redis.zrangebyscore(due_key, "-inf", int(day.strftime("%Y%m%d")))]
    if not tns:
        return []
    pipe = redis.pipeline(transaction=False)
    for tn in tns:
        pipe.get(keys.tracking_index(tn))
    shops = await pipe.execute()
    pipe = redis.pipeline(transaction=False)
    found = [(tn, int(shop)) for tn, shop in zip(tns, shops) if shop is not None]
    for tn, shop in found:
        pipe.hmget(keys.parcel(shop, tn), "doc", "status")
    parcels, finished = [], [tn for tn, shop in zip(tns, shops) if shop is None]
    for (tn, _), (doc, status) in zip(found, await pipe.execute()):
        if doc is None or status in TERMINAL:
            finished.append(tn)
            continue
        d = orjson.loads(doc)
        parcels.append({"tracking_number": tn, "weight_g": d["parcel"]["weight_g"], "receiver": d["receiver"],
                        "payment": d["payment"]})
    if finished:
        await redis.zrem(due_key, *finished)
    return parcels


def _solve(record: dict, parcels: list[dict]) -> dict:
    request = PlanRequest(record["office"], date.fromisoformat(record["date"]), float(record["time_limit_s"]),
                          parcels, record.get("postmen"))
    return plan_office_day(request)


class PlanWorker:
    """One router process: takes plan jobs from the stream and solves them one at a time."""

    def __init__(self, redis: aioredis.Redis, consumer: str | None = None, block_ms: int = 1000) -> None:
        self.redis = redis
        self.consumer = consumer or f"router-{uuid.uuid4().hex[:8]}"
        self.block_ms = block_ms

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(keys.PLAN_JOBS, keys.PLAN_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self, *, burst: bool = False) -> int:
        """Solve jobs until cancelled; with ``burst`` return once none is waiting. Returns plans finished."""
        await self.ensure_group()
        done = 0
        while True:
            entries = await self._claim_stale() or await self._read_new(0 if burst else self.block_ms)
            if not entries:
                if burst:
                    return done
                continue
            for entry_id, fields in entries:
                await self._handle(entry_id, fields[b"id"].decode())
                done += 1

    async def _read_new(self, block_ms: int) -> list:
        reply = await self.redis.xreadgroup(keys.PLAN_GROUP, self.consumer, {keys.PLAN_JOBS: ">"}, count=1,
                                            block=block_ms or None)
        return reply[0][1] if reply else []

    async def _claim_stale(self) -> list:
        """Jobs another worker took and has held longer than any plan may run: it died."""
        idle = int((PLAN_TIME_LIMIT_S[1]) * 1000) + CLAIM_GRACE_MS
        _, entries, *_ = await self.redis.xautoclaim(keys.PLAN_JOBS, keys.PLAN_GROUP, self.consumer, idle,
                                                      start_id="0-0", count=1)
        return [e for e in entries if e[1]]

    async def _handle(self, entry_id: bytes, plan_id: str) -> None:
        raw = await self.redis.get(keys.plan(plan_id))
        if raw is None:  # expired or never stored: nothing to do
            await self.redis.xack(keys.PLAN_JOBS, keys.PLAN_GROUP, entry_id)
            return
        record = orjson.loads(raw)
        record["attempts"] = record.get("attempts", 0) + 1
        if record["attempts"] > MAX_ATTEMPTS:
            record.update(status="failed", error=SolverFailed("the planner died on this plan twice").to_dict())
        else:
            record.update(status="running", started_at=iso_ms(time.time()))
            await self.redis.set(keys.plan(plan_id), orjson.dumps(record), ex=PLAN_TTL_S)
            try:
                parcels = await due_parcels(self.redis, record["office"], date.fromisoformat(record["date"]))
                if not parcels:
                    raise NoParcels(f"no parcels due at {record['office']} by {record['date']}")
                # Solving holds the CPU for up to the time limit: off the loop, so the worker stays responsive.
                plan = await asyncio.to_thread(_solve, record, parcels)
                record.update(status="done", plan={"plan_id": plan_id, **plan}, finished_at=iso_ms(time.time()))
            except RoutingError as exc:
                record.update(status="failed", error=exc.to_dict(), finished_at=iso_ms(time.time()))
            except Exception as exc:  # a solver bug must fail the plan, not the worker
                log.exception("plan %s failed", plan_id)
                record.update(status="failed", error=SolverFailed(f"{type(exc).__name__}: {exc}").to_dict())
        await self.redis.set(keys.plan(plan_id), orjson.dumps(record), ex=PLAN_TTL_S)
        await self.redis.xack(keys.PLAN_JOBS, keys.PLAN_GROUP, entry_id)


def serve(redis_url: str, *, burst: bool = False, cluster: bool = False) -> int:
    """Entry point of a router process (a supervisor role, or ``python -m routing worker``)."""
    import uvloop

    from gateway.store import async_client

    async def main() -> int:
        redis = async_client(redis_url, cluster=cluster)
        try:
            return await PlanWorker(redis).run(burst=burst)
        finally:
            await redis.aclose()

    return uvloop.run(main())
