"""A plan carries only the parcels at the office (docs/planning.md), and is made for today or a later day."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from kernel.postal.timeutil import IRAN_TIME
from kernel.store import keys
from routing.jobs import office_parcels

from .office_flow import FUTURE, Staff, book, isfahan, move, plan_for, to_office


async def test_a_plan_carries_only_parcels_at_the_office(app_client, shop, redis):
    """The report: a parcel only accepted in Tehran was on an Isfahan postman's sheet."""
    staff = Staff(redis)
    docs = await book(app_client, shop, [isfahan(i) for i in range(6)])
    assert {d["delivering_office"] for d in docs} == {"IFN-01"}
    tn = [d["tracking_number"] for d in docs]
    route = docs[0]["route"]  # THR-xx, THR-HUB, IFN-HUB, IFN-01
    await move(app_client, staff, tn[0], [("accepted", route[0])])  # still in Tehran
    await move(app_client, staff, tn[1], to_office(docs[1]))  # arrived at Isfahan's office
    await move(app_client, staff, tn[2], to_office(docs[2])[:-1])  # sorted out of Isfahan's hub: there by morning
    await move(app_client, staff, tn[3], to_office(docs[3]) + [("out_for_delivery", "IFN-01"),
                                                           ("delivery_failed", "IFN-01")])  # back at the office
    await move(app_client, staff, tn[4], to_office(docs[4]) + [("out_for_delivery", "IFN-01")])  # with a postman
    # tn[5] was booked and never handed in

    plan = (await plan_for(app_client, staff, redis, "IFN-01"))["plan"]
    planned = {t for p in plan["postmen"] for s in p["stops"] for t in s["parcels"]}
    reasons = {u["tracking_number"]: u for u in plan["unassigned"]}
    assert {tn[1], tn[2], tn[3]} <= planned
    assert not {tn[0], tn[4], tn[5]} & planned
    assert reasons[tn[0]] == {"tracking_number": tn[0], "reason": "not_at_office", "status": "in_transit"}
    assert reasons[tn[4]]["reason"] == reasons[tn[5]]["reason"] == "not_at_office"
    assert reasons[tn[5]]["status"] == "pre_transit"


async def test_a_parcel_sorted_out_of_the_hub_counts_only_if_it_arrives_before_the_shift(app_client, shop, redis):
    staff = Staff(redis)
    [doc] = await book(app_client, shop, [isfahan(0)])
    await move(app_client, staff, doc["tracking_number"], to_office(doc)[:-1])
    day = date.fromisoformat(FUTURE)
    carried, _ = await office_parcels(redis, "IFN-01", day)
    assert doc["tracking_number"] in {p["tracking_number"] for p in carried}
    # The hub's run takes HUB_TO_OFFICE_S: a scan that left too late for today's 08:00 is not at the office yet.
    today = datetime.now(IRAN_TIME)
    late_start = (today + timedelta(hours=1)).strftime("%H:%M")
    if today.date() == (today + timedelta(hours=1)).date():
        carried, _ = await office_parcels(redis, "IFN-01", today.date(), shift_start=late_start)
        assert doc["tracking_number"] not in {p["tracking_number"] for p in carried}


async def test_plans_for_past_days_are_refused(app_client, redis):
    headers = await Staff(redis)("THR-06")
    queued = await redis.xlen(keys.PLAN_JOBS)
    yesterday = (datetime.now(IRAN_TIME).date() - timedelta(days=1)).isoformat()
    for day in (yesterday, "2001-01-01"):
        resp = await app_client.post("/v1/offices/THR-06/plans", headers=headers, json={"date": day})
        body = await resp.json()
        assert resp.status == 422 and body["code"] == "plan_date_in_past", body
        assert body["detail_fa"] and "گذشته" in body["detail_fa"]
    assert await redis.xlen(keys.PLAN_JOBS) == queued  # nothing queued
    today = datetime.now(IRAN_TIME).date().isoformat()
    assert (await app_client.post("/v1/offices/THR-06/plans", headers=headers, json={"date": today, "time_limit_s": 1})).status == 202


