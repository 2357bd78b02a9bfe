"""Scans, webhook dispatch and delivery plans on a real three-node Redis Cluster: every script and pipeline of
the tracking and routing paths respects the hash tags too."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient, TestServer

from booking.shops import ShopRegistry
from gateway.web_app import create_app
from kernel.postal.offices import load_registry
from kernel.settings import Config
from kernel.store.client import async_client
from routing.jobs import PlanWorker
from tests.conftest import TEHRAN_SENDER, VERIFIED_BANK, shipment_body
from tests.tracking.conftest import DEST, ORIGIN, scan
from tracking import web as tracking_web
from tracking.dispatcher import Dispatcher
from tracking.staff import create_staff

pytestmark = pytest.mark.slow


async def test_scans_webhooks_and_plans_on_a_cluster(cluster, tcfg, receiver_factory, tmp_path):
    app = create_app(Config(data_dir=tmp_path, access_log=False, redis_cluster=True), cluster.url)
    app[tracking_web.TRACKING_CONFIG] = tcfg
    async with TestClient(TestServer(app)) as client:
        redis = async_client(cluster.url, cluster=True)
        registry = load_registry()
        staff = {o: {"Authorization": f"Bearer {(await create_staff(redis, registry, o, 'x'))['token']}"}
                 for o in (ORIGIN, DEST)}
        receivers, parcels = [], []
        for i in range(4):  # shops in several partitions, so on several nodes
            shop, key = await ShopRegistry(redis).create(f"c{i}", sender=TEHRAN_SENDER, **VERIFIED_BANK)
            auth = {"Authorization": f"Bearer {key}"}
            rec = await receiver_factory()
            resp = await client.post("/v1/webhooks", json={"url": rec.url, "events": ["*"]}, headers=auth)
            rec.secret = (await resp.json())["secret"]
            receivers.append(rec)
            doc = await (await client.post("/v1/shipments", json=shipment_body(), headers=auth)).json()
            parcels.append((doc["tracking_number"], auth))
        batch = [scan(tn, "accepted", ORIGIN, i) for i, (tn, _) in enumerate(parcels)]
        resp = await client.post("/v1/scans/batch", json={"scans": batch}, headers=staff[ORIGIN])
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["recorded"] == len(parcels), await resp.text()
        dispatcher = Dispatcher(cluster.url, tcfg, cluster=True)
        await asyncio.wait_for(dispatcher.run(burst=True), 60)
        for (tn, auth), rec in zip(parcels, receivers):
            assert [e["type"] for e in rec.of(tn)] == ["booked", "accepted"]
            track = await (await client.get(f"/v1/track/{tn}")).json()
            assert track["status"] == "in_transit"
        # a plan carries parcels at the office: bring them there
        batch = [scan(tn, "arrived_delivery_office", DEST, len(parcels) + i) for i, (tn, _) in enumerate(parcels)]
        resp = await client.post("/v1/scans/batch", json={"scans": batch}, headers=staff[DEST])
        assert (await resp.json())["recorded"] == len(parcels), await resp.text()
        plan = await client.post(f"/v1/offices/{DEST}/plans", headers=staff[DEST],
                                 json={"date": "2030-01-01", "time_limit_s": 1})
        assert plan.status == 202
        assert await PlanWorker(redis).run(burst=True) == 1
        record = await (await client.get(f"/v1/offices/{DEST}/plans/{(await plan.json())['plan_id']}",
                                         headers=staff[DEST])).json()
        assert record["status"] == "done", record
        sheet = await client.get(record["plan"]["postmen"][0]["sheet_url"])  # signed, with the store-held secret
        assert sheet.status == 200, await sheet.text()
        await redis.aclose()
