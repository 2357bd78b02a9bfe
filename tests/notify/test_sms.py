"""Buyer SMS over the real store and real HTTP: each message once, through Kavenegar's API (the local server)."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from kernel.store import keys
from notify import store
from notify.fake_kavenegar import STATE
from notify.policy import TEHRAN
from notify.sender import GROUP, SmsService

from .conftest import for_phone, new_phone


async def _receipts(client, shop, tn: str) -> list[dict]:
    resp = await client.get(f"/v1/shipments/{tn}/notifications", headers=shop.headers)
    assert resp.status == 200, await resp.text()
    return (await resp.json())["data"]


def _at(hour: int, minute: int = 0) -> float:
    return datetime.now(TEHRAN).replace(hour=hour, minute=minute, second=0, microsecond=0).timestamp()


async def test_settings_default_off_and_validated(client, shop, turn_on):
    got = await (await client.get("/v1/notifications", headers=shop.headers)).json()
    assert got["events"] == [] and "delivery_failed" in got["available"]
    assert (await turn_on(["delivered", "booked", "booked"]))["events"] == ["booked", "delivered"]
    resp = await client.put("/v1/notifications", json={"events": ["shipped"]}, headers=shop.headers)
    body = await resp.json()
    assert resp.status == 422 and body["errors"][0]["code"] == "events_invalid" and body["errors"][0]["message_fa"]
    assert (await (await client.get("/v1/notifications", headers=shop.headers)).json())["events"] == [
        "booked", "delivered"]


async def test_off_by_default_nothing_is_sent(client, shop, sms, sent, parcel):
    tn, phone = await parcel()
    await sms.run_once()
    assert for_phone(sent, phone) == [] and await _receipts(client, shop, tn) == []


async def test_booked_sms_with_tracking_link_once_and_receipt_kept(client, shop, sms, sent, parcel, turn_on):
    await turn_on(["booked"])
    tn, phone = await parcel()
    await sms.run_once()
    [msg] = for_phone(sent, phone)
    assert f"http://barid.test/track/{tn}" in msg["message"] and "ثبت شد" in msg["message"]
    assert msg["sender"] == "10008663" and msg["localid"]
    [r] = await _receipts(client, shop, tn)
    assert r["status"] == "sent" and r["event"] == "booked" and r["provider"] == "kavenegar"
    assert r["message_id"] == str(msg["messageid"]) and r["provider_status"] == 1 and r["cost"] == 1200
    assert r["receptor"] == phone and r["tries"] == 1
    # another shop cannot read them
    other = await (await client.get(f"/v1/shipments/{tn}/notifications",
                                    headers={"Authorization": "Bearer nope"})).json()
    assert other["status"] == 401


async def test_two_workers_and_a_replayed_event_send_each_sms_once(client, shop, redis, sms, sent, parcel, turn_on,
                                                                  scan):
    await turn_on(["booked", "out_for_delivery", "delivery_failed", "delivered"])
    tn, phone = await parcel(at_office=True)
    await scan(tn, "out_for_delivery", "delivery_failed")
    await scan(tn, "out_for_delivery", "delivered")
    second = SmsService(sms.redis, sms.batcher, sms.registry, sms.policy, sms.settings, sms.provider, "worker-2")
    await asyncio.gather(sms.consume(), second.consume(), sms.consume())
    await asyncio.gather(sms.send_due(), second.send_due(), sms.send_due(), second.send_due())
    # the outbox replayed from its start to the group: the same events again, and both workers again
    p = keys.partition_of(shop.id)
    await redis.xgroup_setid(keys.partition_events(p), GROUP, "0")
    await asyncio.gather(sms.run_once(), second.run_once())
    # a claimed message whose marker is gone (say, a lease passed) is still refused by the sent marker
    await asyncio.gather(sms.run_once(), second.run_once())
    texts = [m["message"] for m in for_phone(sent, phone)]
    assert len(texts) == 5, texts  # booked, out for delivery twice, failed, delivered
    assert sum("تحویل داده شد" in t for t in texts) == 1 and sum("ناموفق" in t for t in texts) == 1
    receipts = await _receipts(client, shop, tn)
    assert len(receipts) == 5 and {r["status"] for r in receipts} == {"sent"}
    assert len({r["message_id"] for r in receipts}) == 5


async def test_provider_failure_is_retried_with_backoff_then_sent(client, shop, sms, sent, fake, parcel, turn_on):
    await turn_on(["booked"])
    fake.app[STATE]["fail"] = {"times": 1, "status": 418}
    tn, phone = await parcel()
    await sms.run_once()
    assert for_phone(sent, phone) == []
    [r] = await _receipts(client, shop, tn)
    assert r["status"] == "retrying" and r["tries"] == 1 and r["error"]["status"] == 418
    due = datetime.fromisoformat(r["due_at"].replace("Z", "+00:00")).timestamp()
    assert due > sms.clock() + sms.policy.retry_schedule[0] * 0.75  # backoff, not at once
    await sms.send_due()
    assert for_phone(sent, phone) == []  # not due yet
    sms.clock = lambda: due + 1
    await sms.send_due()
    [msg] = for_phone(sent, phone)
    [r] = await _receipts(client, shop, tn)
    assert r["status"] == "sent" and r["tries"] == 2 and r["message_id"] == str(msg["messageid"])


async def test_a_permanent_refusal_is_failed_not_retried(client, shop, sms, sent, fake, parcel, turn_on):
    await turn_on(["booked"])
    fake.app[STATE]["fail"] = {"times": 5, "status": 411}
    tn, phone = await parcel()
    await sms.run_once()
    [r] = await _receipts(client, shop, tn)
    assert r["status"] == "failed" and r["error"]["status"] == 411 and fake.app[STATE]["fail"]["times"] == 4


async def test_quiet_hours_defer_to_the_morning_not_drop(client, shop, redis, sms, sent, parcel, turn_on):
    await turn_on(["booked"])
    sms.clock = lambda: _at(23, 30)
    tn, phone = await parcel()
    await sms.run_once()
    assert for_phone(sent, phone) == []
    [r] = await _receipts(client, shop, tn)
    assert r["status"] == "deferred"
    morning = datetime.fromisoformat(r["due_at"].replace("Z", "+00:00")).astimezone(TEHRAN)
    assert (morning.hour, morning.minute) == (8, 0) and morning.date() > datetime.fromtimestamp(_at(23, 30),
                                                                                                 TEHRAN).date()
    sms.clock = lambda: morning.timestamp() - 60  # 07:59: still quiet
    await sms.send_due()
    assert for_phone(sent, phone) == []
    sms.clock = lambda: morning.timestamp() + 1
    await sms.send_due()
    assert len(for_phone(sent, phone)) == 1
    assert (await _receipts(client, shop, tn))[0]["status"] == "sent"


async def test_opted_out_number_gets_nothing(client, shop, sms, sent, parcel, turn_on, staff, redis):
    await turn_on(["booked", "out_for_delivery"])
    phone = new_phone()
    resp = await client.post("/v1/sms-opt-outs", json={"phone": "+98" + phone[1:]}, headers=shop.headers)
    assert resp.status == 201 and (await resp.json())["phone"] == phone
    again = await client.post("/v1/sms-opt-outs", json={"phone": phone}, headers=await staff("IFN-01"))
    assert again.status == 200  # an operator (staff token) may too; already out
    bad = await client.post("/v1/sms-opt-outs", json={"phone": "12"}, headers=shop.headers)
    assert bad.status == 422 and (await bad.json())["errors"][0]["field"] == "phone"
    tn, _ = await parcel(phone=phone)
    await sms.run_once()
    assert for_phone(sent, phone) == []
    [r] = await _receipts(client, shop, tn)
    assert r["status"] == "opted_out"
    assert not await redis.sismember(store.OPT_OUTS, phone)  # the set holds hashes, not numbers


async def test_opt_out_after_queueing_stops_the_queued_message(client, shop, sms, sent, parcel, turn_on):
    await turn_on(["booked"])
    sms.clock = lambda: _at(22)
    tn, phone = await parcel()
    await sms.consume()  # deferred to the morning
    assert (await client.post("/v1/sms-opt-outs", json={"phone": phone}, headers=shop.headers)).status == 201
    sms.clock = lambda: _at(12) + 86400
    await sms.send_due()
    assert for_phone(sent, phone) == []
    assert (await _receipts(client, shop, tn))[0]["status"] == "opted_out"


async def test_out_for_delivery_window_and_delivery_code(client, shop, sms, sent, parcel, turn_on, scan):
    async def code(tn: str) -> str | None:
        return "4821"

    sms.delivery_code = code
    await turn_on(["out_for_delivery"])
    tn, phone = await parcel(at_office=True)
    await scan(tn, "out_for_delivery")
    await sms.run_once()
    [msg] = for_phone(sent, phone)
    assert "۰۹:۰۰" in msg["message"] and "۱۷:۰۰" in msg["message"] and "۴۸۲۱" in msg["message"]


async def test_held_at_office_names_the_office_address_and_hours(client, shop, sms, sent, parcel, turn_on, scan,
                                                                 cases):
    await turn_on(["held_at_office"])
    tn, phone = await parcel(at_office=True)
    await scan(tn, "out_for_delivery", "delivery_failed")
    await cases.consume()
    resp = await client.post(f"/v1/ndr/{tn}/actions", json={"action": "hold_at_office"},
                             headers={**shop.headers, "Idempotency-Key": f"hold-{tn}"})
    assert resp.status == 200, await resp.text()
    await sms.run_once()
    [msg] = for_phone(sent, phone)
    assert "چهارباغ" in msg["message"] and "ساعت کار" in msg["message"] and "۷:۳۰" in msg["message"]


async def test_unknown_parcel_receipts_are_404(client, shop, make_shop, parcel):
    tn, _ = await parcel()
    other = await make_shop("other-shop")
    resp = await client.get(f"/v1/shipments/{tn}/notifications", headers=other.headers)
    body = await resp.json()
    assert resp.status == 404 and body["code"] == "shipment_not_found" and body["detail_fa"]


@pytest.mark.sms_policy(lease_s=0.3)
async def test_a_worker_killed_after_the_provider_took_it_does_not_send_twice(client, shop, sms, sent, parcel,
                                                                             turn_on):
    real = sms.provider

    class DiesAfterSending:
        name = "kavenegar"

        async def send(self, receptor, message, local_id):
            await real.send(receptor, message, local_id)
            raise RuntimeError("killed before the receipt was stored")

    await turn_on(["booked"])
    tn, phone = await parcel()
    await sms.consume()
    sms.provider = DiesAfterSending()
    with pytest.raises(RuntimeError):
        await sms.send_due()
    assert len(for_phone(sent, phone)) == 1
    assert (await _receipts(client, shop, tn))[0]["status"] == "queued"  # no receipt yet
    sms.provider = real
    await sms.send_due()  # within the lease: nobody takes it
    await asyncio.sleep(0.4)
    start = sms.clock()
    sms.clock = lambda: start + 1  # the lease has passed: another worker takes it, with the same local id
    await sms.send_due()
    assert len(for_phone(sent, phone)) == 1
    [r] = await _receipts(client, shop, tn)
    assert r["status"] == "sent" and r["message_id"] == str(for_phone(sent, phone)[0]["messageid"])
