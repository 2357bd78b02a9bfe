"""The booking path on a real three-node Redis Cluster: every script and pipeline respects the hash tags
(the cluster refuses a script whose keys span slots, and a node refuses keys it does not own)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import redis as redis_sync

from booking.shops import ShopRegistry
from gateway.web_app import create_app
from kernel.store import keys
from kernel.store.client import async_client
from kernel.store.upgrade import upgrade
from tests.conftest import TEHRAN_SENDER, VERIFIED_BANK, shipment_body
from tests.gateway.test_upgrade import legacy_history

pytestmark = pytest.mark.slow


async def test_booking_reading_listing_cancelling_on_a_cluster(aiohttp_client, config, cluster):
    client = await aiohttp_client(create_app(replace(config, redis_cluster=True), cluster.url))
    redis = async_client(cluster.url, cluster=True)
    shops = [await ShopRegistry(redis).create(f"shop{i}", sender=TEHRAN_SENDER, **VERIFIED_BANK) for i in range(6)]
    assert len({shop.id % 64 for shop, _ in shops}) == 6  # several partitions, so several nodes
    for shop, key in shops:
        h = {"Authorization": f"Bearer {key}"}
        one = await client.post("/v1/shipments", json=shipment_body(), headers={**h, "Idempotency-Key": "i"})
        assert one.status == 201, await one.text()
        replay = await client.post("/v1/shipments", json=shipment_body(), headers={**h, "Idempotency-Key": "i"})
        assert await replay.read() == await one.read()
        batch = await client.post("/v1/shipments/batch", json={"shipments": [shipment_body()] * 3}, headers=h)
        assert (await batch.json())["booked"] == 3
        tn = (await one.json())["tracking_number"]
        assert (await client.get(f"/v1/shipments/{tn}", headers=h)).status == 200
        listed = await (await client.get("/v1/shipments", headers=h)).json()
        assert len(listed["items"]) == 4
        assert (await client.post(f"/v1/shipments/{tn}/cancel", headers=h)).status == 200
        assert (await client.post("/v1/quotes", json=shipment_body(), headers=h)).status == 200
    listed = {s.id for s in await ShopRegistry(redis).list()}  # the cluster is shared by the session
    assert {shop.id for shop, _ in shops} <= listed
    await redis.aclose()


async def test_start_up_upgrade_walks_every_node(aiohttp_client, config, cluster):
    """Layout-1 histories on several nodes all move into their parcel hashes (SCAN per node, MULTI per slot)."""
    client = await aiohttp_client(create_app(replace(config, redis_cluster=True), cluster.url))
    redis = async_client(cluster.url, cluster=True)
    sync = redis_sync.RedisCluster.from_url(cluster.url)
    parcels = []
    for i in range(4):
        shop, key = await ShopRegistry(redis).create(f"upgraded{i}", sender=TEHRAN_SENDER, **VERIFIED_BANK)
        h = {"Authorization": f"Bearer {key}"}
        tn = (await (await client.post("/v1/shipments", json=shipment_body(), headers=h)).json())["tracking_number"]
        legacy_history(sync, shop.id, tn)
        parcels.append((h, tn))
    await redis.delete(keys.LAYOUT)
    assert await upgrade(redis) >= 4
    for h, tn in parcels:
        history = (await (await client.get(f"/v1/shipments/{tn}", headers=h)).json())["history"]
        assert [e["type"] for e in history] == ["booked"]
    sync.close()
    await redis.aclose()
