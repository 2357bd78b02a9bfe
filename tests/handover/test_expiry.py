"""Parcels booked and never handed over expire: the system cancels them with their event, once, whatever the number
of workers; a handed-over parcel never expires; the shop sees what is about to."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from handover.expiry import Expirer
from handover.pickup_rules import load_rules
from kernel.app_keys import BATCHER, REDIS
from kernel.postal.offices import load_registry
from kernel.postal.timeutil import iso_ms
from kernel.store import keys
from tests.conftest import shipment_body
from tracking.staff import create_staff

DAY = 86_400


async def _book(client, shop) -> str:
    resp = await client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)
    assert resp.status == 201, await resp.text()
    return (await resp.json())["tracking_number"]


async def test_parcels_not_handed_over_expire_once_with_their_event(app_client, shop, redis):
    waiting = [await _book(app_client, shop) for _ in range(3)]
    handed = await _book(app_client, shop)
    origin = (await (await app_client.get(f"/v1/shipments/{handed}", headers=shop.headers)).json())["origin_office"]
    clerk = await create_staff(redis, load_registry(), origin, "باجه")
    scan = await app_client.post("/v1/scans", json={"tracking_number": handed, "event": "accepted", "office": origin,
                                                    "occurred_at": iso_ms(time.time()), "scan_id": f"x-{handed}"},
                                 headers={"Authorization": f"Bearer {clerk['token']}"})
    assert scan.status in (200, 201), await scan.text()
    rules = load_rules()
    assert rules.expiry_days == 7
    app = app_client.app
    workers = [Expirer(app[REDIS], app[BATCHER], rules) for _ in range(3)]

    # A day before the expiry nothing goes; the shop sees them expiring within two days.
    assert await workers[0].run_once(time.time() + 6 * DAY) == 0  # every shop of the store walked
    for tn in waiting:
        assert (await (await app_client.get(f"/v1/shipments/{tn}", headers=shop.headers)).json())["status"] == \
            "pre_transit"
    soon = await (await app_client.get("/v1/shipments/expiring?within_days=7", headers=shop.headers)).json()
    assert [x["tracking_number"] for x in soon["data"]] == waiting and soon["not_handed_over_days"] == 7
    first = soon["data"][0]
    assert first["expires_at"] > first["booked_at"]
    none = await (await app_client.get("/v1/shipments/expiring?within_days=0", headers=shop.headers)).json()
    assert none["data"] == []

    # Eight days on, three workers at once: each waiting parcel is cancelled exactly once. (Only this shop: the
    # store is shared with other tests, whose parcels would all be eight days old too.)
    later = time.time() + 8 * DAY
    done = await asyncio.gather(*(w.run_once(later, shops=[shop.id]) for w in workers))
    assert sum(done) == 3
    for tn in waiting:
        parcel = await (await app_client.get(f"/v1/shipments/{tn}", headers=shop.headers)).json()
        assert parcel["status"] == "cancelled"
        cancels = [e for e in parcel["history"] if e["type"] == "cancelled"]
        assert len(cancels) == 1 and cancels[0]["data"]["reason"] == "not_handed_over"
    accepted = await (await app_client.get(f"/v1/shipments/{handed}", headers=shop.headers)).json()
    assert accepted["status"] == "in_transit"
    events = (await (await app_client.get("/v1/events?limit=1000", headers=shop.headers)).json())["data"]
    assert sorted(e["tracking_number"] for e in events if e["type"] == "cancelled") == sorted(waiting)
    outbox = await redis.xrange(keys.partition_events(keys.partition_of(shop.id)))
    assert sum(b"not_handed_over" in f[b"e"] and f[b"t"].decode() in waiting for _, f in outbox) == 3
    assert await redis.zcard(keys.shop_status_index(shop.id, "pre_transit")) == 0
    assert (await (await app_client.get("/v1/shipments/expiring", headers=shop.headers)).json())["data"] == []


async def test_expiring_refuses_a_bad_range(app_client, shop):
    for bad in ("-1", "x", "366"):
        resp = await app_client.get(f"/v1/shipments/expiring?within_days={bad}", headers=shop.headers)
        assert resp.status == 422 and (await resp.json())["errors"][0]["field"] == "within_days"


async def test_the_gateway_runs_the_expiry_worker(aiohttp_client, config, store_url, make_shop, redis):
    from gateway.web_app import create_app  # the composition root, as `up` builds it

    await redis.delete("barid:handover:expiry:lease")
    client = await aiohttp_client(create_app(replace(config, expiry_interval_s=0.05), store_url))
    shop = await make_shop("old-parcels")
    tn = await _book(client, shop)
    # Age the booking by eight days, as the store would hold it (index member and created_ms both).
    index = keys.shop_status_index(shop.id, "pre_transit")
    [member] = await redis.zrange(index, 0, -1)
    old_ms = int((time.time() - 8 * DAY) * 1000)
    await redis.zrem(index, member)
    await redis.zadd(index, {keys.index_member(old_ms, tn): 0})
    await redis.hset(keys.parcel(shop.id, tn), "created_ms", old_ms)
    for _ in range(100):
        status = (await (await client.get(f"/v1/shipments/{tn}", headers=shop.headers)).json())["status"]
        if status == "cancelled":
            break
        await asyncio.sleep(0.05)
    assert status == "cancelled"
