"""Why a plan leaves a customer out: the reason given beside every unserved stop of a ``Result``.

A stop may be impossible to serve on its own (heavier than a vehicle, more cash than the cap, out of reach of
its time window within the shift), the fleet may be too small for the day as a whole (total load or cash over
what all vehicles together may carry), or the search may have found no room for it within its time limit.
Only the first three prove that no plan serves everyone; the last says a plan may exist that was not found.
"""

from __future__ import annotations

from .problem import NO_LIMIT, Problem

REASONS = {
    "heavier_than_vehicle": (
        "the stop's load is more than one vehicle carries",
        "بار این توقف از ظرفیت یک وسیله بیشتر است",
    ),
    "cash_over_cap": (
        "the stop's cash on delivery is more than one vehicle may collect",
        "مبلغ پس‌کرایهٔ این توقف از سقف وجه نقد یک وسیله بیشتر است",
    ),
    "out_of_reach": (
        "no vehicle can reach the stop within its time window and be back before the shift ends",
        "هیچ وسیله‌ای نمی‌تواند در بازهٔ زمانی این توقف به آن برسد و پیش از پایان شیفت بازگردد",
    ),
    "fleet_too_small": (
        "the whole fleet carries less than the day's total load or cash, so some stop must be left out",
        "ظرفیت کل ناوگان از مجموع بار یا وجه نقد روز کمتر است، پس دست‌کم یک توقف جا می‌ماند",
    ),
    "no_room_found": (
        "every vehicle was full or had no time for the stop in the best plan found within the time limit;"
        " a plan serving everyone may exist with more time or more vehicles",
        "در بهترین برنامه‌ای که در مهلت زمانی پیدا شد هیچ وسیله‌ای جا یا وقت خالی برای این توقف نداشت؛"
        " با زمان یا وسیلهٔ بیشتر شاید برنامه‌ای برای همه پیدا شود",
    ),
}


def _out_of_reach(problem: Problem, c: int) -> bool:
    if not problem.has_time_windows:
        return False
    arrive = max(int(problem.ready[0]) + int(problem.service[0]) + int(problem.duration[0, c]), int(problem.ready[c]))
    back = arrive + int(problem.service[c]) + int(problem.duration[c, 0])
    return arrive > int(problem.due[c]) or back > int(problem.due[0])


def fleet_too_small(problem: Problem) -> bool:
    """True when even a perfect packing could not carry everything: no plan serves every customer."""
    load = max(int(problem.demand[1:].sum()), int(problem.pickup[1:].sum()))
    cash = int(problem.cod[1:].sum())
    return (load > problem.n_vehicles * problem.capacity
            or (problem.cod_capacity < NO_LIMIT and cash > problem.n_vehicles * problem.cod_capacity))


def reason_code(problem: Problem, c: int, short_fleet: bool) -> str:
    if max(int(problem.demand[c]), int(problem.pickup[c])) > problem.capacity:
        return "heavier_than_vehicle"
    if int(problem.cod[c]) > problem.cod_capacity:
        return "cash_over_cap"
    if _out_of_reach(problem, c):
        return "out_of_reach"
    return "fleet_too_small" if short_fleet else "no_room_found"


def explain_unassigned(problem: Problem, unassigned: list[int]) -> list[dict]:
    """One entry per customer left out: its node, a stable reason code, English and Persian details."""
    short_fleet = fleet_too_small(problem)
    out = []
    for c in unassigned:
        code = reason_code(problem, int(c), short_fleet)
        detail, detail_fa = REASONS[code]
        out.append({"node": int(c), "reason": code, "detail": detail, "detail_fa": detail_fa})
    return out
