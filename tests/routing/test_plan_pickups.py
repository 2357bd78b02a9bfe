"""Pickups on an office's day plan: stops from an injected provider, on the same routes as the deliveries,
shown in the plan JSON (``kind``) and on the postman's route sheet («جمع‌آوری»)."""

from __future__ import annotations

import random
from datetime import date

import pytest

from gateway.web_app import create_app
from kernel.postal.offices import load_registry
from kernel.settings import Config
from routing import jobs
from routing.office_day import Fleet
from routing.service import PlanRequest, plan_office_day
from routing.sheet import render_route_sheet

from . import office_flow as flow
from .office_flow import FUTURE, Staff, book, isfahan, move, plan_for, to_office

DAY = date(2030, 1, 1)


def _parcel(tn: str, lat: float, lon: float, weight: int) -> dict:
    return {"tracking_number": tn, "weight_g": weight, "payment": {"type": "prepaid"},
            "receiver": {"postal_code": "1415731111", "address": f"نشانی {tn}", "name": "گیرنده",
                         "location": {"lat": lat, "lon": lon}}}


def _pickup(pid: str, lat: float, lon: float, load: int, window=None, label="فروشگاه نمونه") -> dict:
    return {"id": pid, "kind": "pickup", "lat": lat, "lon": lon, "load": load, "window": window, "label": label,
            "phone": "09121234567", "address": "خیابان ولیعصر، پلاک ۱۲"}


@pytest.fixture(scope="module")
def office():
    return load_registry().get("THR-06")


def _stops(plan):
    return [s for p in plan["postmen"] for s in p["stops"]]


def test_pickups_are_planned_on_the_delivery_routes_and_the_load_rises(office):
    parcels = [_parcel(f"T{i}", office.lat + 0.002 * i, office.lon + 0.001, 3000) for i in range(1, 6)]
    pickups = [_pickup("PK-1", office.lat + 0.011, office.lon, 5, window=[10 * 60, 12 * 60])]
    plan = plan_office_day(PlanRequest("THR-06", DAY, 1.0, parcels, postmen=2, extra_stops=pickups))
    kinds = [s["kind"] for s in _stops(plan)]
    assert kinds.count("pickup") == 1 and kinds.count("delivery") == 5
    stop = next(s for s in _stops(plan) if s["kind"] == "pickup")
    assert stop["pickup"] == {"id": "PK-1", "label": "فروشگاه نمونه", "expected_count": 5, "load_kg": 10.0}
    assert "10:00" <= stop["service_start"] <= "12:00" and stop["time_window"] == ["10:00", "12:00"]
    postman = next(p for p in plan["postmen"] if stop in p["stops"])
    before = postman["stops"][stop["sequence"] - 2]["load_after_kg"] if stop["sequence"] > 1 else postman["load_kg"]
    assert stop["load_after_kg"] == pytest.approx(before + 10.0)  # five parcels of 2 kg come on board
    assert postman["pickup_parcels"] == 5 and plan["totals"]["pickups"] == 1
    assert postman["peak_load_kg"] >= stop["load_after_kg"]
    assert plan["unassigned"] == []


def test_a_route_that_pickups_would_overload_mid_route_is_split(office):
    """70 kg delivered from 11:00, 20 kg picked up by 9:00: one motorcycle of 80 kg takes the deliveries
    alone, and would have time for both, but picking up first is 90 kg on board: two postmen."""
    parcels = [_parcel(f"H{i}", office.lat + 0.01, office.lon + 0.001 * i, 35_000) for i in range(2)]
    for parcel in parcels:
        parcel["time_window"] = ["11:00", "12:00"]
    pickups = [_pickup("PK-NEAR", office.lat + 0.002, office.lon, 10, window=[8 * 60, 9 * 60])]
    plan = plan_office_day(PlanRequest("THR-06", DAY, 1.0, parcels, postmen=3, extra_stops=pickups))
    assert all(p["peak_load_kg"] <= 80 for p in plan["postmen"])
    assert all(s["load_after_kg"] <= 80 for s in _stops(plan))
    assert len(plan["postmen"]) == 2 and plan["unassigned"] == []


def test_pickups_left_out_are_reported_with_their_reasons(office):
    parcels = [_parcel("T1", office.lat + 0.002, office.lon, 1000)]
    pickups = [_pickup("BIG", office.lat, office.lon + 0.003, 41),  # 82 kg: over one motorcycle
               _pickup("NIGHT", office.lat, office.lon + 0.004, 2, window=[20 * 60, 21 * 60]),
               {"id": "BAD", "kind": "pickup", "lat": "x", "lon": 51.0, "load": 1},
               _pickup("OK", office.lat, office.lon + 0.005, 2)]
    plan = plan_office_day(PlanRequest("THR-06", DAY, 1.0, parcels, postmen=2, extra_stops=pickups))
    assert sorted((u["pickup_id"], u["reason"]) for u in plan["unassigned"]) == [
        ("BAD", "invalid_pickup"), ("BIG", "over_capacity"), ("NIGHT", "time_window_outside_shift")]
    assert all(u["kind"] == "pickup" for u in plan["unassigned"])
    assert [s["pickup"]["id"] for s in _stops(plan) if s["kind"] == "pickup"] == ["OK"]


def test_a_day_of_pickups_alone_is_planned(office):
    plan = plan_office_day(PlanRequest("THR-06", DAY, 1.0, [], extra_stops=[_pickup("P", office.lat + 0.003,
                                                                                       office.lon, 3)]))
    assert [s["kind"] for s in _stops(plan)] == ["pickup"]


def test_the_sheet_marks_pickups_with_count_and_window(office):
    parcels = [_parcel("T1", office.lat + 0.002, office.lon, 1000)]
    pickups = [_pickup("PK-7", office.lat + 0.003, office.lon, 12, window=[9 * 60 + 30, 11 * 60])]
    plan = plan_office_day(PlanRequest("THR-06", DAY, 1.0, parcels, postmen=1, extra_stops=pickups,
                                       fleet=Fleet(postmen=1)))
    html = render_route_sheet(plan, 0)
    assert "<tr class='pickup'>" in html and "جمع‌آوری" in html
    assert "جمع‌آوری ۱۲ مرسوله" in html and "۰۹:۳۰–۱۱:۰۰" in html and "PK-7" in html
    assert "فروشگاه نمونه" in html and 'href="tel:09121234567"' in html


@pytest.fixture
async def client(aiohttp_client, store_url, tmp_path):
    return await aiohttp_client(create_app(Config(data_dir=tmp_path, access_log=False,
                                                  sheet_secret="pickup-sheet-secret-0123456789"), store_url))


async def test_a_worker_with_an_injected_provider_plans_its_pickups(client, shop, redis, monkeypatch):
    """The router worker asks the provider it was given for the office's pickups of the plan's day."""
    staff = Staff(redis)
    office = load_registry().get("IFN-01")
    rng = random.Random()
    receiver = {"name": "زهرا کاظمی", "phone": "09131234567", "postal_code": "8138634561", "province": "اصفهان",
                "city": "اصفهان", "address": "خیابان چهارباغ",
                "location": {"lat": office.lat + rng.uniform(-0.002, 0.002),
                             "lon": office.lon + rng.uniform(-0.002, 0.002)}}
    docs = await book(client, shop, [isfahan(0, receiver=receiver, payment={"type": "prepaid"})])
    await move(client, staff, docs[0]["tracking_number"], to_office(docs[0]))
    asked = []

    async def provider(office_code: str, day: date) -> list[dict]:
        asked.append((office_code, day))
        return [_pickup("PK-IFN", office.lat + 0.003, office.lon, 4, window=[9 * 60, 15 * 60])]

    # the router worker of plan_for, built as gateway assembly builds it: with the provider passed in
    monkeypatch.setattr(flow, "PlanWorker", lambda redis: jobs.PlanWorker(redis, extra_stops=provider))
    record = await plan_for(client, staff, redis, "IFN-01")
    assert ("IFN-01", date.fromisoformat(FUTURE)) in asked  # (the stream may hold other tests' plans too)
    stops = _stops(record["plan"])
    assert {s["kind"] for s in stops} == {"pickup", "delivery"}
    postman = next(p for p in record["plan"]["postmen"] if any(s["kind"] == "pickup" for s in p["stops"]))
    sheet = await client.get(postman["sheet_url"])
    assert sheet.status == 200 and "جمع‌آوری ۴ مرسوله" in await sheet.text()
