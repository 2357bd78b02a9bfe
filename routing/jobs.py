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
from collections.abc import Callable
from datetime import date, datetime
from datetime import time as clock_time
from typing import Any

import orjson
import redis.asyncio as aioredis

from kernel.errors import BaridError, FieldError, ValidationFailed
from kernel.postal.offices import load_registry
from kernel.postal.text import fa_digits
from kernel.postal.timeutil import IRAN_TIME, iso_ms
from kernel.store import keys
from kernel.store.jobs import StreamWorker
from kernel.store.keys import parcel_history
from returns.planning import plan_exclusion, receiver_for_plan

from .errors import InvalidDate, NoParcels, SolverFailed, TimeLimitOutOfRange
from .office_day import Fleet, clock_to_s
from .pickups import ExtraStops, no_extra_stops
from .service import PLAN_TIME_LIMIT_S, PlanRequest, plan_office_day

log = logging.getLogger("barid.router")

PLAN_TTL_S = 7 * 24 * 3600
MAX_ATTEMPTS = 2
CLAIM_GRACE_MS = 30_000
# Parcels this office will never deliver: finished, or on their way back to the sender.
TERMINAL = {b"delivered", b"returned", b"cancelled", b"returning"}
# A hub's run to its delivery offices: a parcel sorted out of the office's hub this long before the shift starts
# is at the office when postmen load (docs/planning.md).
HUB_TO_OFFICE_S = 4 * 3600


class PlanDateInPast(BaridError):
    code = "plan_date_in_past"
    title = "Plans are made for today or a later day"


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
    today = datetime.now(IRAN_TIME).date()  # the offices' calendar day
    if day < today:
        raise PlanDateInPast(f"date {day.isoformat()} is before today ({today.isoformat()}, Iran time); "
                             "a plan can only be made for today or a later day",
                             f"تاریخ {fa_digits(day.isoformat())} گذشته است؛ برنامهٔ توزیع فقط برای امروز یا "
                             "روزهای بعد ساخته می‌شود")
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
    """The parcels a plan of ``office_code`` for ``day`` carries (``office_parcels``), as the planner wants them."""
    return (await office_parcels(redis, office_code, day))[0]


async def office_parcels(redis: aioredis.Redis, office_code: str, day: date,
                         shift_start: str = Fleet.shift_start) -> tuple[list[dict], list[dict]]:
    """(parcels a plan for ``day`` carries, parcels due by ``day`` that it cannot, each with its reason).

    A plan carries a parcel that is at the office when the shift starts (docs/planning.md): its latest scan is
    ``arrived_delivery_office`` or ``delivery_failed`` at this office, or ``sorting_out`` at the office's hub at
    least ``HUB_TO_OFFICE_S`` before the shift starts. Any such parcel is carried, even one expected later;
    a parcel expected by ``day`` that is anywhere else (not handed in, between hubs, out with a postman) is
    reported as ``not_at_office``. Finished and returning parcels leave the office's list. A parcel its
    failed-delivery case holds at the counter, or schedules for a later day, is left out (``returns.planning``)."""
    office = load_registry().get(office_code)
    due_key = keys.office_due(office_code)
    entries = [(t.decode(), int(score)) for t, score in await redis.zrange(due_key, 0, -1, withscores=True)]
    if not entries:
        return [], []
    shift_ms = int(datetime.combine(day, clock_time(), IRAN_TIME).timestamp() * 1000) + clock_to_s(shift_start) * 1000
    due_by = int(day.strftime("%Y%m%d"))
    pipe = redis.pipeline(transaction=False)
    for tn, _ in entries:
        pipe.get(keys.tracking_index(tn))
    shops = await pipe.execute()
    found = [(tn, score, int(shop)) for (tn, score), shop in zip(entries, shops) if shop is not None]
    finished = [tn for (tn, _), shop in zip(entries, shops) if shop is None]
    pipe = redis.pipeline(transaction=False)
    for tn, _, shop in found:
        pipe.hget(keys.parcel(shop, tn), "status")
    candidates, not_here = [], []
    for (tn, score, shop), status in zip(found, await pipe.execute()):
        if status is None or status in TERMINAL:
            finished.append(tn)
        elif status in (b"in_transit", b"failed_attempt"):
            candidates.append((tn, score, shop))
        elif score <= due_by:
            not_here.append({"tracking_number": tn, "reason": "not_at_office", "status": status.decode()})
    pipe = redis.pipeline(transaction=False)
    for tn, _, shop in candidates:
        pipe.hgetall(keys.parcel(shop, tn))
    parcels = []
    for (tn, score, _), h in zip(candidates, await pipe.execute()):
        if not h:
            finished.append(tn)
            continue
        history = parcel_history(h)
        last = orjson.loads(history[-1]) if history else {}
        kind, where = last.get("type"), last.get("office")
        occurred_ms = int(datetime.fromisoformat(last["occurred_at"]).timestamp() * 1000) if history else 0
        here = (kind in ("arrived_delivery_office", "delivery_failed") and where == office.code) or (
            kind == "sorting_out" and where == office.hub and occurred_ms + HUB_TO_OFFICE_S * 1000 <= shift_ms)
        if here and plan_exclusion(h, day):
            continue  # its failed-delivery case keeps it off this day's plan (held, or due on a later date)
        if here:
            d = orjson.loads(h[b"doc"])
            parcels.append({"tracking_number": tn, "weight_g": d["parcel"]["weight_g"],
                            "receiver": receiver_for_plan(h, d["receiver"]), "payment": d["payment"]})
        elif score <= due_by:
            not_here.append({"tracking_number": tn, "reason": "not_at_office", "status": h[b"status"].decode()})
    if finished:
        await redis.zrem(due_key, *finished)
    return parcels, not_here


def _solve(record: dict, parcels: list[dict], not_here: list[dict], extra: list[dict] | None = None) -> dict:
    request = PlanRequest(record["office"], date.fromisoformat(record["date"]), float(record["time_limit_s"]),
                          parcels, record.get("postmen"), extra_stops=list(extra or []))
    plan = plan_office_day(request)
    plan["unassigned"] += not_here
    plan["totals"]["parcels"] += len(not_here)
    return plan


class PlanWorker(StreamWorker):
    """One router process: takes plan jobs from the stream and solves them one at a time.

    ``extra_stops`` (``routing.pickups``) gives the pickups an office's postmen make that day; passed in at
    assembly by the feature that books them (the router never imports it)."""

    stream = keys.PLAN_JOBS
    group = keys.PLAN_GROUP
    name = "router"

    def __init__(self, redis: aioredis.Redis, consumer: str | None = None, block_ms: int = 1000,
                 extra_stops: ExtraStops | None = None) -> None:
        # A job another worker has held longer than any plan may run: that worker died.
        super().__init__(redis, consumer, block_ms, int(PLAN_TIME_LIMIT_S[1] * 1000) + CLAIM_GRACE_MS)
        self.extra_stops = extra_stops or no_extra_stops

    async def handle(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        plan_id = fields[b"id"].decode()
        raw = await self.redis.get(keys.plan(plan_id))
        if raw is None:  # expired or never stored: nothing to do
            await self.ack(entry_id)
            return
        record = orjson.loads(raw)
        record["attempts"] = record.get("attempts", 0) + 1
        if record["attempts"] > MAX_ATTEMPTS:
            record.update(status="failed", error=SolverFailed("the planner died on this plan twice").to_dict())
        else:
            record.update(status="running", started_at=iso_ms(time.time()))
            await self.redis.set(keys.plan(plan_id), orjson.dumps(record), ex=PLAN_TTL_S)
            try:
                day = date.fromisoformat(record["date"])
                parcels, not_here = await office_parcels(self.redis, record["office"], day)
                extra = await self.extra_stops(record["office"], day)
                if not parcels and not extra:
                    raise NoParcels(f"no parcels at {record['office']} for {record['date']}"
                                    + (f" ({len(not_here)} due there have not arrived)" if not_here else ""))
                # Solving holds the CPU for up to the time limit: off the loop, so the worker stays responsive.
                plan = await asyncio.to_thread(_solve, record, parcels, not_here, extra)
                record.update(status="done", plan={"plan_id": plan_id, **plan}, finished_at=iso_ms(time.time()))
            except BaridError as exc:  # the planner's errors, and the office network's (a bad postal code)
                record.update(status="failed", error={"code": exc.code, "message": exc.detail},
                              finished_at=iso_ms(time.time()))
            except Exception as exc:  # a solver bug must fail the plan, not the worker
                log.exception("plan %s failed", plan_id)
                record.update(status="failed", error=SolverFailed(f"{type(exc).__name__}: {exc}").to_dict())
        await self.redis.set(keys.plan(plan_id), orjson.dumps(record), ex=PLAN_TTL_S)
        await self.ack(entry_id)


def serve(redis_url: str, *, burst: bool = False, cluster: bool = False,
          extra_stops_for: Callable[[aioredis.Redis], ExtraStops] | None = None) -> int:
    """Entry point of a router process (a supervisor role, or ``python -m routing worker``).

    ``extra_stops_for(redis)`` makes the pickups provider from the process's store client (none: deliveries
    only)."""
    import uvloop

    from kernel.store.client import async_client

    async def main() -> int:
        redis = async_client(redis_url, cluster=cluster)
        try:
            extra = extra_stops_for(redis) if extra_stops_for else None
            return await PlanWorker(redis, extra_stops=extra).run(burst=burst)
        finally:
            await redis.aclose()

    return uvloop.run(main())
