"""Plans for the gateway: solves run in a process pool, so the event loop only submits and reads.

    service = PlanService()                       # one per gateway process
    plan_id = service.submit("THR-06", date(2026, 11, 29), 10, parcels)   # validates, returns at once
    service.get(plan_id)      # {"plan_id", "status": "running" | "done" | "failed", "plan" | "error"}
    await service.wait(plan_id)                    # the same record once finished
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from collections import OrderedDict
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Callable

import jdatetime

from .errors import InvalidDate, NoParcels, PlanNotFound, RoutingError, SolverFailed, TimeLimitOutOfRange
from .offices import load_registry
from .office_day import Fleet, build_problem, merge_stops, s_to_clock
from .params import SolveParams, Stop
from .solver import evaluate, solve

PLAN_TIME_LIMIT_S = (1.0, 300.0)
GRACE_S = 60.0  # a plan still running this long after its time limit is failed and its worker replaced


@dataclass(frozen=True)
class PlanRequest:
    office_code: str
    day: date
    time_limit_s: float
    parcels: list[dict]
    postmen: int | None = None
    fleet: Fleet = field(default_factory=Fleet)
    seed: int = 1


def validate(request: PlanRequest) -> None:
    """The checks worth answering synchronously (before a worker is busy)."""
    load_registry().get(request.office_code)
    if not isinstance(request.day, date):
        raise InvalidDate(f"date must be YYYY-MM-DD, not {request.day!r}")
    low, high = PLAN_TIME_LIMIT_S
    if not isinstance(request.time_limit_s, (int, float)) or not low <= request.time_limit_s <= high:
        raise TimeLimitOutOfRange(f"time_limit_s must be between {low:g} and {high:g} seconds")
    if not request.parcels:
        raise NoParcels(f"no parcels to deliver for {request.office_code} on {request.day}")


def plan_office_day(request: PlanRequest) -> dict:
    """Solve one office day (runs in a worker process) and return the plan as a JSON-ready dict."""
    validate(request)
    office = load_registry().get(request.office_code)
    fleet = request.fleet if request.postmen is None else replace(request.fleet, postmen=request.postmen)
    stops = merge_stops(office, request.parcels)
    shift = (fleet.shift_start, fleet.shift_end)
    outside = [s for s in stops if s.window and (s.window[1] <= _s(shift[0]) or s.window[0] >= _s(shift[1]))]
    plannable = [s for s in stops if s not in outside]
    unassigned = [{"tracking_number": p["tracking_number"], "reason": "time_window_outside_shift"}
                  for s in outside for p in s.parcels]
    plan = {"office": {k: getattr(office, k) for k in ("code", "name_fa", "name_en", "lat", "lon")},
            "date": request.day.isoformat(),
            "date_jalali": jdatetime.date.fromgregorian(date=request.day).strftime("%Y/%m/%d"),
            "shift": {"start": shift[0], "end": shift[1]}, "postmen": [], "unassigned": unassigned}
    if not plannable:
        raise NoParcels("no parcel can be delivered within the shift")
    problem, metres = build_problem(office, plannable, fleet, len(request.parcels))
    params = SolveParams(stop=Stop(float(request.time_limit_s)), seed=request.seed, allow_drops=True)
    result = solve(problem, params)
    metrics, starts = evaluate(problem, result.routes)
    distance_metrics, _ = _metres(problem, metres, result.routes)
    offset = 0
    for index, route in enumerate(result.routes):
        plan["postmen"].append(_postman(index, route, problem, plannable, starts[offset:offset + len(route)],
                                        metrics[index], int(distance_metrics[index, 0])))
        offset += len(route)
    for node in result.unassigned:
        unassigned += [{"tracking_number": p["tracking_number"], "reason": "no_capacity"}
                       for p in plannable[node - 1].parcels]
    plan["totals"] = {
        "parcels": len(request.parcels), "stops": len(stops), "postmen_used": len(result.routes),
        "postmen_available": problem.n_vehicles,
        "distance_m": sum(p["distance_m"] for p in plan["postmen"]),
        "duration_s": sum(p["duration_s"] for p in plan["postmen"]),
        "travel_s": sum(p["travel_s"] for p in plan["postmen"]),
        "cod_rials": sum(p["cod_rials"] for p in plan["postmen"]),
        "load_kg": round(sum(p["load_kg"] for p in plan["postmen"]), 3)}
    plan["solver"] = {"time_limit_s": request.time_limit_s, "runtime_s": round(result.runtime_s, 3),
                      "feasible": result.feasible, "objective": result.cost,
                      "construction": result.stats.get("construction")}
    return plan


def _s(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def _metres(problem, metres, routes):
    """Route metrics with the metres matrix as the distance (the problem's cost is travel seconds)."""
    return evaluate(replace(problem, distance=metres), routes)


def _postman(index: int, route: list[int], problem, stops, starts, metrics, distance_m: int) -> dict:
    # Leave the office late rather than wait at the first door (the solver's schedule leaves at shift start).
    first_wait = max(0, int(starts[0]) - int(problem.ready[0]) - int(problem.duration[0, route[0]]))
    start_s = int(problem.ready[0]) + first_wait
    end_s = int(problem.ready[0]) + int(metrics[1])
    rows, cash, load = [], 0, int(metrics[2])
    previous, departure = 0, start_s
    for sequence, (node, start) in enumerate(zip(route, starts), 1):
        stop = stops[node - 1]
        arrival = departure + int(problem.duration[previous, node])
        cash += stop.cod_rials
        load -= stop.weight_g
        rows.append({
            "sequence": sequence, "arrival": s_to_clock(arrival), "service_start": s_to_clock(int(start)),
            "arrival_s": arrival, "wait_s": int(start) - arrival, "lat": stop.lat, "lon": stop.lon,
            "postal_code": stop.postal_code, "address": stop.address,
            "parcels": [p["tracking_number"] for p in stop.parcels], "weight_kg": stop.weight_g / 1000,
            "cod_rials": stop.cod_rials, "cash_carried_rials": cash, "load_after_kg": load / 1000,
            "time_window": [s_to_clock(w) for w in stop.window] if stop.window else None})
        departure = int(start) + int(problem.service[node])
        previous = node
    return {"index": index + 1, "start": s_to_clock(start_s), "end": s_to_clock(end_s), "distance_m": distance_m,
            "duration_s": end_s - start_s, "travel_s": int(metrics[0]), "load_kg": int(metrics[2]) / 1000,
            "cod_rials": int(metrics[3]), "stops": rows}


@dataclass
class _Entry:
    future: Future
    deadline: float
    request_summary: dict
    pool: ProcessPoolExecutor


def _consume(waiter: asyncio.Future) -> None:
    """Mark a late outcome as seen (get() reports it), so asyncio does not log it as never retrieved."""
    if not waiter.cancelled():
        waiter.exception()


class PlanService:
    """Process-pool planner. ``submit`` validates and returns a plan id at once; workers do the solving."""

    def __init__(self, max_workers: int = 1, max_plans: int = 256, grace_s: float = GRACE_S,
                 job: Callable[[PlanRequest], dict] = plan_office_day):
        self._max_workers = max_workers
        self._max_plans = max_plans
        self._grace_s = grace_s
        self._job = job  # a module-level function (it is pickled to the workers)
        self._pool = self._new_pool()
        self._queue_end = 0.0  # when the plans submitted so far should be done, were they solved one by one
        self._plans: OrderedDict[str, _Entry] = OrderedDict()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the gateway process has an event loop, threads and open sockets
        return ProcessPoolExecutor(self._max_workers, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, office_code: str, day: date | str, time_limit_s: float, parcels: list[dict],
               postmen: int | None = None, fleet: Fleet | None = None) -> str:
        if isinstance(day, str):
            try:
                day = datetime.strptime(day, "%Y-%m-%d").date()
            except ValueError:
                raise InvalidDate(f"date must be YYYY-MM-DD, not {day!r}") from None
        request = PlanRequest(office_code, day, time_limit_s, list(parcels or []), postmen, fleet or Fleet())
        validate(request)
        merge_stops(load_registry().get(office_code), request.parcels)  # bad parcels are refused now, not later
        plan_id = uuid.uuid4().hex
        try:
            future = self._pool.submit(self._job, request)
        except BrokenProcessPool:
            self._pool = self._new_pool()
            future = self._pool.submit(self._job, request)
        summary = {"office": office_code, "date": day.isoformat(), "time_limit_s": time_limit_s,
                   "parcels": len(request.parcels)}
        # a plan queued behind others is not late for having waited
        self._queue_end = max(time.monotonic(), self._queue_end) + time_limit_s
        self._plans[plan_id] = _Entry(future, self._queue_end + self._grace_s, summary, self._pool)
        while len(self._plans) > self._max_plans:
            self._plans.popitem(last=False)
        return plan_id

    def get(self, plan_id: str) -> dict:
        entry = self._plans.get(plan_id)
        if entry is None:
            raise PlanNotFound(f"no plan {plan_id!r} (unknown or expired)")
        record = {"plan_id": plan_id, **entry.request_summary}
        future = entry.future
        if not future.done():
            if time.monotonic() <= entry.deadline:
                return {**record, "status": "running"}
            self._replace_hung_pool(entry)
            return {**record, "status": "failed", "error": SolverFailed("the planner did not answer in time").to_dict()}
        error = future.exception()
        if error is None:
            return {**record, "status": "done", "plan": {"plan_id": plan_id, **future.result()}}
        if isinstance(error, BrokenProcessPool) and entry.pool is self._pool:
            self._pool = self._new_pool()
        if not isinstance(error, RoutingError):
            error = SolverFailed(f"planner crashed: {type(error).__name__}: {error}")
        return {**record, "status": "failed", "error": error.to_dict()}

    def _replace_hung_pool(self, entry: _Entry) -> None:
        """A worker past its deadline is stuck: stop it so later plans are not queued behind it forever."""
        if entry.pool is not self._pool:
            return
        hung, self._pool = self._pool, self._new_pool()
        self._queue_end = 0.0
        for process in list(getattr(hung, "_processes", {}).values()):  # 3.11 has no public terminate
            process.terminate()
        hung.shutdown(wait=False, cancel_futures=True)

    async def wait(self, plan_id: str) -> dict:
        entry = self._plans.get(plan_id)
        if entry is None:
            raise PlanNotFound(f"no plan {plan_id!r} (unknown or expired)")
        remaining = max(entry.deadline - time.monotonic(), 0.0)
        waiter = asyncio.wrap_future(entry.future)
        waiter.add_done_callback(_consume)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), remaining)
        except Exception:  # the error, if any, is reported by get()
            pass
        return self.get(plan_id)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
