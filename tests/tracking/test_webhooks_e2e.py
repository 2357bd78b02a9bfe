"""End to end on the real store: scans -> outbox -> dispatcher -> signed webhooks at real storefronts."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import time

from tests.tracking.conftest import life
from tracking.dispatcher import Dispatcher


async def test_every_event_arrives_once_in_order_verified(client, shop, book, post_scans, subscribe,
                                                          receiver_factory, dispatch):
    rec = await receiver_factory()
    await subscribe(shop, rec)
    tns = [await book(shop) for _ in range(3)]
    for tn in tns:
        assert all(r["http"] == 201 for r in await post_scans(life(tn)))
    await dispatch()
    assert rec.bad_signatures == 0
    assert len(rec.ids) == len(set(rec.ids)) == 30  # once per id
    for tn in tns:
        got = rec.of(tn)
        assert [e["type"] for e in got] == ["booked", *[s["event"] for s in life(tn)]]
        assert [e["id"] for e in got] == [f"evt_{tn}_{i}" for i in range(1, 11)]  # in order
        assert got[-1]["data"]["amount"] == 12_000_000


async def test_storefront_down_for_a_while_then_back_gets_everything(client, shop, book, post_scans, subscribe,
                                                                     storefronts, receiver_factory, store_url,
                                                                     tcfg):
    rec = await receiver_factory()
    front = storefronts[-1]
    await subscribe(shop, rec)
    await front.stop()
    cfg = dataclasses.replace(tcfg, retry_schedule=(0.2, 0.4, 0.8, 1.6, 3.2))
    dispatcher = asyncio.create_task(Dispatcher(store_url, cfg).run())
    try:
        tns = [await book(shop) for _ in range(5)]
        for tn in tns:
            await post_scans(life(tn))
        await asyncio.sleep(1.5)  # every parcel's head has failed and is backing off
        assert rec.requests == 0
        await front.start()
        deadline = time.monotonic() + 15
        while len(rec.unique()) < 50 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        dispatcher.cancel()
        await asyncio.gather(dispatcher, return_exceptions=True)
    for tn in tns:
        assert [e["id"] for e in rec.of(tn)] == [f"evt_{tn}_{i}" for i in range(1, 11)]


async def test_dispatcher_killed_mid_delivery_loses_nothing(client, shop, book, post_scans, subscribe,
                                                            receiver_factory, store_url, dispatch):
    rec = await receiver_factory()
    await subscribe(shop, rec)
    rec.hold = asyncio.Event()
    tns = [await book(shop) for _ in range(3)]
    for tn in tns:
        await post_scans(life(tn))
    env = {**os.environ, "REDIS_URL": store_url, "BARID_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
           "BARID_WEBHOOK_CLAIM_IDLE_S": "2", "BARID_WEBHOOK_TIMEOUT_S": "1",
           "BARID_WEBHOOK_RETRY_SCHEDULE": "0.05,0.1,0.2"}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "tracking", "dispatch", env=env,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        await asyncio.wait_for(rec.arrived.wait(), 20)  # its first deliveries are in flight...
    finally:
        proc.kill()  # ...when it dies (SIGKILL: no cleanup)
        await proc.wait()
    rec.hold.set()
    assert rec.events == []
    await dispatch()  # another dispatcher takes over the abandoned leases once they expire
    assert rec.bad_signatures == 0
    for tn in tns:
        assert [e["id"] for e in rec.of(tn)] == [f"evt_{tn}_{i}" for i in range(1, 11)]


async def test_two_dispatchers_share_the_work_and_keep_per_parcel_order(client, shop, book, staff, subscribe,
                                                                        receiver_factory, dispatch):
    rec = await receiver_factory()
    await subscribe(shop, rec)
    tns = [await book(shop) for _ in range(20)]
    batch = [s for tn in tns for s in life(tn)]
    by_office: dict[str, list] = {}
    for s in batch:
        by_office.setdefault(s["office"], []).append(s)
    for office, scans in by_office.items():
        resp = await client.post("/v1/scans/batch", json={"scans": scans}, headers=staff[office])
        assert (await resp.json())["rejected"] == 0
    first, second = await asyncio.gather(dispatch(), dispatch())
    assert first.delivered + second.delivered >= 200
    for tn in tns:
        assert [e["id"] for e in rec.of(tn)] == [f"evt_{tn}_{i}" for i in range(1, 11)]
    # Order per parcel holds for every delivery, not only for the first of each id.
    for tn in tns:
        seqs = [int(e["id"].rsplit("_", 1)[1]) for e in rec.events if e["tracking_number"] == tn]
        assert seqs == sorted(seqs)


async def test_late_and_duplicate_scans_reach_the_shop_with_the_right_status(client, shop, book, post_scans,
                                                                             subscribe, receiver_factory,
                                                                             dispatch):
    rec = await receiver_factory()
    await subscribe(shop, rec)
    tn = await book(shop)
    scans = life(tn)
    delivered = next(s for s in scans if s["event"] == "delivered")
    late = [s for s in scans if s["event"] in ("sorting_in", "sorting_out")]
    early = [s for s in scans if s not in late]
    await post_scans(early)
    await post_scans(late + [delivered])  # the hub's offline uploads, and the delivery sent twice
    await dispatch()
    got = rec.of(tn)
    assert len(got) == 10 and [e["id"] for e in got] == [f"evt_{tn}_{i}" for i in range(1, 11)]
    assert [e["status"] for e in got[-4:]] == ["delivered"] * 4  # late transit scans never undo delivery
    assert sum(e["type"] == "delivered" for e in got) == 1
