"""Return to sender as a leg of its own, over real HTTP and the real store: a case that ends in a return makes a
new parcel home to the shop, linked both ways, planned and scanned like any parcel; its delivery brings the
original home (``returned``), and COD is never collected on it."""

from __future__ import annotations

import asyncio
import time

from kernel.store import keys
from returns.cases import CaseService, today_iran
from routing.jobs import office_parcels
from tests.routing.office_flow import to_office

from .conftest import OFFICE, _device_time, move


async def _get(client, shop, tn: str) -> dict:
    resp = await client.get(f"/v1/shipments/{tn}", headers=shop.headers)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _feed(client, shop) -> list[dict]:
    return (await (await client.get("/v1/events?limit=1000", headers=shop.headers)).json())["data"]


async def _returns(client, shop, query: str = "") -> list[dict]:
    resp = await client.get(f"/v1/returns?limit=100{query}", headers=shop.headers)
    assert resp.status == 200, await resp.text()
    return (await resp.json())["data"]


async def test_a_refused_parcel_comes_home_on_its_own_leg(client, shop, redis, staff, parcel_at_office, fail, cases):
    [tn] = await parcel_at_office()
    await fail(tn, "receiver_refused")  # a reason that sends it back at once: the case returns it
    original = await _get(client, shop, tn)
    leg_tn = original["return_leg"]
    assert original["status"] == "returning" and leg_tn and leg_tn != tn
    leg = await _get(client, shop, leg_tn)
    # linked both ways, its own number of the same service, from where it failed to where it was sent from
    assert leg["return_of"] == tn and leg["kind"] == "return_to_sender" and leg_tn[:2] == tn[:2]
    assert leg["status"] == "in_transit" and leg["origin_office"] == OFFICE
    assert leg["delivering_office"] == original["origin_office"] and leg["route"][0] == OFFICE
    assert leg["receiver"] == original["sender"] and leg["sender"]["postal_code"] == original["receiver"]["postal_code"]
    assert leg["payment"] == {"type": "prepaid"} and leg["price"]["total"] == 0
    assert leg["return_fee"]["fee"] == original["price"]["base"]  # the tariff's [returns] rule, posted on return
    [first] = leg["history"]
    assert first["type"] == "accepted" and first["office"] == OFFICE and first["data"]["return_of"] == tn
    case = await (await client.get(f"/v1/ndr/{tn}", headers=shop.headers)).json()
    assert case["status"] == "returning" and case["return_leg"] == leg_tn
    assert [r["tracking_number"] for r in await _returns(client, shop, "&kind=return_to_sender")][0] == leg_tn
    assert tn not in await redis.zrange(keys.office_due(OFFICE), 0, -1)  # the original is off its office's list
    for number in (tn, leg_tn):  # the buyer's page and its JSON show both, with Persian labels
        for path in (f"/v1/track/{number}", f"/track/{number}"):
            resp = await client.get(path)
            assert resp.status == 200, (path, await resp.text())
    public = await (await client.get(f"/v1/track/{tn}")).json()
    assert public["status"] == "returning" and all(e["label_fa"] for e in public["events"])

    # from now on the way home is the leg's: a scan of the original names it
    resp = await client.post("/v1/scans", headers=await staff(OFFICE), json={
        "tracking_number": tn, "event": "out_for_delivery", "office": OFFICE, "scan_id": f"orig-{tn}",
        "occurred_at": _device_time()})
    problem = await resp.json()
    assert resp.status == 409 and problem["code"] == "parcel_on_return_leg" and problem["return_leg"] == leg_tn
    assert leg_tn in problem["detail"] and problem["detail_fa"]

    # home: scanned like any parcel, and planned by the shop's office once it is there
    dest = leg["delivering_office"]
    await move(client, staff, leg_tn, to_office(leg)[1:])
    planned, _ = await office_parcels(redis, dest, today_iran())
    assert leg_tn in {p["tracking_number"] for p in planned}
    await move(client, staff, leg_tn, [("out_for_delivery", dest), ("delivered", dest)])
    await cases.consume()  # the leg's delivery brings the original home
    original = await _get(client, shop, tn)
    assert original["status"] == "returned" and original["return_leg"] == leg_tn
    last = original["history"][-1]
    assert last["type"] == "returned_to_sender" and last["data"] == {"return_leg": leg_tn, "by": "return_leg_delivered"}
    listed = await (await client.get("/v1/shipments?status=returned", headers=shop.headers)).json()
    assert tn in {s["tracking_number"] for s in listed["items"]}
    await cases.consume()  # the original's return closes its case
    case = await (await client.get(f"/v1/ndr/{tn}", headers=shop.headers)).json()
    assert case["status"] == "returned"

    # COD is never collected on a return
    resp = await client.post("/v1/scans", headers=await staff(dest), json={
        "tracking_number": leg_tn, "event": "cod_collected", "office": dest, "scan_id": f"cod-{leg_tn}",
        "occurred_at": _device_time(), "amount": 12_000_000, "method": "cash"})
    problem = await resp.json()
    assert resp.status == 409 and problem["code"] == "cod_not_on_return", problem
    assert problem["return_of"] == tn and problem["detail_fa"]

    # every step on the shop's feed, in order, for both parcels
    feed = await _feed(client, shop)
    mine = [(e["tracking_number"], e["type"]) for e in feed if e["tracking_number"] in (tn, leg_tn)]
    assert mine.index((tn, "return_started")) < mine.index((leg_tn, "accepted"))
    assert [t for n, t in mine if n == leg_tn] == ["accepted", *[s for s, _ in to_office(leg)[1:]],
                                                   "out_for_delivery", "delivered"]
    assert [t for n, t in mine if n == tn][-2:] == ["returned_to_sender", "ndr_closed"]
    started = next(e for e in feed if e["tracking_number"] == tn and e["type"] == "return_started")
    assert started["data"]["return_leg"] == leg_tn and started["data"]["by"] == "reason"


async def test_the_shops_return_to_sender_makes_one_leg_however_often_asked(client, shop, parcel_at_office, fail,
                                                                            act, cases):
    [tn, other] = await parcel_at_office(2)
    await fail(tn, "cod_not_paid")
    await fail(other, "cod_not_paid")
    # the same decision twice at once, then again, then by the deadline
    results = await asyncio.gather(act(tn, {"action": "return_to_sender"}), act(tn, {"action": "return_to_sender"}))
    assert sorted(s for s, _ in results) == [200, 409]
    ok = next(b for s, b in results if s == 200)
    assert ok["return_leg"] and ok["status"] == "returning"
    assert (await act(tn, {"action": "return_to_sender"}))[0] == 409
    assert await cases.apply_deadlines(now=time.time() + cases.policy.deadline_s * 2) >= 1  # the other one only
    legs = [r for r in await _returns(client, shop) if r["return_of"] == tn]
    assert [r["tracking_number"] for r in legs] == [ok["return_leg"]]
    [event] = [e for e in await _feed(client, shop) if e["tracking_number"] == tn and e["type"] == "ndr_action"]
    assert event["data"]["return_leg"] == ok["return_leg"]
    assert len([e for e in await _feed(client, shop) if e["tracking_number"] == tn and
                e["type"] == "return_started"]) == 1


async def test_a_leg_is_made_once_whatever_reads_the_outbox_again(client, shop, redis, parcel_at_office, fail,
                                                                   cases):
    [tn] = await parcel_at_office()
    await fail(tn, "address_not_found", consume=False)
    dead = CaseService(cases.redis, cases.batcher, cases.registry, cases.policy, "dead-leg-worker",
                       network=cases.network)
    await dead.ensure_groups()
    p = keys.partition_of(shop.id)
    [(_, entries)] = await dead._read_all([p])
    assert entries
    await dead._apply_entries(p, entries)  # applied, then the worker dies before XACK
    await dead._apply_entries(p, entries)  # read again by another: nothing more
    await cases.consume()
    legs = [r for r in await _returns(client, shop) if r["return_of"] == tn]
    assert len(legs) == 1
    assert (await _get(client, shop, tn))["return_leg"] == legs[0]["tracking_number"]
    assert len([e for e in await _feed(client, shop) if e["tracking_number"] == tn and
                e["type"] == "return_started"]) == 1


async def test_the_third_failure_returns_the_parcel_on_a_leg(client, shop, parcel_at_office, fail, act):
    [tn] = await parcel_at_office()
    for i in range(3):
        await fail(tn)
        if i < 2:
            assert (await act(tn, {"action": "reattempt"}))[0] == 200
    case = await (await client.get(f"/v1/ndr/{tn}", headers=shop.headers)).json()
    assert case["returned_by"] == "max_attempts" and case["return_leg"]
    leg = await _get(client, shop, case["return_leg"])
    assert leg["return_of"] == tn and leg["status"] == "in_transit"
    # a leg is no case's to send back again
    status, body = await act(tn, {"action": "return_to_sender"})
    assert status == 409 and body["code"] == "ndr_case_closed"


async def test_the_return_is_on_the_shops_webhooks(client, shop, parcel_at_office, fail, receiver_factory,
                                                   subscribe, dispatch):
    receiver = await receiver_factory()
    await subscribe(shop, receiver, ["return_started", "accepted", "ndr_opened"])
    [tn] = await parcel_at_office()
    await fail(tn, "receiver_moved")
    leg_tn = (await _get(client, shop, tn))["return_leg"]
    await dispatch()
    assert [(e["type"], e["data"].get("return_leg")) for e in receiver.of(tn)][-2:] == [
        ("return_started", leg_tn), ("ndr_opened", leg_tn)]
    assert [(e["type"], e["data"]["return_of"]) for e in receiver.of(leg_tn)] == [("accepted", tn)]


async def test_the_shops_returns_are_listed_newest_first_in_pages(client, make_shop, parcel_at_office, fail):
    shop = await make_shop("returns-lister")
    tns = await parcel_at_office(3, owner=shop)
    for tn in tns:
        await fail(tn, "receiver_refused")
    legs = []
    for tn in tns:
        resp = await client.get(f"/v1/shipments/{tn}", headers=shop.headers)
        legs.append((await resp.json())["return_leg"])
    seen, after = [], None
    while True:
        page = await (await client.get("/v1/returns?limit=1" + (f"&after={after}" if after else ""),
                                       headers=shop.headers)).json()
        seen += [(r["tracking_number"], r["return_of"]) for r in page["data"]]
        if not page["has_more"]:
            break
        after = page["next_after"]
    assert seen == list(reversed(list(zip(legs, tns))))
    assert (await (await client.get("/v1/returns?kind=buyer_return", headers=shop.headers)).json())["data"] == []
    for query, field in (("kind=lost", "kind"), ("after=zzz", "after"), ("limit=0", "limit"), ("limit=101", "limit")):
        resp = await client.get(f"/v1/returns?{query}", headers=shop.headers)
        problem = await resp.json()
        assert resp.status == 422 and problem["errors"][0]["field"] == field, problem
    assert (await client.get("/v1/returns")).status == 401


async def test_the_office_prints_the_legs_label(client, shop, staff, parcel_at_office, fail):
    [tn] = await parcel_at_office()
    await fail(tn, "receiver_refused")
    leg_tn = (await _get(client, shop, tn))["return_leg"]
    url = f"/v1/offices/{OFFICE}/return-labels/{leg_tn}"
    resp = await client.get(url, headers=await staff(OFFICE))
    assert resp.status == 200 and resp.content_type == "application/pdf"
    assert (await resp.read()).startswith(b"%PDF")
    zpl = await client.get(url + "?format=zpl", headers=await staff(OFFICE))
    assert zpl.status == 200 and leg_tn.encode() in await zpl.read()
    leg = await _get(client, shop, leg_tn)
    other = leg["delivering_office"]
    checks = [
        (f"/v1/offices/{other}/return-labels/{leg_tn}", other, 403, "return_label_not_here"),
        (url, other, 403, "office_not_allowed"),
        (f"/v1/offices/{OFFICE}/return-labels/{tn}", OFFICE, 404, "return_leg_not_found"),  # not a leg
        (f"/v1/offices/{OFFICE}/return-labels/EE000000000IR", OFFICE, 404, "return_leg_not_found"),
        (url + "?format=gif", OFFICE, 422, "validation_failed"),
    ]
    for path, office, status, code in checks:
        resp = await client.get(path, headers=await staff(office))
        body = await resp.json()
        assert resp.status == status and body["code"] == code, (path, body)
        assert body["detail_fa"]
    assert (await client.get(url)).status == 401


async def test_a_deadline_that_returns_makes_the_leg_too(client, shop, parcel_at_office, fail, cases):
    from returns.policy import Policy

    [tn] = await parcel_at_office()
    await fail(tn, "business_closed")
    returning = CaseService(cases.redis, cases.batcher, cases.registry, Policy(default_action="return_to_sender"),
                            "deadline-returns", network=cases.network)
    assert await returning.apply_deadlines(now=time.time() + cases.policy.deadline_s + 60) >= 1
    case = await (await client.get(f"/v1/ndr/{tn}", headers=shop.headers)).json()
    assert case["status"] == "returning" and case["returned_by"] == "deadline" and case["return_leg"]
    leg = await _get(client, shop, case["return_leg"])
    assert leg["return_of"] == tn and leg["origin_office"] == OFFICE
    assert await returning.apply_deadlines(now=time.time() + cases.policy.deadline_s + 60) == 0
    assert [r["tracking_number"] for r in await _returns(client, shop) if r["return_of"] == tn] == [leg["tracking_number"]]
