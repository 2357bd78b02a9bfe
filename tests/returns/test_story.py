"""Issue 24's "done when", told as one story through the whole assembled gateway over real HTTP: the real store,
the case worker and the SMS worker running in the app as in a deployed process, the local Kavenegar server the
buyer's SMS go through, a storefront that verifies every signed webhook, and the router's worker for the plans.

A COD parcel that needs the buyer's code fails twice; the buyer answers the first failure from the SMS's
self-service page, the shop reschedules after the second; the router plans it on that day and not before; it is
delivered with the code from the SMS after a wrong one is refused. Another parcel is refused and comes home on a
tracked return leg. The buyer gets each SMS once; every step is on the feed and the webhooks; invalid actions are
clear problems that change nothing."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from gateway.web_app import create_app
from kernel.postal.offices import load_registry
from kernel.settings import Config
from notify.appkeys import SMS, SMS_POLICY, SMS_SETTINGS
from notify.fake_kavenegar import STATE, make_app
from notify.policy import load_policy as load_sms_policy
from notify.selfservice import page_limit_key
from notify.settings import NotifySettings
from returns import web as returns_web
from returns.cases import next_working_day, today_iran
from tests.conftest import shipment_body
from tests.notify.conftest import API_KEY, for_phone, new_phone, tehran_noon_clock
from tests.routing.office_flow import plan_for, to_office
from tracking import web as tracking_web

from .conftest import OFFICE, _device_time, move

LINK = re.compile(r"http://barid\.test(/s/[A-Za-z0-9._-]+)")
CODE = re.compile(r"کد تحویل: ([۰-۹]{6})")
TO_ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")
WORKER_S = 0.05  # the case and SMS workers look this often: a deployed process's loop, only quicker


@pytest.fixture
async def client(aiohttp_client, store_url: str, tmp_path, tcfg, redis, aiohttp_server):
    fake = await aiohttp_server(make_app(API_KEY))
    app = create_app(Config(data_dir=tmp_path, access_log=False), store_url)
    app[tracking_web.TRACKING_CONFIG] = tcfg
    app[returns_web.NDR_SETTINGS] = returns_web.NdrSettings(interval_s=WORKER_S)
    app[SMS_SETTINGS] = NotifySettings(provider_url=str(fake.make_url("")).rstrip("/"), api_key=API_KEY,
                                       sender="10008663", public_url="http://barid.test",
                                       link_secret=b"story-secret-" + bytes([9] * 20), interval_s=WORKER_S)
    app[SMS_POLICY] = load_sms_policy()
    await redis.delete(page_limit_key("127.0.0.1"))  # the buyer's page starts with its whole budget
    c = await aiohttp_client(app)
    c.app[SMS].clock = tehran_noon_clock()  # SMS goes out by day; the story runs at any hour
    c.sent = fake.app[STATE]["sent"]  # type: ignore[attr-defined]
    return c


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 10.0) -> Any:
    """The first truthy answer of ``check``, polled as a client would poll while the workers run."""
    end = time.monotonic() + timeout
    while True:
        got = await check()
        if got:
            return got
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await asyncio.sleep(WORKER_S)


def problem(status: int, body: dict, http: int, code: str) -> None:
    assert status == http and body["code"] == code, body
    assert body["detail"] and body["detail_fa"] and body["status"] == http


async def test_failed_deliveries_returns_sms_and_proof_of_delivery_end_to_end(
        client, shop, redis, staff, receiver_factory, subscribe, dispatch):
    h = shop.headers

    async def get(path: str) -> tuple[int, Any]:
        resp = await client.get(path, headers=h)
        return resp.status, await resp.json()

    async def case(tn: str) -> dict:
        status, body = await get(f"/v1/ndr/{tn}")
        return body if status == 200 else {}

    async def shipment(tn: str) -> dict:
        return (await get(f"/v1/shipments/{tn}"))[1]

    async def act(tn: str, body: dict, key: str) -> tuple[int, dict]:
        resp = await client.post(f"/v1/ndr/{tn}/actions", json=body, headers={**h, "Idempotency-Key": key})
        return resp.status, await resp.json()

    def texts(phone: str) -> list[str]:
        return [m["message"] for m in for_phone(client.sent, phone)]

    async def sms_of(phone: str, kind: str, n: int) -> list[str]:
        """The buyer's SMS of ``kind`` once there are ``n``: the worker sends a batch's messages at once, so two
        scans a moment apart may reach the phone in either order (a day's real scans are hours apart)."""
        def mine() -> list[str]:
            return [t for t in texts(phone) if _kind(t) == kind]

        await eventually(lambda: _ready(len(mine()) >= n), f"{n} {kind} SMS to {phone}")
        return mine()

    # -- the shop turns the buyer's SMS on and subscribes a storefront to every event
    resp = await client.put("/v1/notifications", json={"events": ["booked", "out_for_delivery", "delivery_failed",
                                                                  "delivered"]}, headers=h)
    assert resp.status == 200, await resp.text()
    receiver = await receiver_factory()
    assert (await subscribe(shop, receiver))["events"] == ["*"]

    # -- (1) a COD parcel above the code line: the buyer's code is required by default
    phone_a, phone_b = new_phone(), new_phone()
    booked = []
    for i, phone in enumerate((phone_a, phone_b)):
        body = shipment_body(client_order_id=f"STORY-{time.time_ns()}-{i}")
        body["receiver"] = {**body["receiver"], "phone": phone}
        if i == 0:
            body["payment"] = {"type": "cod", "goods_value": 60_000_000}
        key = f"story-book-{i}-{time.time_ns()}"
        resp = await client.post("/v1/shipments", json=body, headers={**h, "Idempotency-Key": key})
        assert resp.status == 201, await resp.text()
        booked.append(await resp.json())
    doc_a, doc_b = booked
    tn_a, tn_b = doc_a["tracking_number"], doc_b["tracking_number"]
    assert doc_a["delivery_verification"] == "otp" and doc_b["delivery_verification"] == "none"
    assert doc_a["price"]["sms"]  # the SMS add-on is a line of the booking
    for doc in booked:
        await move(client, staff, doc["tracking_number"], to_office(doc))
    assert doc_a["route"][-1] == doc_b["route"][-1] == OFFICE

    # first attempt: the buyer is out
    status, body = await get(f"/v1/ndr/{tn_a}")
    problem(status, body, 404, "ndr_case_not_found")  # no failed attempt yet: no case
    await move(client, staff, tn_a, [("out_for_delivery", OFFICE), ("delivery_failed", OFFICE)],
               reason="receiver_absent")
    opened = await eventually(lambda: case(tn_a), "the first case")
    assert opened["status"] == "open" and opened["attempt_count"] == 1 and opened["default_action"] == "reattempt"

    # (3) the failed-attempt SMS carries the self-service link; the buyer adds notes for the postman
    [failed_sms] = await sms_of(phone_a, "failed", 1)
    path = LINK.search(failed_sms).group(1)
    page = await client.get(path)
    html = await page.text()
    assert page.status == 200 and 'dir="rtl"' in html and tn_a in html
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    chosen = await client.post(path, data={"csrf": csrf, "choice": "notes", "notes": "زنگ دوم، واحد ۴"})
    assert chosen.status == 200 and "انتخاب شما ثبت شد" in await chosen.text()
    after_buyer = await case(tn_a)
    assert after_buyer["status"] == "reattempt" and after_buyer["contact"]["address_notes"] == "زنگ دوم، واحد ۴"
    assert [a["action"] for a in after_buyer["actions"]] == ["update_contact"]

    # second attempt: the phone is off
    await move(client, staff, tn_a, [("out_for_delivery", OFFICE), ("delivery_failed", OFFICE)],
               reason="phone_unreachable")
    twice = await eventually(lambda: _when(case(tn_a), lambda c: c["attempt_count"] == 2), "the second attempt")
    assert [(a["attempt"], a["reason"], a["office"]) for a in twice["attempts"]] == [
        (1, "receiver_absent", OFFICE), (2, "phone_unreachable", OFFICE)]
    assert twice["status"] == "open" and twice["deadline"] and "reschedule" in twice["allowed_actions"]
    listed = (await get(f"/v1/ndr?status=open&office={OFFICE}&limit=100"))[1]
    assert tn_a in {c["tracking_number"] for c in listed["data"]}

    # the shop reschedules: outside the window is a clear 422 that changes nothing
    registry = load_registry()
    target = next_working_day(registry, next_working_day(registry, today_iran()))
    day_before = target - timedelta(days=1)
    too_far = today_iran() + timedelta(days=60)
    status, body = await act(tn_a, {"action": "reschedule", "date": too_far.isoformat()}, f"bad-{tn_a}")
    problem(status, body, 422, "validation_failed")
    assert body["errors"][0]["code"] == "date_out_of_window"
    assert await case(tn_a) == twice
    key = f"resched-{tn_a}"
    status, rescheduled = await act(tn_a, {"action": "reschedule", "date": target.isoformat()}, key)
    assert status == 200, rescheduled
    assert rescheduled["status"] == "rescheduled" and rescheduled["scheduled_for"] == target.isoformat()
    assert await act(tn_a, {"action": "reschedule", "date": target.isoformat()}, key) == (200, rescheduled)

    # the router obeys: not on the plan of the day before, on the plan of its day
    def planned(record: dict) -> set[str]:
        return {t for p in record["plan"]["postmen"] for s in p["stops"] for t in s["parcels"]}

    earlier = planned(await plan_for(client, staff, redis, OFFICE, day_before.isoformat()))
    assert tn_a not in earlier and tn_b in earlier  # the office's other parcel is on it: the plan is not empty
    on_day = await plan_for(client, staff, redis, OFFICE, target.isoformat())
    assert tn_a in planned(on_day)
    [stop] = [s for p in on_day["plan"]["postmen"] for s in p["stops"] if tn_a in s["parcels"]]
    assert {"name": "علی رضایی", "phone": phone_a, "address_notes": "زنگ دوم، واحد ۴"} in stop["receivers"]

    # its day: out for delivery with a fresh code in the buyer's SMS
    old_codes = {CODE.search(t).group(1) for t in await sms_of(phone_a, "out", 2)}
    await move(client, staff, tn_a, [("out_for_delivery", OFFICE)])
    [code_fa] = {CODE.search(t).group(1) for t in await sms_of(phone_a, "out", 3)} - old_codes
    code = code_fa.translate(TO_ASCII)
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    before = await shipment(tn_a)

    def delivered_scan(delivery_code: str, n: int) -> dict:
        return {"tracking_number": tn_a, "event": "delivered", "office": OFFICE, "scan_id": f"story-{tn_a}-{n}",
                "occurred_at": _device_time(), "receiver_name": "علی رضایی", "receiver_relation": "self",
                "delivery_code": delivery_code}

    resp = await client.post("/v1/scans", json=delivered_scan(wrong, 1), headers=await staff(OFFICE))
    problem(resp.status, await resp.json(), 422, "delivery_code_wrong")
    assert await shipment(tn_a) == before
    resp = await client.post("/v1/scans", json=delivered_scan(code_fa, 2), headers=await staff(OFFICE))
    assert resp.status == 201, await resp.text()  # the code as the SMS wrote it, in Persian digits
    closed = await eventually(lambda: _when(case(tn_a), lambda c: c["status"] == "delivered"), "the case closed")
    pod = (await get(f"/v1/shipments/{tn_a}/pod"))[1]
    assert pod["verification"] == "otp" and pod["received_by"]["relation"] == "self"
    assert pod["delivered_by"]["office"] == OFFICE

    # (4) an action on the closed case is a 409 that changes nothing
    status, body = await act(tn_a, {"action": "reattempt"}, f"late-{tn_a}")
    problem(status, body, 409, "ndr_case_closed")
    assert await case(tn_a) == closed
    late = await client.post(path, data={"csrf": csrf, "choice": "hold"})  # the buyer's old link, too late
    assert late.status == 409 and 'dir="rtl"' in await late.text()
    assert await case(tn_a) == closed and (await shipment(tn_a))["status"] == "delivered"

    # -- (2) the other buyer refuses the parcel: it comes home on its own leg
    await move(client, staff, tn_b, [("out_for_delivery", OFFICE), ("delivery_failed", OFFICE)],
               reason="receiver_refused")
    original = await eventually(lambda: _when(shipment(tn_b), lambda s: s.get("return_leg")), "the return leg")
    leg_tn = original["return_leg"]
    assert original["status"] == "returning"
    leg = await shipment(leg_tn)
    assert leg["return_of"] == tn_b and leg["kind"] == "return_to_sender" and leg["payment"] == {"type": "prepaid"}
    assert leg["receiver"] == original["sender"] and leg["origin_office"] == OFFICE
    refused = await case(tn_b)
    assert refused["status"] == "returning" and refused["returned_by"] == "reason" and refused["return_leg"] == leg_tn
    status, body = await act(tn_b, {"action": "reattempt"}, f"refused-{tn_b}")
    problem(status, body, 409, "ndr_case_closed")
    assert await case(tn_b) == refused
    home = leg["delivering_office"]
    await move(client, staff, leg_tn, to_office(leg)[1:] + [("out_for_delivery", home), ("delivered", home)])
    returned = await eventually(lambda: _when(shipment(tn_b), lambda s: s["status"] == "returned"), "returned")
    assert returned["return_leg"] == leg_tn and returned["history"][-1]["type"] == "returned_to_sender"
    await eventually(lambda: _when(case(tn_b), lambda c: c["status"] == "returned"), "the refused case closed")

    # -- (3) each SMS once, as the provider's server saw them
    await sms_of(phone_a, "delivered", 1)
    await sms_of(phone_b, "failed", 1)
    sms_a, sms_b = texts(phone_a), texts(phone_b)
    for _ in range(2):  # the worker again, and again: nothing more goes out
        await client.app[SMS].run_once()
    await asyncio.sleep(WORKER_S * 4)
    assert texts(phone_a) == sms_a and texts(phone_b) == sms_b
    assert Counter(map(_kind, sms_a)) == {"booked": 1, "out": 3, "failed": 2, "delivered": 1}, sms_a
    assert Counter(map(_kind, sms_b)) == {"booked": 1, "out": 1, "failed": 1}, sms_b
    assert f"http://barid.test/track/{tn_a}" in next(t for t in sms_a if _kind(t) == "booked")
    assert all(LINK.search(t) for t in sms_a if _kind(t) == "failed")
    assert not any(LINK.search(t) for t in sms_b)  # a refusal sends the parcel back: no choice to offer
    assert len({CODE.search(t).group(1) for t in sms_a if _kind(t) == "out"}) == 3  # a new code each time out
    assert len({m["localid"] for m in client.sent}) == len(client.sent)
    assert for_phone(client.sent, leg["receiver"]["phone"]) == []  # a return leg texts nobody
    for tn, n in ((tn_a, 7), (tn_b, 3)):
        receipts = (await get(f"/v1/shipments/{tn}/notifications"))[1]["data"]
        assert len(receipts) == n and {r["status"] for r in receipts} == {"sent"}

    # -- (4) every step on the shop's feed, in order, and on the storefront's webhooks, signed
    feed = (await get("/v1/events?limit=1000"))[1]["data"]

    def steps(tn: str) -> list[str]:
        return [e["type"] for e in feed if e["tracking_number"] == tn]

    to_a = [s for s, _ in to_office(doc_a)]
    failed = ["out_for_delivery", "delivery_failed", "ndr_opened"]
    assert steps(tn_a) == ["booked", *to_a, *failed, "ndr_action", *failed, "ndr_action", "out_for_delivery",
                           "delivered", "ndr_closed"], steps(tn_a)
    assert [e["data"]["action"] for e in feed if e["tracking_number"] == tn_a and e["type"] == "ndr_action"] == [
        "update_contact", "reschedule"]
    assert steps(tn_b) == ["booked", *[s for s, _ in to_office(doc_b)], "out_for_delivery", "delivery_failed",
                           "return_started", "ndr_opened", "returned_to_sender", "ndr_closed"], steps(tn_b)
    assert steps(leg_tn) == ["accepted", *[s for s, _ in to_office(leg)[1:]], "out_for_delivery", "delivered"]
    await dispatch()
    assert receiver.bad_signatures == 0
    for tn in (tn_a, tn_b, leg_tn):
        mine = [e for e in feed if e["tracking_number"] == tn]
        assert [(e["id"], e["type"]) for e in receiver.of(tn)] == [(e["id"], e["type"]) for e in mine], tn


async def _ready(value: Any) -> Any:
    return value


async def _when(fetch: Awaitable[dict], test: Callable[[dict], Any]) -> dict:
    got = await fetch
    return got if got and test(got) else {}


def _kind(text: str) -> str:
    for word, kind in (("ناموفق", "failed"), ("تحویل داده شد", "delivered"), ("ثبت شد", "booked"),
                       ("به دستتان می‌رسد", "out")):
        if word in text:
            return kind
    return text
