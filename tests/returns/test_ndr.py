"""Failed-delivery cases over real HTTP and the real store: opened by failed attempts, decided by the shop or by
their deadline, obeyed by the router, on the feed and the webhooks."""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta

from kernel.postal.offices import load_registry
from kernel.problems import CATALOGUE
from returns.cases import next_working_day, today_iran
from returns.policy import load_policy
from routing.jobs import office_parcels
from tests.routing.office_flow import plan_for

from .conftest import OFFICE, move

REGISTRY = load_registry()


def _working_days_ahead(n: int) -> date:
    day = today_iran()
    for _ in range(n):
        day = next_working_day(REGISTRY, day)
    return day


async def _carried(redis, day: date) -> set[str]:
    parcels, _ = await office_parcels(redis, OFFICE, day)
    return {p["tracking_number"] for p in parcels}


async def _case(client, shop, tn: str) -> dict:
    resp = await client.get(f"/v1/ndr/{tn}", headers=shop.headers)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _feed(client, shop, tn: str) -> list[dict]:
    events = (await (await client.get("/v1/events?limit=1000", headers=shop.headers)).json())["data"]
    return [e for e in events if e["tracking_number"] == tn]


def _problem(status: int, body: dict, http: int, code: str) -> None:
    assert status == http and body["code"] == code, body
    assert body["detail_fa"] and body["detail"]


async def test_a_parcel_fails_twice_is_rescheduled_and_planned_on_that_day_only(
        client, shop, redis, staff, parcel_at_office, fail, act):
    [tn] = await parcel_at_office()
    await fail(tn)
    case = await _case(client, shop, tn)
    assert case["status"] == "open" and case["attempt_count"] == 1 and case["default_action"] == "reattempt"
    assert case["parcel_status"] == "failed_attempt"
    assert case["deadline"] and "reschedule" in case["allowed_actions"]
    await fail(tn, "phone_unreachable")
    case = await _case(client, shop, tn)
    assert [(a["attempt"], a["reason"], a["office"]) for a in case["attempts"]] == [
        (1, "receiver_absent", OFFICE), (2, "phone_unreachable", OFFICE)]
    assert case["attempts"][1]["reason_fa"] == "تلفن گیرنده در دسترس نبود" and case["attempts"][1]["occurred_at"]

    target = _working_days_ahead(2)
    status, body = await act(tn, {"action": "reschedule", "date": target.isoformat()})
    assert status == 200, body
    assert body["status"] == "rescheduled" and body["scheduled_for"] == target.isoformat()
    assert body["deadline"] is None and body["actions"][-1]["action"] == "reschedule"

    assert tn not in await _carried(redis, target - timedelta(days=1))
    assert tn in await _carried(redis, target)
    plan = (await plan_for(client, staff, redis, OFFICE, target.isoformat()))["plan"]
    assert tn in {t for p in plan["postmen"] for s in p["stops"] for t in s["parcels"]}

    types = [(e["type"], e["data"].get("action") or e["data"].get("reason")) for e in await _feed(client, shop, tn)
             if e["type"].startswith("ndr_")]
    assert types == [("ndr_opened", "receiver_absent"), ("ndr_opened", "phone_unreachable"),
                     ("ndr_action", "reschedule")]


async def test_a_held_parcel_is_off_the_plans_until_collected_at_the_counter(
        client, shop, redis, staff, parcel_at_office, fail, act, cases):
    [tn] = await parcel_at_office()
    await fail(tn, "business_closed")
    assert tn in await _carried(redis, _working_days_ahead(1))
    status, body = await act(tn, {"action": "hold_at_office"})
    assert status == 200 and body["status"] == "held" and body["held_at_office"] == OFFICE
    for n in (0, 1, 3):
        assert tn not in await _carried(redis, today_iran() + timedelta(days=n))
    status, body = await act(tn, {"action": "hold_at_office"})
    _problem(status, body, 409, "ndr_action_not_allowed")
    # the buyer collects it
    await move(client, staff, tn, [("delivered", OFFICE)])
    await cases.consume()
    case = await _case(client, shop, tn)
    assert case["status"] == "delivered" and case["allowed_actions"] == []
    status, body = await act(tn, {"action": "reattempt"})
    _problem(status, body, 409, "ndr_case_closed")


async def test_the_third_failure_sends_the_parcel_back_by_itself(client, shop, redis, parcel_at_office, fail, act):
    assert load_policy().max_attempts == 3
    [tn] = await parcel_at_office()
    for i in range(3):
        await fail(tn)
        if i < 2:
            assert (await act(tn, {"action": "reattempt"}))[0] == 200
    case = await _case(client, shop, tn)
    assert case["status"] == "returning" and case["returned_by"] == "max_attempts" and case["attempt_count"] == 3
    assert case["parcel_status"] == "returning" and case["deadline"] is None
    shipment = await (await client.get(f"/v1/shipments/{tn}", headers=shop.headers)).json()
    assert shipment["status"] == "returning"
    assert tn not in await _carried(redis, _working_days_ahead(1))
    status, body = await act(tn, {"action": "reattempt"})
    _problem(status, body, 409, "ndr_case_closed")
    assert body["case_status"] == "returning"


async def test_a_reason_that_sends_the_parcel_back_still_opens_a_case(client, shop, parcel_at_office, fail):
    [tn] = await parcel_at_office()
    await fail(tn, "receiver_refused")
    case = await _case(client, shop, tn)
    assert case["status"] == "returning" and case["returned_by"] == "reason" and case["reason"] == "receiver_refused"
    listed = await (await client.get("/v1/ndr?status=returning&reason=receiver_refused",
                                     headers=shop.headers)).json()
    assert tn in {c["tracking_number"] for c in listed["data"]}


async def test_the_deadline_takes_the_default_action(client, shop, redis, parcel_at_office, fail, cases):
    [tn] = await parcel_at_office()
    await fail(tn)
    case = await _case(client, shop, tn)
    assert await cases.apply_deadlines(now=time.time() + 60) == 0  # not yet
    assert (await _case(client, shop, tn))["status"] == "open"
    later = time.time() + load_policy().deadline_s + 60
    assert await cases.apply_deadlines(now=later) >= 1
    case = await _case(client, shop, tn)
    assert case["status"] == "reattempt" and case["actions"][-1]["by"] == "deadline"
    expected = next_working_day(REGISTRY, today_iran(later))
    assert case["scheduled_for"] == expected.isoformat()
    assert tn not in await _carried(redis, expected - timedelta(days=1))
    assert tn in await _carried(redis, expected)
    assert await cases.apply_deadlines(now=later) == 0  # once
    events = [e for e in await _feed(client, shop, tn) if e["type"] == "ndr_action"]
    assert len(events) == 1 and events[0]["data"]["by"] == "deadline"


async def test_return_to_sender_moves_the_parcel_to_returning(client, shop, redis, parcel_at_office, fail, act):
    [tn] = await parcel_at_office()
    await fail(tn, "cod_not_paid")
    status, body = await act(tn, {"action": "return_to_sender"})
    assert status == 200 and body["status"] == "returning" and body["parcel_status"] == "returning"
    listed = await (await client.get("/v1/shipments?status=returning", headers=shop.headers)).json()
    assert tn in {s["tracking_number"] for s in listed["items"]}
    assert tn not in await _carried(redis, _working_days_ahead(1))
    [event] = [e for e in await _feed(client, shop, tn) if e["type"] == "ndr_action"]
    assert event["status"] == "returning" and event["data"]["action"] == "return_to_sender"
    assert event["id"] == body["event_id"]


async def test_update_contact_reaches_the_postmans_plan(client, shop, redis, parcel_at_office, fail, act):
    [tn] = await parcel_at_office()
    await fail(tn, "address_incomplete")
    status, body = await act(tn, {"action": "update_contact", "phone": "۰۹۱۲ ۳۴۵ ۶۷۸۹",
                                  "address_notes": "زنگ دوم، طبقهٔ سوم"})
    assert status == 200, body
    assert body["status"] == "reattempt" and body["contact"] == {"phone": "09123456789",
                                                                 "address_notes": "زنگ دوم، طبقهٔ سوم"}
    parcels, _ = await office_parcels(redis, OFFICE, _working_days_ahead(1))
    [p] = [p for p in parcels if p["tracking_number"] == tn]
    assert p["receiver"]["phone"] == "09123456789" and p["receiver"]["address_notes"] == "زنگ دوم، طبقهٔ سوم"


async def test_actions_are_idempotent_with_a_key(client, shop, parcel_at_office, fail, act):
    [tn] = await parcel_at_office()
    await fail(tn)
    key = {"Idempotency-Key": f"ndr-{tn}"}
    first = await act(tn, {"action": "reattempt"}, headers=key)
    again = await act(tn, {"action": "reattempt"}, headers=key)
    assert first[0] == again[0] == 200 and first[1] == again[1]
    assert len([e for e in await _feed(client, shop, tn) if e["type"] == "ndr_action"]) == 1
    status, body = await act(tn, {"action": "hold_at_office"}, headers=key)
    _problem(status, body, 409, "idempotency_key_reused")
    assert (await _case(client, shop, tn))["status"] == "reattempt"


async def test_every_error_says_what_is_wrong(client, shop, make_shop, staff, parcel_at_office, fail, act):
    [tn, quiet] = await parcel_at_office(2)
    await fail(tn)
    before = await _case(client, shop, tn)
    today = today_iran()
    friday = next(today + timedelta(days=n) for n in range(1, 8) if (today + timedelta(days=n)).weekday() == 4)
    bad = [
        ({"action": "teleport"}, "action_invalid"),
        ({}, "action_invalid"),
        ({"action": "reschedule"}, "date_invalid"),
        ({"action": "reschedule", "date": "tomorrow"}, "date_invalid"),
        ({"action": "reschedule", "date": today.isoformat()}, "date_out_of_window"),
        ({"action": "reschedule", "date": (today + timedelta(days=30)).isoformat()}, "date_out_of_window"),
        ({"action": "reschedule", "date": friday.isoformat()}, "date_not_working_day"),
        ({"action": "update_contact"}, "contact_required"),
        ({"action": "update_contact", "phone": "12345"}, "phone_invalid"),
        ({"action": "update_contact", "address_notes": "x" * 500}, "address_notes_invalid"),
    ]
    for body, code in bad:
        status, problem = await act(tn, body)
        _problem(status, problem, 422, "validation_failed")
        assert code in {e["code"] for e in problem["errors"]}, (body, problem)
    resp = await client.post(f"/v1/ndr/{tn}/actions", data=b"[", headers={**shop.headers,
                                                                           "Content-Type": "application/json"})
    assert resp.status == 422
    assert await _case(client, shop, tn) == before  # bad input changed nothing

    _problem(*await act(quiet, {"action": "reattempt"}), 404, "ndr_case_not_found")  # no failed attempt
    _problem(*await act("EE000000000IR", {"action": "reattempt"}), 404, "ndr_case_not_found")
    _problem(*await act("nonsense", {"action": "reattempt"}), 404, "ndr_case_not_found")
    other = await make_shop("another")
    _problem(*await act(tn, {"action": "reattempt"}, owner=other), 404, "ndr_case_not_found")
    resp = await client.get(f"/v1/ndr/{tn}", headers=other.headers)
    assert resp.status == 404 and (await resp.json())["code"] == "ndr_case_not_found"
    resp = await client.get(f"/v1/ndr/{tn}")
    assert resp.status == 401
    resp = await client.post(f"/v1/ndr/{tn}/actions", json={"action": "reattempt"})
    assert resp.status == 401

    assert (await act(tn, {"action": "reattempt"}))[0] == 200
    await move(client, staff, tn, [("out_for_delivery", OFFICE)])
    status, problem = await act(tn, {"action": "hold_at_office"})
    _problem(status, problem, 409, "ndr_parcel_out_for_delivery")
    assert (await _case(client, shop, tn))["allowed_actions"] == []

    for query, field in (("status=lost", "status"), ("reason=bored", "reason"), ("office=XXX-99", "office"),
                         ("after=zzz", "after"), ("limit=0", "limit"), ("limit=101", "limit")):
        resp = await client.get(f"/v1/ndr?{query}", headers=shop.headers)
        problem = await resp.json()
        assert resp.status == 422 and problem["errors"][0]["field"] == field, problem
    for code in ("ndr_case_not_found", "ndr_case_closed", "ndr_parcel_out_for_delivery", "ndr_action_not_allowed"):
        assert code in CATALOGUE


async def test_listing_filters_and_pages(client, make_shop, staff, parcel_at_office, fail, act):
    shop = await make_shop("lister")
    tns = await parcel_at_office(4, owner=shop)
    reasons = ["receiver_absent", "asked_reschedule", "receiver_absent", "access_denied"]
    for tn, reason in zip(tns, reasons):
        await fail(tn, reason)
    await act(tns[0], {"action": "hold_at_office"}, owner=shop)

    async def pages(query: str, limit: int) -> list[str]:
        seen, after = [], None
        while True:
            q = f"/v1/ndr?limit={limit}&{query}" + (f"&after={after}" if after else "")
            page = await (await client.get(q, headers=shop.headers)).json()
            seen += [c["tracking_number"] for c in page["data"]]
            if not page["has_more"]:
                return seen
            after = page["next_after"]

    assert await pages("", 1) == list(reversed(tns))  # newest first
    assert await pages("", 10) == list(reversed(tns))
    assert await pages("reason=receiver_absent", 1) == [tns[2], tns[0]]
    assert await pages("status=held", 1) == [tns[0]]
    assert await pages("status=open&reason=receiver_absent", 5) == [tns[2]]
    assert await pages(f"office={OFFICE}", 3) == list(reversed(tns))
    assert await pages("office=THR-01", 3) == []


async def test_bulk_actions_apply_each_item_on_its_own(client, shop, parcel_at_office, fail):
    tns = await parcel_at_office(3)
    for tn in tns[:2]:
        await fail(tn)
    body = {"actions": [
        {"tracking_number": tns[0], "action": "reattempt"},
        {"tracking_number": tns[1], "action": "hold_at_office"},
        {"tracking_number": tns[2], "action": "reattempt"},  # no case
        {"tracking_number": tns[0], "action": "hold_at_office"},  # twice in one request
        {"tracking_number": "bad", "action": "fly"},
    ]}
    resp = await client.post("/v1/ndr/actions", json=body, headers={**shop.headers, "Idempotency-Key": "bulk-1"})
    out = await resp.json()
    assert resp.status == 200 and out["applied"] == 2 and out["rejected"] == 3
    r = out["results"]
    assert r[0]["ok"] and r[0]["case"]["status"] == "reattempt"
    assert r[1]["ok"] and r[1]["case"]["status"] == "held"
    assert r[2]["error"]["code"] == "ndr_case_not_found"
    assert {e["code"] for e in r[3]["error"]["errors"]} == {"duplicate_item"}
    assert {e["code"] for e in r[4]["error"]["errors"]} == {"tracking_number_invalid", "action_invalid"}
    replay = await client.post("/v1/ndr/actions", json=body, headers={**shop.headers, "Idempotency-Key": "bulk-1"})
    assert await replay.json() == out
    for bad in ({}, {"actions": []}, {"actions": [{}] * (load_policy().bulk_max_items + 1)}):
        resp = await client.post("/v1/ndr/actions", json=bad, headers=shop.headers)
        assert resp.status == 422 and (await resp.json())["errors"][0]["code"] == "actions_invalid"


async def test_a_case_is_opened_once_whatever_reads_the_outbox_again(client, shop, parcel_at_office, fail, cases,
                                                                     redis):
    [tn] = await parcel_at_office()
    await fail(tn, consume=False)
    # a worker that read the entries and died before applying them: its reads stay pending
    from returns.cases import CaseService

    dead = CaseService(cases.redis, cases.batcher, cases.registry, cases.policy, "dead-worker")
    await dead.ensure_groups()
    from kernel.store import keys

    p = keys.partition_of(shop.id)
    read = await dead._read_all([p])
    assert read[0][1]  # it took them
    assert (await client.get(f"/v1/ndr/{tn}", headers=shop.headers)).status == 404
    import returns.cases as rc

    old = rc.CLAIM_IDLE_MS
    rc.CLAIM_IDLE_MS = 0  # the dead worker's entries are taken over at once
    try:
        await cases.consume()
        await cases.consume()
    finally:
        rc.CLAIM_IDLE_MS = old
    case = await _case(client, shop, tn)
    assert case["attempt_count"] == 1
    await dead._apply_entries(p, read[0][1])  # the dead one wakes up and applies them too: nothing changes
    assert (await _case(client, shop, tn))["attempt_count"] == 1
    assert len([e for e in await _feed(client, shop, tn) if e["type"] == "ndr_opened"]) == 1


async def test_shops_get_the_cases_on_their_webhooks(client, shop, parcel_at_office, fail, act, receiver_factory,
                                                      subscribe, dispatch):
    receiver = await receiver_factory()
    await subscribe(shop, receiver, ["ndr_opened", "ndr_action"])
    [tn] = await parcel_at_office()
    await fail(tn, "asked_reschedule")
    await act(tn, {"action": "reschedule", "date": _working_days_ahead(2).isoformat()})
    await dispatch()
    got = [(e["type"], e["data"]["state"]) for e in receiver.of(tn)]
    assert got == [("ndr_opened", "open"), ("ndr_action", "rescheduled")]


class TestTheWorkerInTheGateway:
    async def test_cases_open_without_anyone_asking(self, client, shop, parcel_at_office, fail, monkeypatch):
        [tn] = await parcel_at_office()
        await fail(tn, consume=False)
        for _ in range(100):
            resp = await client.get(f"/v1/ndr/{tn}", headers=shop.headers)
            if resp.status == 200:
                break
            await asyncio.sleep(0.05)
        assert resp.status == 200 and (await resp.json())["status"] == "open"


import pytest  # noqa: E402


@pytest.fixture
def ndr_settings(request):
    from returns import web as returns_web

    if request.cls is TestTheWorkerInTheGateway:
        return returns_web.NdrSettings(interval_s=0.05)
    return returns_web.NdrSettings(interval_s=0)
