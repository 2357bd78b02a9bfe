from datetime import date

import pytest

from kernel.postal.offices import UnknownOffice
from routing.demo import generate_day
from routing.errors import InvalidDate, InvalidParcel, NoParcels, PlanNotFound, TimeLimitOutOfRange
from routing.office_day import Fleet
from routing.service import PlanRequest, plan_office_day
from routing.sheet import render_route_sheet

DAY = date(2026, 11, 29)


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


@pytest.fixture(scope="module")
def plan():
    parcels = generate_day("THR-06", DAY, 120)
    return plan_office_day(PlanRequest("THR-06", DAY, 1.0, parcels, postmen=6)), parcels


def test_plan_serves_every_parcel_within_all_limits(plan):
    plan, parcels = plan
    fleet = Fleet()
    planned = [tn for p in plan["postmen"] for s in p["stops"] for tn in s["parcels"]]
    planned += [u["tracking_number"] for u in plan["unassigned"]]
    assert sorted(planned) == sorted(p["tracking_number"] for p in parcels)
    assert plan["unassigned"] == []
    assert plan["totals"]["postmen_used"] == len(plan["postmen"]) <= 6
    for postman in plan["postmen"]:
        assert postman["load_kg"] <= fleet.capacity_kg
        assert postman["cod_rials"] <= fleet.cod_cap_rials
        assert postman["cod_rials"] == postman["stops"][-1]["cash_carried_rials"]
        assert abs(postman["stops"][-1]["load_after_kg"]) < 1e-6
        starts = [s["arrival_s"] + s["wait_s"] for s in postman["stops"]]
        assert starts == sorted(starts)
        for stop in postman["stops"]:
            if stop["time_window"]:
                start, end = (_minutes(t) for t in stop["time_window"])
                assert start <= _minutes(stop["service_start"]) <= end
        assert _minutes(postman["end"]) <= _minutes(plan["shift"]["end"])
    assert plan["solver"]["feasible"] and plan["date_jalali"] == "1405/09/08"


def test_route_sheet_is_persian_rtl_with_jalali_date(plan):
    plan, _ = plan
    html = render_route_sheet(plan, 0)
    assert 'dir="rtl"' in html and 'lang="fa"' in html
    assert "۸ آذر ۱۴۰۵" in html and "یکشنبه" in html
    for stop in plan["postmen"][0]["stops"]:
        assert stop["parcels"][0] in html
    with pytest.raises(PlanNotFound):
        render_route_sheet(plan, len(plan["postmen"]))


def test_too_small_a_fleet_reports_the_leftovers(plan):
    _, parcels = plan
    small = plan_office_day(PlanRequest("THR-06", DAY, 1.0, parcels, postmen=1))
    assert small["unassigned"] and all(u["reason"] == "no_capacity" for u in small["unassigned"])
    assert small["postmen"][0]["load_kg"] <= Fleet().capacity_kg


def test_windows_outside_the_shift_are_reported():
    parcels = generate_day("THR-06", DAY, 100)
    parcels[0] = {**parcels[0], "time_window": ["18:00", "20:00"]}
    plan = plan_office_day(PlanRequest("THR-06", DAY, 1.0, parcels, postmen=5))
    expected = {"tracking_number": parcels[0]["tracking_number"], "reason": "time_window_outside_shift"}
    assert expected in plan["unassigned"]


@pytest.mark.parametrize("args, error", [
    (("THR-99", DAY, 5, [{}]), UnknownOffice),
    (("THR-06", DAY, 5, []), NoParcels),
    (("THR-06", DAY, 0.2, [{}]), TimeLimitOutOfRange),
    (("THR-06", DAY, 1000, [{}]), TimeLimitOutOfRange),
    (("THR-06", "29/11/2026", 5, [{}]), InvalidDate),
    (("THR-06", DAY, 5, [{"tracking_number": "X", "weight_g": -1}]), InvalidParcel),
])
def test_bad_requests_fail_before_solving(args, error):
    with pytest.raises(error):
        plan_office_day(PlanRequest(*args))
