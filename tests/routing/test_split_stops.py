"""A stop heavier than one postman can carry is split across postmen, never left out whole."""

from __future__ import annotations

from datetime import date

import pytest

from kernel.postal.offices import load_registry
from routing.demo import generate_day
from routing.office_day import Fleet, merge_stops, split_stops
from routing.service import PlanRequest, plan_office_day
from routing.sheet import render_route_sheet

DAY = date(2026, 11, 29)


def _parcel(tn: str, weight: int, cod: int = 0, location=(35.7151, 51.4050), window=None) -> dict:
    parcel = {"tracking_number": tn, "weight_g": weight,
              "receiver": {"postal_code": "1415731111", "address": "برج میلاد، طبقه ۳", "name": "انبار",
                           "phone": "09121234567", "city": "تهران",
                           "location": {"lat": location[0], "lon": location[1]}},
              "payment": {"type": "cod", "goods_value": cod} if cod else {"type": "prepaid"}}
    if window:
        parcel["time_window"] = window
    return parcel


def test_548_parcels_to_one_address_are_spread_over_postmen():
    """The reported day: 548 parcels to one warehouse (274 kg) with 28 postmen of 80 kg each."""
    parcels = [_parcel(f"W{i:03d}", 500) for i in range(548)]
    plan = plan_office_day(PlanRequest("THR-06", DAY, 1.0, parcels))
    assert plan["unassigned"] == []
    planned = [tn for p in plan["postmen"] for s in p["stops"] for tn in s["parcels"]]
    assert sorted(planned) == sorted(p["tracking_number"] for p in parcels)
    assert len(plan["postmen"]) >= 4  # 274 kg needs at least four 80 kg motorcycles
    for postman in plan["postmen"]:
        assert postman["load_kg"] <= Fleet().capacity_kg
        # one row per address and postman: parts of one stop on the same route are merged back
        assert len({(s["lat"], s["lon"]) for s in postman["stops"]}) == len(postman["stops"])
        assert postman["stops"][0]["split_parts"] >= 4
    assert plan["solver"]["feasible"]
    # each postman's sheet says the address is shared, and whom to ask for
    html = render_route_sheet(plan, 0)
    assert "بخشی از مرسوله‌های این نشانی با نامه‌رسان دیگری است" in html
    assert "انبار" in html and 'href="tel:09121234567"' in html


def test_split_respects_every_dimension_and_reports_what_no_postman_can_carry():
    office = load_registry().get("THR-06")
    fleet = Fleet(capacity_kg=10, cod_cap_rials=50_000_000)
    parcels = ([_parcel(f"H{i}", 3000) for i in range(7)]  # 21 kg by weight
               + [_parcel(f"C{i}", 100, cod=20_000_000) for i in range(6)]  # 120 M rials of cash
               + [_parcel("BIG", 12_000), _parcel("RICH", 100, cod=60_000_000)])
    stops, unassigned = split_stops(office, merge_stops(office, parcels), fleet)
    assert sorted(unassigned, key=lambda u: u["tracking_number"]) == [
        {"tracking_number": "BIG", "reason": "over_capacity"},
        {"tracking_number": "RICH", "reason": "over_cash_cap"}]
    assert sorted(tn for s in stops for tn in (p["tracking_number"] for p in s.parcels)) == sorted(
        p["tracking_number"] for p in parcels if p["tracking_number"] not in ("BIG", "RICH"))
    assert len(stops) >= 3
    for stop in stops:
        assert stop.weight_g <= 10_000 and stop.cod_rials <= 50_000_000
        assert stop.parts == len(stops) and (stop.lat, stop.lon) == (35.7151, 51.4050)


def test_split_keeps_service_within_the_shift():
    """Light parcels still take time to hand over: 2,000 at one door cannot be one postman's stop."""
    office = load_registry().get("THR-06")
    fleet = Fleet()
    stops, unassigned = split_stops(office, merge_stops(office, [_parcel(f"L{i}", 10) for i in range(2000)]), fleet)
    assert unassigned == [] and len(stops) > 1
    shift = 8 * 3600
    for stop in stops:
        service = fleet.service_s + fleet.service_per_extra_parcel_s * (len(stop.parcels) - 1)
        assert service < shift


def test_ordinary_days_are_not_split():
    office = load_registry().get("THR-06")
    stops = merge_stops(office, generate_day("THR-06", DAY, 300))
    split, unassigned = split_stops(office, stops, Fleet())
    assert unassigned == [] and len(split) == len(stops) and all(s.parts == 1 for s in split)


@pytest.mark.parametrize("weight", [80_001, 200_000])
def test_a_parcel_heavier_than_any_postman_can_carry_is_reported(weight):
    parcels = generate_day("THR-06", DAY, 100)
    parcels[0] = {**parcels[0], "weight_g": weight}
    plan = plan_office_day(PlanRequest("THR-06", DAY, 1.0, parcels, postmen=6))
    assert plan["unassigned"] == [{"tracking_number": parcels[0]["tracking_number"], "reason": "over_capacity"}]
