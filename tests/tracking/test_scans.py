"""Scanning over real HTTP on the real store: rules, late and duplicate scans, batches."""

from __future__ import annotations

import asyncio

import orjson

from kernel.postal.offices import load_registry
from kernel.store import keys
from kernel.store.keys import parcel_history
from tests.conftest import shipment_body
from tests.tracking.conftest import DEST, DEST_HUB, HUB, ORIGIN, at, life, scan
from tracking.events import OUTBOX_RANGE, outbox_entry
from tracking.staff import create_staff


async def history(redis, shop, tn):
    return [orjson.loads(m) for m in parcel_history(await redis.hgetall(keys.parcel(shop.id, tn)))]


async def test_full_life_reaches_delivered_with_ordered_history(client, shop, book, post_scans, redis):
    tn = await book(shop)
    results = await post_scans(life(tn))
    assert [r["http"] for r in results] == [201] * 9, results
    assert results[0]["event_id"] == f"evt_{tn}_2"
    parcel = await redis.hgetall(keys.parcel(shop.id, tn))
    assert parcel[b"status"] == b"delivered" and parcel[b"seq"] == b"10"
    events = await history(redis, shop, tn)
    assert [e["type"] for e in events] == ["booked", *[s["event"] for s in life(tn)]]
    assert [e["id"] for e in events] == [f"evt_{tn}_{i}" for i in range(1, 11)]
    assert events[1]["data"]["emsevt"] == "EMA" and events[8]["data"]["emsevt"] == "EMI"
    cod = events[-1]
    assert cod["status"] == "delivered" and cod["data"]["rrn"] == "123456789012"
    # The status index moved along: the parcel is listed as delivered only.
    member = f"{parcel[b'created_ms'].decode().zfill(13)}:{tn}".encode()
    assert await redis.zscore(keys.shop_status_index(shop.id, "delivered"), member) is not None
    for st in ("pre_transit", "in_transit", "out_for_delivery"):
        assert await redis.zscore(keys.shop_status_index(shop.id, st), member) is None
    # Every event also went to the shop feed, in the same JSON.
    feed = [e for _, f in await redis.xrange(keys.shop_feed(shop.id)) for e in f[b"e"].split(b"\n")]
    assert [orjson.loads(e) for e in feed[-10:]] == events


async def post(client, staff, s):
    resp = await client.post("/v1/scans", json=s, headers=staff[s["office"]])
    return resp.status, await resp.json()


async def parcel_state(redis, shop, tn):
    h = await redis.hgetall(keys.parcel(shop.id, tn))
    return h[b"status"].decode(), int(h[b"seq"]), len(parcel_history(h))


async def test_late_scan_is_recorded_in_place_but_never_moves_status_back(client, shop, book, staff, redis):
    tn = await book(shop)
    for s in (scan(tn, "accepted", ORIGIN, 1), scan(tn, "arrived_delivery_office", DEST, 40),
              scan(tn, "out_for_delivery", DEST, 50), scan(tn, "delivered", DEST, 60, receiver_name="علی")):
        assert (await post(client, staff, s))[0] == 201
    delivered_ms = await redis.hget(keys.parcel(shop.id, tn), "status_ms")
    # An offline hub device uploads its sorting scans after the delivery.
    status, body = await post(client, staff, scan(tn, "sorting_in", HUB, 10))
    assert status == 201 and body["status"] == "delivered"
    events = await history(redis, shop, tn)
    assert [e["type"] for e in events] == ["booked", "accepted", "sorting_in", "arrived_delivery_office",
                                           "out_for_delivery", "delivered"]
    assert events[2]["status"] == "delivered"  # the event says what the parcel's status is after it
    h = await redis.hgetall(keys.parcel(shop.id, tn))
    assert h[b"status"] == b"delivered" and h[b"status_ms"] == delivered_ms


async def test_older_non_terminal_scan_does_not_overwrite_newer_one(client, shop, book, staff, redis):
    tn = await book(shop)
    await post(client, staff, scan(tn, "accepted", ORIGIN, 1))
    await post(client, staff, scan(tn, "out_for_delivery", DEST, 30))
    newer = await redis.hmget(keys.parcel(shop.id, tn), "status_ms", "status_at")
    status, body = await post(client, staff, scan(tn, "arrived_delivery_office", DEST, 20))
    assert status == 201 and body["status"] == "out_for_delivery"
    assert await redis.hmget(keys.parcel(shop.id, tn), "status_ms", "status_at") == newer


async def test_same_scan_twice_is_recorded_once(client, shop, book, staff, redis):
    tn = await book(shop)
    s = scan(tn, "accepted", ORIGIN, 1)
    first = await post(client, staff, s)
    again = await post(client, staff, s)
    assert first[0] == 201 and again[0] == 200
    assert again[1]["duplicate"] is True and again[1]["event_id"] == first[1]["event_id"]
    assert await parcel_state(redis, shop, tn) == ("in_transit", 2, 2)
    # The same scan_id for another scan is a client bug, not a duplicate.
    status, body = await post(client, staff, {**s, "occurred_at": scan(tn, "accepted", ORIGIN, 2)["occurred_at"]})
    assert status == 409 and body["code"] == "scan_id_reused"


async def test_nonsense_scans_get_clear_errors_and_change_nothing(client, shop, book, staff, redis):
    tn = await book(shop)
    before = await parcel_state(redis, shop, tn)
    status, body = await post(client, staff, scan(tn, "delivered", DEST, 5, receiver_name="علی"))
    assert status == 409 and body["code"] == "scan_out_of_sequence" and body["detail_fa"]
    status, body = await post(client, staff, scan(tn, "cod_collected", DEST, 5, amount=12_000_000, method="cash"))
    assert status == 409 and body["code"] == "scan_out_of_sequence"
    assert await parcel_state(redis, shop, tn) == before
    await post(client, staff, scan(tn, "accepted", ORIGIN, 10))
    status, body = await post(client, staff, scan(tn, "out_for_delivery", DEST, 5))  # before acceptance
    assert status == 409 and body["code"] == "scan_out_of_sequence"
    status, body = await post(client, staff, scan("EP999999995IR", "accepted", ORIGIN, 10))
    assert status == 404 and body["code"] == "parcel_not_found"
    assert await parcel_state(redis, shop, tn) == ("in_transit", 2, 2)


async def test_a_scan_before_the_booking_is_refused_beyond_clock_skew(client, shop, book, staff, redis):
    tn = await book(shop)
    before = await parcel_state(redis, shop, tn)
    status, body = await post(client, staff, scan(tn, "accepted", ORIGIN, -3600))  # an hour before it existed
    assert status == 409 and body["code"] == "scan_out_of_sequence" and "booked" in body["detail"]
    assert await parcel_state(redis, shop, tn) == before
    status, body = await post(client, staff, scan(tn, "accepted", ORIGIN, -60))  # a phone a minute slow
    assert status in (200, 201) and body["status"] == "in_transit"


async def test_cod_must_match_the_booked_amount_and_is_collected_once(client, shop, book, staff, redis):
    tn = await book(shop)
    for s in (scan(tn, "accepted", ORIGIN, 1), scan(tn, "delivered", DEST, 5, receiver_name="علی")):
        await post(client, staff, s)
    status, body = await post(client, staff, scan(tn, "cod_collected", DEST, 6, amount=11_000_000, method="cash"))
    assert status == 422 and body["code"] == "cod_amount_mismatch" and body["expected_amount"] == 12_000_000
    ok = await post(client, staff, scan(tn, "cod_collected", DEST, 6, amount=12_000_000, method="cash"))
    assert ok[0] == 201
    status, body = await post(client, staff, scan(tn, "cod_collected", DEST, 7, amount=12_000_000, method="cash"))
    assert status == 409
    prepaid = await book(shop, payment={"type": "prepaid"})
    for s in (scan(prepaid, "accepted", ORIGIN, 1), scan(prepaid, "delivered", DEST, 5, receiver_name="علی")):
        await post(client, staff, s)
    status, body = await post(client, staff, scan(prepaid, "cod_collected", DEST, 6, amount=1000, method="cash"))
    assert status == 409 and "prepaid" in body["detail"]


async def test_invalid_scan_lists_every_bad_field(client, staff):
    resp = await client.post("/v1/scans", headers=staff[DEST], json={
        "tracking_number": "EP123", "event": "teleported", "office": "NOPE", "occurred_at": "yesterday"})
    body = await resp.json()
    assert resp.status == 422 and body["code"] == "validation_failed"
    assert {e["field"] for e in body["errors"]} == {"tracking_number", "event", "office", "occurred_at", "scan_id"}
    resp = await client.post("/v1/scans", headers=staff[DEST], json={
        **scan("EP000000014IR", "cod_collected", DEST, 1), "amount": -5, "method": "card"})
    assert {e["field"] for e in (await resp.json())["errors"]} == {"amount", "rrn"}
    resp = await client.post("/v1/scans", headers=staff[DEST], json=scan("EP000000014IR", "sorting_in", DEST, 1))
    assert [e["code"] for e in (await resp.json())["errors"]] == ["wrong_office_kind"]
    resp = await client.post("/v1/scans", headers=staff[DEST], json={
        **scan("EP000000014IR", "delivery_failed", DEST, 1), "reason": "dog"})
    assert [e["field"] for e in (await resp.json())["errors"]] == ["reason"]
    resp = await client.post("/v1/scans", headers=staff[DEST], json=scan("EP000000014IR", "accepted", DEST, 900))
    assert [e["code"] for e in (await resp.json())["errors"]] == ["occurred_in_future"]


async def test_staff_act_only_for_their_office_and_revocation_is_immediate(client, shop, book, staff, redis):
    tn = await book(shop)
    resp = await client.post("/v1/scans", json=scan(tn, "accepted", ORIGIN, 1), headers=staff[DEST])
    assert resp.status == 403 and (await resp.json())["code"] == "office_not_allowed"
    resp = await client.post("/v1/scans", json=scan(tn, "accepted", ORIGIN, 1))
    assert resp.status == 401
    from tracking.staff import revoke_staff

    staff_id = int(staff[ORIGIN]["Authorization"].split("_")[1])
    await revoke_staff(redis, staff_id)
    resp = await client.post("/v1/scans", json=scan(tn, "accepted", ORIGIN, 1), headers=staff[ORIGIN])
    assert resp.status == 401 and (await resp.json())["code"] == "staff_revoked"
    assert (await parcel_state(redis, shop, tn))[0] == "pre_transit"


async def test_refusal_turns_the_parcel_back_until_returned(client, shop, book, staff, redis):
    tn = await book(shop)
    await post(client, staff, scan(tn, "accepted", ORIGIN, 1))
    await post(client, staff, scan(tn, "out_for_delivery", DEST, 10))
    status, body = await post(client, staff, scan(tn, "delivery_failed", DEST, 11, reason="receiver_refused"))
    assert body["status"] == "returning"
    assert (await post(client, staff, scan(tn, "sorting_in", DEST_HUB, 20)))[1]["status"] == "returning"
    # Handed back to the shop by the office that serves the shop's address (scans.py: the responsible office).
    origin = (await (await client.get(f"/v1/shipments/{tn}", headers=shop.headers)).json())["origin_office"]
    made = await create_staff(redis, load_registry(), origin, "باجه")
    status, body = await post(client, {origin: {"Authorization": f"Bearer {made['token']}"}},
                              scan(tn, "returned_to_sender", origin, 30))
    assert status == 201 and body["status"] == "returned"
    # terminal: a later scan is refused (tests/tracking/test_trust.py has the rest)
    status, body = await post(client, staff, scan(tn, "sorting_out", HUB, 40))
    assert status == 409 and body["code"] == "parcel_terminal"


async def test_third_failed_attempt_sends_the_parcel_back(client, shop, book, staff):
    tn = await book(shop)
    await post(client, staff, scan(tn, "accepted", ORIGIN, 1))
    statuses = []
    for i in range(3):
        await post(client, staff, scan(tn, "out_for_delivery", DEST, 10 + 2 * i))
        statuses.append((await post(client, staff, scan(tn, "delivery_failed", DEST, 11 + 2 * i,
                                                         reason="receiver_absent")))[1]["status"])
    assert statuses == ["failed_attempt", "failed_attempt", "returning"]


async def test_cancelled_parcel_takes_no_scans(client, shop, book, staff):
    tn = await book(shop)
    assert (await client.post(f"/v1/shipments/{tn}/cancel", headers=shop.headers)).status == 200
    status, body = await post(client, staff, scan(tn, "accepted", ORIGIN, 1))
    assert status == 409 and body["code"] == "parcel_cancelled"


async def test_accepted_parcel_can_no_longer_be_cancelled(client, shop, book, staff, redis):
    tn = await book(shop)
    assert (await post(client, staff, scan(tn, "accepted", ORIGIN, 1)))[0] == 201
    resp = await client.post(f"/v1/shipments/{tn}/cancel", headers=shop.headers)
    body = await resp.json()
    assert resp.status == 409 and body["code"] == "not_cancellable" and "in_transit" in body["detail"]
    assert (await redis.hget(keys.parcel(shop.id, tn), "status")) == b"in_transit"


async def test_offline_batch_applies_oldest_first_and_answers_per_item(client, shop, book, staff, redis):
    tn = await book(shop)
    scans = life(tn)
    by_office: dict[str, list] = {}
    for s in scans:
        by_office.setdefault(s["office"], []).append(s)
    # Each office's device uploads its queue newest first; the acceptance arrives first, the rest out of order.
    results = {}
    for office in (ORIGIN, DEST, DEST_HUB, HUB):
        resp = await client.post("/v1/scans/batch", json={"scans": list(reversed(by_office[office]))},
                                 headers=staff[office])
        results[office] = await resp.json()
    assert all(r["rejected"] == 0 for r in results.values()), results
    assert (await parcel_state(redis, shop, tn))[0] == "delivered"
    assert [e["type"] for e in await history(redis, shop, tn)] == ["booked", *[s["event"] for s in scans]]
    # The same batch again: every item is a duplicate, nothing new is recorded.
    resp = await client.post("/v1/scans/batch", json={"scans": by_office[DEST]}, headers=staff[DEST])
    again = await resp.json()
    assert again["duplicates"] == len(by_office[DEST]) and again["recorded"] == 0
    assert (await parcel_state(redis, shop, tn))[1] == 10


async def test_mixed_batch_rejects_items_one_by_one(client, shop, book, staff, redis):
    tn = await book(shop)
    batch = [scan(tn, "delivered", DEST, 5, receiver_name="علی"), {"tracking_number": "bad"},
             scan("EP999999995IR", "accepted", DEST, 1), scan(tn, "accepted", ORIGIN, 1),
             scan(tn, "accepted", DEST, 1)]
    resp = await client.post("/v1/scans/batch", json={"scans": batch}, headers=staff[DEST])
    body = await resp.json()
    assert resp.status == 200 and (body["recorded"], body["rejected"]) == (2, 3)
    codes = [r["error"]["code"] if not r["ok"] else r["event_id"] for r in body["results"]]
    # accepted (t=1) is applied before delivered (t=5), whatever their order in the batch
    assert codes == [f"evt_{tn}_3", "validation_failed", "parcel_not_found", "office_not_allowed", f"evt_{tn}_2"]
    assert {e["field"] for e in body["results"][1]["error"]["errors"]} >= {"scans[1].event", "scans[1].office"}


async def test_big_uploads_sent_together_each_get_their_own_answers(client, shop, staff, redis):
    """Big uploads are prepared one at a time per process (ScanService.record_upload); concurrent ones, and one
    refused whole, must neither block each other nor mix their answers."""
    resp = await client.post("/v1/shipments/batch", headers=shop.headers,
                             json={"shipments": [shipment_body(client_order_id=f"big-{i}") for i in range(120)]})
    tns = [r["shipment"]["tracking_number"] for r in (await resp.json())["results"]]
    bad = {"tracking_number": "EP000000000XX", "event": "accepted", "office": ORIGIN, "occurred_at": at(1),
           "scan_id": "bad"}
    first = [scan(tn, "accepted", ORIGIN, 1) for tn in tns[:60]] + [bad] * 60
    second = [bad] * 50 + [scan(tn, "accepted", ORIGIN, 1) for tn in tns[60:]]
    replies = await asyncio.gather(*(
        client.post("/v1/scans/batch", json={"scans": body}, headers=staff[ORIGIN])
        for body in (first, [bad] * 1001, second)))
    a, refused, b = [await r.json() for r in replies]
    assert replies[1].status == 422 and refused["code"] == "validation_failed"
    assert (a["recorded"], a["rejected"], b["recorded"], b["rejected"]) == (60, 60, 60, 50)
    assert [r["ok"] for r in a["results"]] == [True] * 60 + [False] * 60
    assert [r["ok"] for r in b["results"]] == [False] * 50 + [True] * 60
    assert [r["event_id"] for r in b["results"][50:]] == [f"evt_{tn}_2" for tn in tns[60:]]
    statuses = [await redis.hget(keys.parcel(shop.id, tn), "status") for tn in tns]
    assert statuses == [b"in_transit"] * 120
    again = await client.post("/v1/scans/batch", json={"scans": first}, headers=staff[ORIGIN])
    assert (await again.json())["duplicates"] == 60  # and nothing is left holding the way


async def test_batch_size_is_bounded(client, staff):
    resp = await client.post("/v1/scans/batch", json={"scans": [{}] * 1001}, headers=staff[DEST])
    assert resp.status == 422


async def test_status_index_feeds_the_shipment_list(client, shop, book, post_scans):
    tn = await book(shop)
    await post_scans(life(tn))
    resp = await client.get("/v1/shipments", params={"status": "delivered"}, headers=shop.headers)
    assert tn in [s["tracking_number"] for s in (await resp.json())["items"]]
    resp = await client.get("/v1/shipments", params={"status": "pre_transit"}, headers=shop.headers)
    assert tn not in [s["tracking_number"] for s in (await resp.json())["items"]]


async def test_batch_moves_every_parcel_across_status_indexes_and_into_the_outbox(client, shop, book, staff, redis):
    """A script call moves the status indexes once for all its scans; each parcel still ends up listed under its
    final status only, and every recorded event reaches the outbox and the shop feed once, in order, in runs of
    keys.OUTBOX_RUN and keys.FEED_RUN."""
    tns = [await book(shop) for _ in range(25)]
    outbox = keys.partition_events(keys.partition_of(shop.id))
    last = (await redis.xrevrange(outbox, count=1))[0][0]
    last_fed = (await redis.xrevrange(keys.shop_feed(shop.id), count=1))[0][0]
    batch = [scan(tn, "accepted", ORIGIN, 1) for tn in tns]
    resp = await client.post("/v1/scans/batch", json={"scans": batch}, headers=staff[ORIGIN])
    assert (await resp.json())["recorded"] == 25
    batch = [scan(tn, ev, HUB, t) for t, ev in ((2, "sorting_in"), (3, "sorting_out")) for tn in tns[:5]]
    resp = await client.post("/v1/scans/batch", json={"scans": batch}, headers=staff[HUB])
    assert (await resp.json())["recorded"] == 10
    created = {tn: int((await redis.hget(keys.parcel(shop.id, tn), "created_ms"))) for tn in tns}
    members = {keys.index_member(created[tn], tn).encode() for tn in tns}
    assert set(await redis.zrange(keys.shop_status_index(shop.id, "in_transit"), 0, -1)) >= members
    assert not members & set(await redis.zrange(keys.shop_status_index(shop.id, "pre_transit"), 0, -1))
    events, runs = [], []
    for _, fields in await redis.eval(OUTBOX_RANGE, 1, outbox, b"(" + last, "+", 100):
        shop_id, run = outbox_entry(fields)
        assert shop_id == str(shop.id).encode()
        runs.append(len(run))
        for tn, e in run:
            events.append(orjson.loads(e))
            assert tn.decode() == events[-1]["tracking_number"]
    assert runs == [keys.OUTBOX_RUN, 25 - keys.OUTBOX_RUN, 10]  # one entry per run, not one per scan
    assert [e["type"] for e in events] == ["accepted"] * 25 + ["sorting_in"] * 5 + ["sorting_out"] * 5
    assert len({e["id"] for e in events}) == 35
    feed = [f[b"e"].split(b"\n") for _, f in await redis.xrange(keys.shop_feed(shop.id), b"(" + last_fed, "+")]
    assert [len(run) for run in feed] == [keys.FEED_RUN, 25 - keys.FEED_RUN, 10]
    assert [orjson.loads(e) for run in feed for e in run] == events


async def test_a_failing_scan_keeps_the_index_moves_of_those_before_it(client, shop, book, staff, redis):
    good, broken = await book(shop), await book(shop)
    await redis.hdel(keys.parcel(shop.id, broken), "seq")  # corrupt: the script fails on this parcel
    outbox = keys.partition_events(keys.partition_of(shop.id))
    last = (await redis.xrevrange(outbox, count=1))[0][0]
    batch = [scan(good, "accepted", ORIGIN, 1), scan(broken, "accepted", ORIGIN, 2)]
    resp = await client.post("/v1/scans/batch", json={"scans": batch}, headers=staff[ORIGIN])
    assert resp.status >= 500
    # The good parcel's scan was applied before the failure: its index move and outbox event are there too.
    assert (await redis.hget(keys.parcel(shop.id, good), "status")) == b"in_transit"
    member = keys.index_member(int(await redis.hget(keys.parcel(shop.id, good), "created_ms")), good).encode()
    assert await redis.zscore(keys.shop_status_index(shop.id, "in_transit"), member) is not None
    assert await redis.zscore(keys.shop_status_index(shop.id, "pre_transit"), member) is None
    assert [f[b"t"] for _, f in await redis.xrange(outbox, b"(" + last, "+")] == [good.encode()]
