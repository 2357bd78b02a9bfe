"""An office's delivery day as a routing ``Problem``, and the solved routes back as a plan (JSON-ready dict).

Times are seconds since local midnight; costs are travel seconds (least total travel time, then fewest postmen
through a one-second fixed cost per postman used). Parcels for the same address whose time windows overlap
share one stop; a stop more than one postman can take (weight, cash, or hand-over time within the shift) is
split into parts at the same place, each within one postman's limits, so several postmen share it.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace

import numpy as np

from kernel.postal.offices import Office, haversine_m, normalize_postal_code

from . import fast
from .errors import InvalidParcel, NoParcels
from .problem import Problem

COD_TYPES = {"cod", "cash_on_delivery", "pas-kerayeh"}
POSTAL_AREA_RADIUS_M = 1500.0


@dataclass(frozen=True)
class Fleet:
    """Postmen of one office: count (None = one per 20 parcels, 2 to 100), motorcycle load, shift, cash cap."""

    postmen: int | None = None
    capacity_kg: float = 80.0
    shift_start: str = "08:00"
    shift_end: str = "16:00"
    cod_cap_rials: int = 400_000_000
    road_factor: float = 1.35  # street distance over great-circle distance in Tehran's grid
    speed_mps: float = 5.5  # about 20 km/h door to door on a motorcycle
    service_s: int = 120  # per stop
    service_per_extra_parcel_s: int = 30
    cod_service_s: int = 60  # counting cash
    pickup_parcel_g: int = 2000  # a parcel collected at a pickup: shops declare a count, not a weight

    def postmen_for(self, n_parcels: int) -> int:
        return self.postmen if self.postmen else min(100, max(2, math.ceil(n_parcels / 20)))


@dataclass
class Stop:
    lat: float
    lon: float
    postal_code: str
    address: str
    parcels: list[dict] = field(default_factory=list)
    window: tuple[int, int] | None = None
    # A stop split across postmen: which address it was (index in merge_stops' order), part n of parts.
    group: int = 0
    part: int = 1
    parts: int = 1
    # A pickup (routing.pickups) collects ``expected`` parcels (``pickup_g`` on board) and delivers none.
    kind: str = "delivery"
    pickup_id: str = ""
    expected: int = 0
    pickup_g: int = 0
    label: str = ""
    phone: str = ""

    @property
    def weight_g(self) -> int:
        return sum(p["weight_g"] for p in self.parcels)

    @property
    def cod_rials(self) -> int:
        return sum(_cod(p) for p in self.parcels)


def clock_to_s(text: str) -> int:
    try:
        hours, minutes = (int(v) for v in str(text).split(":"))
    except ValueError:
        raise InvalidParcel(f"{text!r} is not a HH:MM time") from None
    if not (0 <= hours <= 24 and 0 <= minutes < 60):
        raise InvalidParcel(f"{text!r} is not a HH:MM time")
    return hours * 3600 + minutes * 60


def s_to_clock(seconds: int) -> str:
    minutes = int(round(seconds / 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _cod(parcel: dict) -> int:
    payment = parcel.get("payment") or {}
    if str(payment.get("type", "")).lower() in COD_TYPES:
        return int(payment.get("goods_value") or 0)
    return 0


def postal_code_point(office: Office, postal_code: str) -> tuple[float, float]:
    """A deterministic point in the office's area for a postal code without coordinates."""
    digest = hashlib.sha256(postal_code.encode()).digest()
    u = int.from_bytes(digest[:4], "big") / 2**32
    v = int.from_bytes(digest[4:8], "big") / 2**32
    r, angle = POSTAL_AREA_RADIUS_M * math.sqrt(u), 2 * math.pi * v
    lat = office.lat + r * math.sin(angle) / 111_320.0
    lon = office.lon + r * math.cos(angle) / (111_320.0 * math.cos(math.radians(office.lat)))
    return round(lat, 6), round(lon, 6)


def _validated(parcel: dict, index: int) -> tuple[str, tuple[int, int] | None]:
    if not isinstance(parcel, dict) or not parcel.get("tracking_number"):
        raise InvalidParcel(f"parcel {index}: a tracking_number is required")
    weight = parcel.get("weight_g")
    if not isinstance(weight, int) or weight <= 0:
        raise InvalidParcel(f"parcel {parcel['tracking_number']}: weight_g must be a positive integer")
    receiver = parcel.get("receiver") or {}
    postal_code = normalize_postal_code(receiver.get("postal_code", ""))
    window = parcel.get("time_window")
    if window is None:
        return postal_code, None
    if not isinstance(window, (list, tuple)) or len(window) != 2:
        raise InvalidParcel(f"parcel {parcel['tracking_number']}: time_window must be [start, end]")
    start, end = clock_to_s(window[0]), clock_to_s(window[1])
    if start >= end:
        raise InvalidParcel(f"parcel {parcel['tracking_number']}: time window closes before it opens")
    return postal_code, (start, end)


def merge_stops(office: Office, parcels: list[dict]) -> list[Stop]:
    """One stop per address (coordinates, else postal code) and compatible time window, in first-seen order."""
    if not parcels:
        raise NoParcels(f"no parcels to deliver for {office.code}")
    stops: list[Stop] = []
    by_address: dict[tuple, list[Stop]] = {}
    for index, parcel in enumerate(parcels):
        postal_code, window = _validated(parcel, index)
        receiver = parcel["receiver"]
        location = receiver.get("location")
        if location and location.get("lat") is not None and location.get("lon") is not None:
            lat, lon = float(location["lat"]), float(location["lon"])
            key: tuple = (round(lat, 5), round(lon, 5))
        else:
            lat, lon = postal_code_point(office, postal_code)
            key = (postal_code,)
        for stop in by_address.get(key, []):
            merged = _intersect(stop.window, window)
            if merged is not False:
                stop.window = merged
                stop.parcels.append(parcel)
                break
        else:
            stop = Stop(lat, lon, postal_code, str(receiver.get("address", "")), [parcel], window)
            stops.append(stop)
            by_address.setdefault(key, []).append(stop)
    return stops


def _service_s(fleet: Fleet, n_parcels: int, cod: bool) -> int:
    return fleet.service_s + fleet.service_per_extra_parcel_s * (n_parcels - 1) + (fleet.cod_service_s if cod else 0)


def _service_budget_s(office: Office, stop: Stop, fleet: Fleet) -> int:
    """The longest hand-over a postman can do at this stop: leave the office at shift start, start within the
    stop's window, and be back by shift end."""
    travel = int(haversine_m(office.lat, office.lon, stop.lat, stop.lon) * fleet.road_factor / fleet.speed_mps) + 1
    start, end = clock_to_s(fleet.shift_start), clock_to_s(fleet.shift_end)
    earliest = max(start + travel, stop.window[0] if stop.window else start)
    return end - travel - earliest


def split_stops(office: Office, stops: list[Stop], fleet: Fleet) -> tuple[list[Stop], list[dict]]:
    """Stops each within one postman's limits, and the parcels no postman could carry at all.

    A stop over the load, the cash cap or the hand-over time one postman has in a shift becomes parts at the
    same place (first-fit by decreasing weight, so few parts); a parcel alone over the load (``over_capacity``)
    or the cash cap (``over_cash_cap``) is left out with its reason, as no plan could carry it."""
    capacity, cash_cap = int(fleet.capacity_kg * 1000), int(fleet.cod_cap_rials)
    out: list[Stop] = []
    unassigned: list[dict] = []
    for group, stop in enumerate(stops):
        keep = []
        for parcel in stop.parcels:
            if parcel["weight_g"] > capacity:
                unassigned.append({"tracking_number": parcel["tracking_number"], "reason": "over_capacity"})
            elif _cod(parcel) > cash_cap:
                unassigned.append({"tracking_number": parcel["tracking_number"], "reason": "over_cash_cap"})
            else:
                keep.append(parcel)
        if not keep:
            continue
        budget = _service_budget_s(office, stop, fleet)
        weight, cash = sum(p["weight_g"] for p in keep), sum(_cod(p) for p in keep)
        if weight <= capacity and cash <= cash_cap and _service_s(fleet, len(keep), cash > 0) <= budget:
            out.append(replace(stop, parcels=keep, group=group))
            continue
        # Most parcels a part may hold within the hand-over time (at least one: the solver reports the rest).
        per_extra = max(1, fleet.service_per_extra_parcel_s)
        max_count = max(1, (budget - fleet.service_s - fleet.cod_service_s) // per_extra + 1)
        bins: list[list[dict]] = []
        loads: list[list[int]] = []  # weight, cash per bin
        for parcel in sorted(keep, key=lambda p: (-p["weight_g"], -_cod(p))):
            w, c = parcel["weight_g"], _cod(parcel)
            for items, load in zip(bins, loads):
                if load[0] + w <= capacity and load[1] + c <= cash_cap and len(items) < max_count:
                    items.append(parcel)
                    load[0] += w
                    load[1] += c
                    break
            else:
                bins.append([parcel])
                loads.append([w, c])
        order = {id(p): i for i, p in enumerate(keep)}
        for part, items in enumerate(bins, 1):
            # parcels keep their booking order within a part, as they would in an unsplit stop
            items.sort(key=lambda p: order[id(p)])
            out.append(replace(stop, parcels=items, group=group, part=part, parts=len(bins)))
    return out, unassigned


def _intersect(a: tuple[int, int] | None, b: tuple[int, int] | None):
    if a is None or b is None:
        return a or b
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return (start, end) if start < end else False


def build_problem(office: Office, stops: list[Stop], fleet: Fleet, n_parcels: int) -> tuple[Problem, np.ndarray]:
    """The routing problem (node 0 = the office) and the metres matrix for reporting distances."""
    lat = np.array([office.lat] + [s.lat for s in stops], dtype=np.float64)
    lon = np.array([office.lon] + [s.lon for s in stops], dtype=np.float64)
    metres, seconds = fast.haversine_matrices(lat, lon, fleet.road_factor, fleet.speed_mps)
    start, end = clock_to_s(fleet.shift_start), clock_to_s(fleet.shift_end)
    n = len(stops) + 1
    ready, due = np.full(n, start, np.int64), np.full(n, end, np.int64)
    service = np.zeros(n, np.int64)
    demand, cod, pickup = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    for node, stop in enumerate(stops, 1):
        if stop.window:
            ready[node], due[node] = max(start, stop.window[0]), min(end, stop.window[1])
        demand[node], cod[node], pickup[node] = stop.weight_g, stop.cod_rials, stop.pickup_g
        # a pickup hands over its expected parcels as a delivery would (and collects no cash)
        count = stop.expected if stop.kind == "pickup" else len(stop.parcels)
        service[node] = (fleet.service_s + fleet.service_per_extra_parcel_s * (count - 1)
                         + (fleet.cod_service_s if stop.cod_rials else 0))
    problem = Problem(seconds, seconds, demand, ready, due, service, fleet.postmen_for(n_parcels),
                      int(fleet.capacity_kg * 1000), cod=cod, cod_capacity=int(fleet.cod_cap_rials),
                      vehicle_fixed_cost=1, name=office.code, pickup=pickup)
    return problem, metres
