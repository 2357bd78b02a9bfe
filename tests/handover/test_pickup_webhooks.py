"""A shop's webhook receives its pickups' changes, in order, signed and delivered like parcel events."""

from __future__ import annotations

from datetime import datetime

from handover.pickup_web import PICKUPS
from kernel.postal.offices import load_registry
from kernel.postal.timeutil import IRAN_TIME
from tests.tracking.conftest import (  # noqa: F401  (fixtures)
    client,
    dispatch,
    receiver_factory,
    storefronts,
    subscribe,
    tcfg,
)
from tracking.staff import create_staff


async def test_pickup_changes_reach_the_shop_s_webhook(  # noqa: F811  (pytest fixtures as parameters)
        client, shop, redis, receiver_factory, subscribe, dispatch):  # noqa: F811
    client.app[PICKUPS].clock = lambda: datetime(2026, 12, 19, 8, tzinfo=IRAN_TIME).timestamp()
    receiver = await receiver_factory()
    await subscribe(shop, receiver, ["pickup_scheduled", "pickup_assigned", "pickup_failed"])
    resp = await client.post("/v1/pickups", json={"date": "2026-12-19", "window": {"from": "09:00", "to": "12:00"},
                                                  "expected_count": 4}, headers=shop.headers)
    assert resp.status == 201, await resp.text()
    pid = (await resp.json())["pickup_id"]
    staff = await create_staff(redis, load_registry(), "THR-06", "مأمور")
    auth = {"Authorization": f"Bearer {staff['token']}"}
    assert (await client.post(f"/v1/pickups/{pid}/assign", json={"postman": "رضا"}, headers=auth)).status == 200
    assert (await client.post(f"/v1/pickups/{pid}/fail", json={"reason": "shop_absent"}, headers=auth)).status == 200
    await dispatch()
    got = [(e["type"], e["status"]) for e in receiver.unique() if e.get("pickup_id") == pid]
    assert got == [("pickup_scheduled", "scheduled"), ("pickup_assigned", "assigned"), ("pickup_failed", "failed")]
