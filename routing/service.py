"""One office day planned: the request, its checks, and the plan as a JSON-ready dict.

Router workers (``routing.jobs``) call ``plan_office_day`` in their own processes, so no solve ever runs on
the gateway's event loop; ``python -m routing plan`` calls it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

import jdatetime

from kernel.postal.offices import load_registry

from .errors import InvalidDate, NoParcels, TimeLimitOutOfRange
from .office_day import Fleet, build_problem, merge_stops, s_to_clock, split_stops
from .params import SolveParams, Stop
from .pickups import pickup_stops
from .solver import evaluate, solve

PLAN_TIME_LIMIT_S = (1.0, 300.0)


@dataclass(frozen=True)
class PlanRequest:
    office_code: str
    day: date
    time_limit_s: float
    parcels: list[dict]
    postmen: int | None = None
    fleet: Fleet = field(default_factory=Fleet)
    seed: int = 1
    extra_stops: list[dict] = field(default_factory=list)  # pickups from the provider (routing.pickups)


def validate(request: PlanRequest) -> None:
    """The checks worth answering synchronously (before a worker is busy)."""
    load_registry().get(request.office_code)
    if not isinstance(request.day, date):
        raise InvalidDate(f"date must be YYYY-MM-DD, not {request.day!r}")
    low, high = PLAN_TIME_LIMIT_S
    if not isinstance(request.time_limit_s, (int, float)) or not low <= request.time_limit_s <= high:
        raise TimeLimitOutOfRange(f"time_limit_s must be between {low:g} and {high:g} seconds")
    if not request.parcels and not request.extra_stops:
        raise NoParcels(f"no parcels to deliver for {request.office_code} on {request.day}")


def plan_office_day(request: PlanRequest) -> dict:
    """Solve one office day (runs in a worker process) and return the plan as a JSON-ready dict."""
    validate(request)
    office = load_registry().get(request.office_code)
    fleet = request.fleet if request.postmen is None else replace(request.fleet, postmen=request.postmen)
    stops = merge_stops(office, request.parcels) if request.parcels else []
    shift = (fleet.shift_start, fleet.shift_end)
    outside = [s for s in stops if s.window and (s.window[1] <= _s(shift[0]) or s.window[0] >= _s(shift[1]))]
    plannable = [s for s in stops if s not in outside]
    unassigned = [{"tracking_number": p["tracking_number"], "reason": "time_window_outside_shift"}
                  for s in outside for p in s.parcels]
    plan = {"office": {k: getattr(office, k) for k in ("code", "name_fa", "name_en", "lat", "lon")},
            "date": request.day.isoformat(),
            "date_jalali": jdatetime.date.fromgregorian(date=request.day).strftime("%Y/%m/%d"),
            "shift": {"start": shift[0], "end": shift[1]}, "postmen": [], "unassigned": unassigned}
    # Stops too big for one postman become parts that several share; parcels no postman can carry are reported.
    plannable, too_big = split_stops(office, plannable, fleet)
    unassigned += too_big
    # Pickups ride on the same routes: the parcels collected come back to the office with the postman.
    pickups, pickups_out = pickup_stops(request.extra_stops, fleet)
    plannable += pickups
    unassigned += pickups_out
    if not plannable:
        raise NoParcels("no parcel can be delivered within the shift")
    problem, metres = build_problem(office, plannable, fleet, len(request.parcels) + len(pickups))
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
        if plannable[node - 1].kind == "pickup":
            unassigned.append({"pickup_id": plannable[node - 1].pickup_id, "kind": "pickup", "reason": "no_capacity"})
        unassigned += [{"tracking_number": p["tracking_number"], "reason": "no_capacity"}
                       for p in plannable[node - 1].parcels]
    plan["totals"] = {
        "parcels": len(request.parcels), "stops": len(stops), "postmen_used": len(result.routes),
        "postmen_available": problem.n_vehicles,
        "distance_m": sum(p["distance_m"] for p in plan["postmen"]),
        "duration_s": sum(p["duration_s"] for p in plan["postmen"]),
        "travel_s": sum(p["travel_s"] for p in plan["postmen"]),
        "cod_rials": sum(p["cod_rials"] for p in plan["postmen"]),
        "load_kg": round(sum(p["load_kg"] for p in plan["postmen"]), 3),
        "pickups": len(request.extra_stops),
        "pickup_parcels": sum(p["pickup_parcels"] for p in plan["postmen"])}
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
    # on board leaving the office: every delivery of the route; pickups come on board on the way
    rows, cash, load = [], 0, sum(stops[node - 1].weight_g for node in route)
    previous, departure, last_group = 0, start_s, None
    for node, start in zip(route, starts):
        stop = stops[node - 1]
        arrival = departure + int(problem.duration[previous, node])
        cash += stop.cod_rials
        load += stop.pickup_g - stop.weight_g
        departure = int(start) + int(problem.service[node])
        previous = node
        if stop.kind == "pickup":
            rows.append({
                "sequence": len(rows) + 1, "kind": "pickup", "arrival": s_to_clock(arrival),
                "service_start": s_to_clock(int(start)), "arrival_s": arrival, "wait_s": int(start) - arrival,
                "lat": stop.lat, "lon": stop.lon, "postal_code": "", "address": stop.address, "city": "",
                "receivers": [{"name": stop.label, "phone": stop.phone}] if stop.label or stop.phone else [],
                "parcels": [], "weight_kg": 0, "cod_rials": 0, "cash_carried_rials": cash,
                "load_after_kg": load / 1000,
                "time_window": [s_to_clock(w) for w in stop.window] if stop.window else None, "split_parts": 1,
                "pickup": {"id": stop.pickup_id, "label": stop.label, "expected_count": stop.expected,
                           "load_kg": stop.pickup_g / 1000}})
            last_group = stop.group
            continue
        if stop.parts > 1 and stop.group == last_group:  # parts of one stop in a row: one visit, one row
            row = rows[-1]
            row["parcels"] += [p["tracking_number"] for p in stop.parcels]
            row["receivers"] += [r for r in _receivers(stop.parcels) if r not in row["receivers"]]
            row["weight_kg"] = round(row["weight_kg"] + stop.weight_g / 1000, 3)
            row.update(cod_rials=row["cod_rials"] + stop.cod_rials, cash_carried_rials=cash,
                       load_after_kg=load / 1000)
            continue
        last_group = stop.group
        first = stop.parcels[0].get("receiver") or {}
        rows.append({
            "sequence": len(rows) + 1, "kind": "delivery", "arrival": s_to_clock(arrival),
            "service_start": s_to_clock(int(start)),
            "arrival_s": arrival, "wait_s": int(start) - arrival, "lat": stop.lat, "lon": stop.lon,
            "postal_code": stop.postal_code, "address": stop.address, "city": str(first.get("city") or ""),
            "receivers": _receivers(stop.parcels),
            "parcels": [p["tracking_number"] for p in stop.parcels], "weight_kg": stop.weight_g / 1000,
            "cod_rials": stop.cod_rials, "cash_carried_rials": cash, "load_after_kg": load / 1000,
            "time_window": [s_to_clock(w) for w in stop.window] if stop.window else None,
            "split_parts": stop.parts})
    return {"index": index + 1, "start": s_to_clock(start_s), "end": s_to_clock(end_s), "distance_m": distance_m,
            "duration_s": end_s - start_s, "travel_s": int(metrics[0]),
            "load_kg": sum(stops[node - 1].weight_g for node in route) / 1000,
            "peak_load_kg": int(metrics[2]) / 1000, "cod_rials": int(metrics[3]),
            "pickup_parcels": sum(stops[node - 1].expected for node in route), "stops": rows}


def _receivers(parcels: list[dict]) -> list[dict]:
    """Who to ask for at a stop: each distinct receiver name and phone (with its case's address notes), in booking
    order."""
    out: list[dict] = []
    for parcel in parcels:
        receiver = parcel.get("receiver") or {}
        who = {"name": str(receiver.get("name") or ""), "phone": str(receiver.get("phone") or "")}
        if receiver.get("address_notes"):  # a failed-delivery case's notes (returns.planning): for the postman
            who["address_notes"] = str(receiver["address_notes"])
        if who not in out:
            out.append(who)
    return out
