"""Webhook endpoints: registration, SSRF guard, filters, pause/resume, rotation, retries, 410, dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time

import pytest
from standardwebhooks import Webhook

from kernel.store import keys
from tests.tracking.conftest import ORIGIN, life, scan
from tracking.dispatcher import WAKE_BLOCK_S, Dispatcher
from tracking.ssrf import BlockedAddress, GuardedResolver


async def test_endpoint_lifecycle(client, shop, receiver_factory):
    rec = await receiver_factory()
    resp = await client.post("/v1/webhooks", json={"url": rec.url, "events": ["delivered"]}, headers=shop.headers)
    ep = await resp.json()
    assert resp.status == 201 and ep["id"].startswith("ep_") and ep["secret"].startswith("whsec_")
    listed = (await (await client.get("/v1/webhooks", headers=shop.headers)).json())["data"]
    assert [e["id"] for e in listed] == [ep["id"]] and "secret" not in listed[0] and "secrets" not in listed[0]
    paused = await (await client.post(f"/v1/webhooks/{ep['id']}/pause", headers=shop.headers)).json()
    assert paused["status"] == "paused"
    assert (await client.delete(f"/v1/webhooks/{ep['id']}", headers=shop.headers)).status == 204
    resp = await client.get(f"/v1/webhooks/{ep['id']}", headers=shop.headers)
    assert resp.status == 404 and (await resp.json())["code"] == "webhook_endpoint_not_found"


@pytest.mark.parametrize("url", ["http://10.0.0.5/hook", "http://169.254.169.254/latest/meta-data",
                                 "http://[::1]/hook", "http://localhost/hook", "ftp://example.com/x",
                                 "http://user:pw@8.8.8.8/hook", "http://[::ffff:192.168.1.1]/x"])
async def test_private_or_odd_urls_are_refused(client, shop, url):
    resp = await client.post("/v1/webhooks", json={"url": url}, headers=shop.headers)
    body = await resp.json()
    assert resp.status == 422 and body["errors"][0]["field"] == "url", body


async def test_delivery_resolver_drops_private_addresses():
    with pytest.raises(BlockedAddress):
        await GuardedResolver(frozenset()).resolve("localhost", 80)
    assert await GuardedResolver(frozenset({"localhost"})).resolve("localhost", 80)


async def test_event_filter(client, shop, book, post_scans, subscribe, receiver_factory, dispatch):
    rec = await receiver_factory()
    await subscribe(shop, rec, events=["delivered", "cod_collected"])
    tn = await book(shop)
    await post_scans(life(tn))
    await dispatch()
    assert [e["type"] for e in rec.of(tn)] == ["delivered", "cod_collected"]


async def test_paused_endpoint_waits_and_resume_delivers_in_order(client, shop, book, post_scans, subscribe,
                                                                  receiver_factory, dispatch):
    rec = await receiver_factory()
    ep = await subscribe(shop, rec)
    await client.post(f"/v1/webhooks/{ep['id']}/pause", headers=shop.headers)
    tn = await book(shop)
    await post_scans(life(tn)[:3])
    await dispatch()  # returns although the paused endpoint's events wait
    assert rec.of(tn) == []
    await client.post(f"/v1/webhooks/{ep['id']}/resume", headers=shop.headers)
    await dispatch()
    assert [e["id"] for e in rec.of(tn)] == [f"evt_{tn}_{i}" for i in range(1, 5)]


async def test_rotation_keeps_old_secret_valid_for_a_while(client, shop, book, subscribe, receiver_factory,
                                                           dispatch, post_scans):
    rec = await receiver_factory()
    ep = await subscribe(shop, rec)
    old = rec.secret
    rotated = await (await client.post(f"/v1/webhooks/{ep['id']}/rotate-secret", headers=shop.headers)).json()
    assert rotated["secret"] != old and rotated["previous_secret_expires_at"]
    verified_with_new = []
    rec.on_event = lambda e: verified_with_new.append(e)
    rec.secret = old  # a storefront that has not switched yet still verifies
    tn = await book(shop)
    await dispatch()
    assert [e["type"] for e in rec.of(tn)] == ["booked"]
    rec.secret = rotated["secret"]  # and one that has switched verifies too
    await post_scans([scan(tn, "accepted", ORIGIN, 1)])
    await dispatch()
    assert [e["type"] for e in rec.of(tn)] == ["booked", "accepted"] and rec.bad_signatures == 0


async def test_failures_are_retried_in_order_and_retry_after_is_honoured(client, shop, book, post_scans,
                                                                         subscribe, receiver_factory, dispatch):
    rec = await receiver_factory()
    await subscribe(shop, rec)
    rec.script = [(500, {}), (503, {"Retry-After": "1"})]
    tn = await book(shop)
    await post_scans(life(tn)[:2])
    times = []
    rec.on_event = lambda e: times.append(time.monotonic())
    start = time.monotonic()
    await dispatch()
    assert rec.requests == 5  # 2 failures of the first event, then the three events
    assert [e["id"] for e in rec.of(tn)] == [f"evt_{tn}_{i}" for i in range(1, 4)]
    assert times[0] - start >= 1.0  # waited for Retry-After rather than the 100 ms schedule


async def test_gone_disables_endpoint_and_replay_delivers_dead_events(client, shop, book, post_scans, subscribe,
                                                                      receiver_factory, dispatch, redis):
    rec = await receiver_factory()
    ep = await subscribe(shop, rec)
    rec.script = [(410, {})]
    tn = await book(shop)
    await post_scans(life(tn)[:2])
    await dispatch()
    got = await (await client.get(f"/v1/webhooks/{ep['id']}", headers=shop.headers)).json()
    assert got["status"] == "disabled" and "410" in got["disabled_reason"]
    assert rec.requests == 1 and rec.of(tn) == []
    dead = await redis.zrange(keys.webhook_dead(keys.partition_of(shop.id)), 0, -1)
    mine = [m for m in dead if m.startswith(f"{shop.id}|{ep['id']}|".encode())]
    # the one that met the 410, then the two disabled behind it, each with its reason
    assert sorted(m.split(b"|")[3] for m in mine) == [b"endpoint_disabled", b"endpoint_disabled", b"gone_410"]
    # The shop fixes its store, resumes and replays the window: everything arrives, in order.
    await client.post(f"/v1/webhooks/{ep['id']}/resume", headers=shop.headers)
    resp = await client.post(f"/v1/webhooks/{ep['id']}/replay", headers=shop.headers,
                             json={"from": "2020-01-01T00:00:00Z"})
    assert (await resp.json())["replayed"] == 3
    await dispatch()
    assert [e["id"] for e in rec.of(tn)] == [f"evt_{tn}_{i}" for i in range(1, 4)]


async def test_last_failure_goes_dead_and_next_event_still_flows(client, shop, book, post_scans, subscribe,
                                                                 receiver_factory, dispatch, redis):
    rec = await receiver_factory()
    await subscribe(shop, rec)
    rec.script = [(500, {})] * 4  # first try + 3 retries of the schedule
    tn = await book(shop)
    await post_scans([scan(tn, "accepted", ORIGIN, 1)])
    await dispatch()
    assert [e["type"] for e in rec.of(tn)] == ["accepted"]  # booked went dead, accepted was delivered
    dead = await redis.zrange(keys.webhook_dead(keys.partition_of(shop.id)), 0, -1)
    assert any(f"evt_{tn}_1".encode() in m and b"|retries_exhausted|" in m for m in dead)


async def test_slow_storefront_does_not_delay_another(client, make_shop, book, post_scans, subscribe,
                                                      receiver_factory, store_url, tcfg):
    # Few slots on purpose: the hanging storefront may take its share of them, never all.
    cfg = dataclasses.replace(tcfg, max_in_flight=8, max_in_flight_per_endpoint=4, delivery_timeout_s=2.0,
                              claim_idle_s=3.0)

    slow_shop, fast_shop = await make_shop("slow"), await make_shop("fast")
    slow, fast = await receiver_factory(), await receiver_factory()
    slow.hold = asyncio.Event()  # never answers (until the end of the test)
    await subscribe(slow_shop, slow)
    await subscribe(fast_shop, fast)
    slow_tns = [await book(slow_shop) for _ in range(20)]
    fast_tns = [await book(fast_shop) for _ in range(20)]
    for tn in slow_tns + fast_tns:
        await post_scans([scan(tn, "accepted", ORIGIN, 1)])
    d = Dispatcher(store_url, cfg)
    task = asyncio.create_task(d.run())
    try:
        deadline = time.monotonic() + 3
        while len(fast.unique()) < 40 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert len(fast.unique()) == 40 and slow.requests > 0 and slow.events == []
    finally:
        slow.hold.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_standard_webhooks_sign_matches_the_reference():
    from tracking.webhooks import new_secret, secret_key, sign

    secret = new_secret()
    body = b'{"id":"evt_X_1"}'
    header = sign([secret_key(secret)], "evt_X_1", 1_700_000_000, body)
    assert header == Webhook(secret).sign("evt_X_1", __import__("datetime").datetime.fromtimestamp(1_700_000_000),
                                          body.decode())


async def test_an_idle_dispatcher_waits_without_errors(store_url, tcfg, caplog):
    # Quiet partitions' wake-up reads wait WAKE_BLOCK_S in the store each time; none may fail as a timeout.
    task = asyncio.create_task(Dispatcher(store_url, tcfg).run())
    with caplog.at_level(logging.WARNING, logger="barid.dispatcher"):
        await asyncio.sleep(WAKE_BLOCK_S + 1.5)
        assert not task.done()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert [r.getMessage() for r in caplog.records if r.name == "barid.dispatcher"] == []
