"""Pickups on an office's day plan: stops where a postman collects parcels from a shop on a delivery route.

The router does not know where pickups come from: a feature that books them passes an async provider
``extra_stops(office_code, day) -> list[dict]`` to the router workers (``routing.jobs.PlanWorker``), each dict
``{"id", "kind": "pickup", "lat", "lon", "load" (parcels to collect), "window": [from_min, to_min] or None,
"label"}`` with, optionally, ``address`` and ``phone``. A pickup is planned with the deliveries on the same
routes: the parcels collected ride back to the office, so the load rises there (``Problem.pickup``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from .office_day import Fleet, Stop, clock_to_s

ExtraStops = Callable[[str, date], Awaitable[list[dict]]]


async def no_extra_stops(office_code: str, day: date) -> list[dict]:
    """The default provider: a plan has deliveries only."""
    return []


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _checked(item) -> str | None:
    """Why a provider's pickup cannot be planned, or None (a bad one is reported, the plan goes on)."""
    if not isinstance(item, dict) or item.get("kind") != "pickup" or not item.get("id"):
        return "invalid_pickup"
    if not (_number(item.get("lat")) and _number(item.get("lon"))
            and -90 <= item["lat"] <= 90 and -180 <= item["lon"] <= 180):
        return "invalid_pickup"
    load = item.get("load")
    if not isinstance(load, int) or isinstance(load, bool) or load < 1:
        return "invalid_pickup"
    window = item.get("window")
    if window is not None and not (isinstance(window, (list, tuple)) and len(window) == 2
                                   and all(isinstance(v, int) and not isinstance(v, bool) for v in window)
                                   and 0 <= window[0] < window[1] <= 24 * 60):
        return "invalid_pickup"
    return None


def pickup_stops(items: list[dict], fleet: Fleet) -> tuple[list[Stop], list[dict]]:
    """Stops for the plannable pickups, and the others with their reasons (``pickup_id``, ``kind``, ``reason``).

    A pickup's load is its parcel count times ``fleet.pickup_parcel_g`` (a shop declares how many parcels,
    not their weight); one over a postman's load (``over_capacity``), or whose window misses the shift
    (``time_window_outside_shift``), is left out, as for deliveries."""
    start, end = clock_to_s(fleet.shift_start), clock_to_s(fleet.shift_end)
    stops: list[Stop] = []
    left_out: list[dict] = []
    for item in items:
        reason = _checked(item)
        pickup_id = str(item.get("id", "")) if isinstance(item, dict) else ""
        window = None
        if reason is None and item.get("window") is not None:
            window = (item["window"][0] * 60, item["window"][1] * 60)
            if window[1] <= start or window[0] >= end:
                reason = "time_window_outside_shift"
        if reason is None and item["load"] * fleet.pickup_parcel_g > fleet.capacity_kg * 1000:
            reason = "over_capacity"
        if reason is not None:
            left_out.append({"pickup_id": pickup_id, "kind": "pickup", "reason": reason})
            continue
        # group below zero: a pickup never merges with the parts of a split delivery stop on the sheet
        stops.append(Stop(float(item["lat"]), float(item["lon"]), "", str(item.get("address") or ""), [], window,
                          group=-1 - len(stops), kind="pickup", pickup_id=pickup_id, expected=item["load"],
                          pickup_g=item["load"] * fleet.pickup_parcel_g, label=str(item.get("label") or ""),
                          phone=str(item.get("phone") or "")))
    return stops, left_out

