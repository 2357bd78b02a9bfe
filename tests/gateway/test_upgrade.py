"""Stores written by earlier layouts upgraded at start: nothing acknowledged goes missing."""

from __future__ import annotations

import redis as redis_sync

from kernel.store import keys
from kernel.store.upgrade import LAYOUT, upgrade
from tests.conftest import shipment_body


def legacy_history(store: redis_sync.Redis, shop_id: int, tn: str) -> None:
    """Rewrite a parcel as layout 1 stored it: its history in a zset of its own, none in the hash."""
    parcel = keys.parcel(shop_id, tn)
    history = {f: v for f, v in store.hgetall(parcel).items() if f.startswith(keys.PARCEL_HISTORY_FIELD.encode())}
    store.zadd(keys.legacy_history(shop_id, tn), {event: int(f.split(b":")[1]) for f, event in history.items()})
    store.hdel(parcel, *history)


async def test_history_zsets_move_into_parcel_hashes_once(app_client, shop, redis, store_url):
    booked = await app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)
    tn = (await booked.json())["tracking_number"]
    cancelled = await app_client.post(f"/v1/shipments/{tn}/cancel", headers=shop.headers)
    before = (await cancelled.json())["history"]
    assert [e["type"] for e in before] == ["booked", "cancelled"]
    legacy_history(redis_sync.Redis.from_url(store_url), shop.id, tn)
    await redis.delete(keys.LAYOUT)
    assert (await (await app_client.get(f"/v1/shipments/{tn}", headers=shop.headers)).json())["history"] == []

    assert await upgrade(redis) >= 1
    after = await (await app_client.get(f"/v1/shipments/{tn}", headers=shop.headers)).json()
    assert after["history"] == before
    assert not await redis.exists(keys.legacy_history(shop.id, tn))
    assert int(await redis.get(keys.LAYOUT)) == LAYOUT
    assert await upgrade(redis) == 0  # at the current layout: nothing walks the keyspace again


async def test_layout_2_all_parcels_index_is_dropped_and_listing_still_finds_every_parcel(app_client, shop, redis):
    tns = [(await (await app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)).json())
           ["tracking_number"] for _ in range(3)]
    await app_client.post(f"/v1/shipments/{tns[0]}/cancel", headers=shop.headers)
    members = [m for st in keys.STATUSES for m in await redis.zrange(keys.shop_status_index(shop.id, st), 0, -1)]
    await redis.zadd(keys.legacy_shop_shipments(shop.id), dict.fromkeys(members, 0))  # as layout 2 kept them
    await redis.set(keys.LAYOUT, 2)

    assert await upgrade(redis) == 0  # no history to move: layout 2 had it in the hashes already
    assert not await redis.exists(keys.legacy_shop_shipments(shop.id))
    assert int(await redis.get(keys.LAYOUT)) == LAYOUT
    listed = await (await app_client.get("/v1/shipments", headers=shop.headers)).json()
    assert [s["tracking_number"] for s in listed["items"]] == tns[::-1]


async def test_layout_4_counts_the_live_parcels_of_orders_booked_before(app_client, shop, redis):
    """Orders booked before the one-live-parcel rule are protected by it after the upgrade."""
    def order(oid: str) -> dict:
        return shipment_body(**{"client_order_id": oid, "another_parcel_of_order": None})

    live = await (await app_client.post("/v1/shipments", json=order("old-1"), headers=shop.headers)).json()
    gone = await (await app_client.post("/v1/shipments", json=order("old-2"), headers=shop.headers)).json()
    await app_client.post(f"/v1/shipments/{gone['tracking_number']}/cancel", headers=shop.headers)
    await redis.delete(keys.shop_live_orders(shop.id))  # as a layout-3 store had it: no counts
    await redis.set(keys.LAYOUT, 3)
    assert (await app_client.post("/v1/shipments", json=order("old-1"), headers=shop.headers)).status == 201
    await app_client.post(f"/v1/shipments/{live['tracking_number']}/cancel", headers=shop.headers)  # undo that

    await upgrade(redis)
    assert int(await redis.get(keys.LAYOUT)) == LAYOUT
    again = await app_client.post("/v1/shipments", json=order("old-1"), headers=shop.headers)
    assert again.status == 409
    assert (await app_client.post("/v1/shipments", json=order("old-2"), headers=shop.headers)).status == 201
