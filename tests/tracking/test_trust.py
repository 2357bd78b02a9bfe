"""Issue 20: scan authority, terminal statuses, and the public tracking rate limit.

Everything runs over real HTTP against the real store. "Nothing changed" is checked where a user would see it:
the parcel's history, the shop's feed, the buyer's tracking page and JSON, and the partition outbox that the
webhooks are sent from.
"""

from __future__ import annotations

import dataclasses
import ipaddress

import aiohttp
import orjson
import pytest

from gateway.web_app import create_app
from kernel.postal.offices import load_registry
from kernel.settings import Config, TrackingConfig, TrackLimits
from kernel.store import keys
from kernel.store.keys import parcel_history
from tests.tracking.conftest import DEST, DEST_HUB, HUB, ORIGIN, scan
from tracking import ratelimit
from tracking import web as tracking_web
from tracking.staff import create_staff

MASHHAD = "MHD-01"
MASHHAD_RECEIVER = {"name": "مریم احمدی", "phone": "09151234567", "postal_code": "9137634561",
                    "province": "خراسان رضوی", "city": "مشهد", "address": "بلوار وکیل‌آباد، کوچه ۱۲، پلاک ۷"}


async def staff_of(redis, office: str) -> dict[str, str]:
    made = await create_staff(redis, load_registry(), office, f"کارمند {office}")
    return {"Authorization": f"Bearer {made['token']}"}


async def post(client, headers, body):
    resp = await client.post("/v1/scans", json=body, headers=headers)
    return resp.status, await resp.json()


async def seen(client, redis, shop, tn) -> dict:
    """Everything a user can see of the parcel: history, status, the shop feed, the public view and page, and the
    partition outbox (what webhooks are made from)."""
    h = await redis.hgetall(keys.parcel(shop.id, tn))
    feed = [e for _, f in await redis.xrange(keys.shop_feed(shop.id)) for e in f[b"e"].split(b"\n")
            if orjson.loads(e)["tracking_number"] == tn]
    outbox = [f for _, f in await redis.xrange(keys.partition_events(keys.partition_of(shop.id))) if tn.encode() in
              b"".join(f.values())]
    track = await (await client.get(f"/v1/track/{tn}")).json()
    page = await (await client.get(f"/track/{tn}")).text()
    return {"status": h[b"status"], "seq": h[b"seq"], "history": parcel_history(h), "feed": feed,
            "outbox": outbox, "track": track, "page": page}


async def test_another_office_cannot_deliver_a_parcel_routed_elsewhere(client, shop, book, redis):
    """The fraud door: a Tehran token marking a Mashhad-bound parcel delivered."""
    tn = await book(shop, receiver=MASHHAD_RECEIVER)
    doc = orjson.loads(await redis.hget(keys.parcel(shop.id, tn), "doc"))
    assert doc["delivering_office"] == MASHHAD
    tehran, mashhad = await staff_of(redis, ORIGIN), await staff_of(redis, MASHHAD)
    assert (await post(client, tehran, scan(tn, "accepted", ORIGIN, 1)))[0] == 201  # any counter accepts
    before = await seen(client, redis, shop, tn)
    for event, extra in (("arrived_delivery_office", {}), ("out_for_delivery", {}),
                         ("delivered", {"receiver_name": "علی"}), ("delivery_failed", {"reason": "receiver_absent"})):
        status, body = await post(client, tehran, scan(tn, event, ORIGIN, 5, **extra))
        assert status == 403, body
        assert body["code"] == "scan_office_not_responsible" and body["responsible_office"] == MASHHAD
        assert body["detail"] and body["detail_fa"] and MASHHAD in body["detail_fa"]
    # The batch answers the same, per item, and records nothing either.
    resp = await client.post("/v1/scans/batch", headers=tehran, json={"scans": [
        scan(tn, "delivered", ORIGIN, 6, receiver_name="علی"), scan(tn, "out_for_delivery", ORIGIN, 5)]})
    batch = await resp.json()
    assert resp.status == 200 and (batch["recorded"], batch["rejected"]) == (0, 2)
    assert {r["error"]["code"] for r in batch["results"]} == {"scan_office_not_responsible"}
    assert await seen(client, redis, shop, tn) == before
    assert "تحویل داده شد" not in before["page"]
    # The delivering office can.
    for event, extra in (("arrived_delivery_office", {}), ("out_for_delivery", {}),
                         ("delivered", {"receiver_name": "علی"}),
                         ("cod_collected", {"amount": 12_000_000, "method": "cash"})):
        status, body = await post(client, mashhad, scan(tn, event, MASHHAD, 10, **extra))
        assert status == 201, body
    assert (await (await client.get(f"/v1/track/{tn}")).json())["status"] == "delivered"
    # A COD collected "at" Tehran for a Mashhad parcel is refused too (the batch path, once delivered).
    resp = await client.post("/v1/scans/batch", headers=tehran, json={"scans": [
        scan(tn, "cod_collected", ORIGIN, 20, amount=12_000_000, method="cash")]})
    assert (await resp.json())["results"][0]["error"]["code"] == "scan_office_not_responsible"


async def test_a_redirect_moves_the_authority_with_one_field(client, shop, book, redis):
    """The responsible office is read from the parcel record: a redirect sets its `delivery_office` field."""
    tn = await book(shop)
    dest, other = await staff_of(redis, DEST), await staff_of(redis, "IFN-02")
    await post(client, await staff_of(redis, ORIGIN), scan(tn, "accepted", ORIGIN, 1))
    await redis.hset(keys.parcel(shop.id, tn), "delivery_office", "IFN-02")
    status, body = await post(client, dest, scan(tn, "arrived_delivery_office", DEST, 5))
    assert status == 403 and body["responsible_office"] == "IFN-02"
    assert (await post(client, other, scan(tn, "arrived_delivery_office", "IFN-02", 5)))[0] == 201
    # ... and its `route` field (office codes) is the path a sorting scan is judged against.
    await redis.hset(keys.parcel(shop.id, tn), "route", f"{ORIGIN},{HUB},MHD-HUB,IFN-02")
    status, body = await post(client, await staff_of(redis, "MHD-HUB"), scan(tn, "sorting_in", "MHD-HUB", 3))
    assert status == 201 and "missort" not in body
    status, body = await post(client, await staff_of(redis, DEST_HUB), scan(tn, "sorting_in", DEST_HUB, 4))
    assert status == 201 and body["missort"] is True


async def test_sorting_off_the_route_is_recorded_as_a_missort(client, shop, book, redis, staff):
    tn = await book(shop)
    await post(client, staff[ORIGIN], scan(tn, "accepted", ORIGIN, 1))
    mashhad_hub = await staff_of(redis, "MHD-HUB")
    status, body = await post(client, mashhad_hub, scan(tn, "sorting_in", "MHD-HUB", 2))  # Isfahan-bound
    assert status == 201 and body["missort"] is True and body["status"] == "in_transit"
    status, body = await post(client, staff[HUB], scan(tn, "sorting_in", HUB, 3))  # on its route
    assert status == 201 and "missort" not in body
    events = [orjson.loads(e) for e in parcel_history(await redis.hgetall(keys.parcel(shop.id, tn)))]
    assert [(e["type"], e["office"], e.get("missort")) for e in events[-2:]] == [
        ("sorting_in", "MHD-HUB", True), ("sorting_in", HUB, None)]
    feed = [orjson.loads(e) for _, f in await redis.xrange(keys.shop_feed(shop.id)) for e in f[b"e"].split(b"\n")]
    assert [e["missort"] for e in feed if e["tracking_number"] == tn and e.get("missort")] == [True]
    resp = await client.get("/v1/events", headers=shop.headers, params={"limit": 1000})
    polled = [e for e in (await resp.json())["data"] if e["tracking_number"] == tn]
    assert [e.get("missort", False) for e in polled] == [False, False, True, False]


async def origin_staff(client, redis, shop, tn) -> tuple[str, dict[str, str]]:
    """The booking's origin office (it serves the shop's address) and a staff token of it."""
    origin = (await (await client.get(f"/v1/shipments/{tn}", headers=shop.headers)).json())["origin_office"]
    made = await create_staff(redis, load_registry(), origin, "باجه")
    return origin, {"Authorization": f"Bearer {made['token']}"}


async def test_terminal_means_terminal(client, shop, book, redis, staff):
    tn = await book(shop)
    origin, staff.headers[origin] = await origin_staff(client, redis, shop, tn)
    first = scan(tn, "delivered", DEST, 20, receiver_name="علی")
    for s in (scan(tn, "accepted", ORIGIN, 1), scan(tn, "out_for_delivery", DEST, 10), first):
        assert (await post(client, staff[s["office"]], s))[0] == 201
    delivered = await seen(client, redis, shop, tn)
    # A second delivery, even by the right office, and a failed attempt after the delivery: refused, nothing kept.
    for s in (scan(tn, "delivered", DEST, 30, receiver_name="رضا"),
              scan(tn, "delivery_failed", DEST, 30, reason="receiver_absent"),
              scan(tn, "out_for_delivery", DEST, 25), scan(tn, "returned_to_sender", origin, 40),
              scan(tn, "sorting_in", HUB, 40)):
        status, body = await post(client, staff[s["office"]], s)
        assert status == 409 and body["code"] == "parcel_terminal" and body["parcel_status"] == "delivered", body
        assert body["detail_fa"]
    resp = await client.post("/v1/scans/batch", headers=staff[DEST], json={"scans": [
        scan(tn, "delivery_failed", DEST, 31, reason="receiver_absent")]})
    assert (await resp.json())["results"][0]["error"]["code"] == "parcel_terminal"
    assert await seen(client, redis, shop, tn) == delivered
    # The replay of the first delivery answers what it answered then.
    status, body = await post(client, staff[DEST], first)
    assert status == 200 and body["duplicate"] is True and body["event_id"] == f"evt_{tn}_4"
    assert body["status"] == "delivered"
    # What the state machine allows after a delivery: the COD collection.
    status, body = await post(client, staff[DEST], scan(tn, "cod_collected", DEST, 21, amount=12_000_000,
                                                        method="cash"))
    assert status == 201 and body["status"] == "delivered"
    # A hub's offline upload of what happened before the delivery is history catching up: kept, in place.
    status, body = await post(client, staff[DEST_HUB], scan(tn, "sorting_in", DEST_HUB, 5))
    assert status == 201 and body["status"] == "delivered"
    view = await (await client.get(f"/v1/track/{tn}")).json()
    assert view["status"] == "delivered"
    assert [e["type"] for e in view["events"]] == ["booked", "accepted", "sorting_in", "out_for_delivery",
                                                   "delivered", "cod_collected"]


async def test_a_returned_parcel_takes_no_later_scans(client, shop, book, staff, redis):
    tn = await book(shop)
    await post(client, staff[ORIGIN], scan(tn, "accepted", ORIGIN, 1))
    await post(client, staff[DEST], scan(tn, "delivery_failed", DEST, 10, reason="receiver_refused"))
    # Only the office that serves the shop's address hands the parcel back, not the counter that took it in.
    origin, origin_token = await origin_staff(client, redis, shop, tn)
    assert origin != ORIGIN
    for office in (DEST, ORIGIN):
        status, body = await post(client, staff[office], scan(tn, "returned_to_sender", office, 30))
        assert status == 403 and body["code"] == "scan_office_not_responsible" and body["responsible_office"] == origin
    assert (await post(client, origin_token, scan(tn, "returned_to_sender", origin, 30)))[1]["status"] == "returned"
    for s in (scan(tn, "sorting_out", HUB, 40), scan(tn, "delivered", DEST, 40, receiver_name="علی")):
        status, body = await post(client, staff[s["office"]], s)
        assert status == 409 and body["code"] == "parcel_terminal" and body["parcel_status"] == "returned"


# -- public tracking ------------------------------------------------------------------------------------------
def _from(address: str) -> aiohttp.TCPConnector:
    """A connector whose connections come from this loopback address (Linux routes all of 127/8 to lo)."""
    return aiohttp.TCPConnector(local_addr=(address, 0))


async def test_public_tracking_is_rate_limited_per_address(client, shop, book, redis):
    tracking = client.app[tracking_web.TRACKING]
    tracking.config = dataclasses.replace(tracking.config, track_limits=TrackLimits(rate_per_s=0.05, burst=3))
    addresses = ("127.0.0.41", "127.0.0.42")
    await redis.delete(*(ratelimit.client_key(a) for a in addresses))
    tn = await book(shop)
    url = str(client.make_url(""))
    try:
        async with aiohttp.ClientSession(connector=_from(addresses[0])) as one:
            got = []
            for path in (f"/v1/track/{tn}", f"/track/{tn}", "/v1/track/EP999999995IR", f"/v1/track/{tn}",
                         f"/track/{tn}"):
                async with one.get(url + path) as resp:
                    got.append((resp.status, resp.headers.get("Retry-After"), resp.content_type, await resp.read()))
            assert [g[0] for g in got] == [200, 200, 404, 429, 429]
            for status, retry_after, ctype, body in got[3:]:
                problem = orjson.loads(body)
                assert ctype == "application/problem+json" and problem["code"] == "track_rate_limited"
                assert problem["status"] == 429 and problem["detail"] and problem["detail_fa"]
                assert 1 <= int(retry_after) <= 20  # one lookup per 20 s
        async with aiohttp.ClientSession(connector=_from(addresses[1])) as other:  # another address: unaffected
            async with other.get(url + f"/v1/track/{tn}") as resp:
                assert resp.status == 200
    finally:
        await redis.delete(*(ratelimit.client_key(a) for a in addresses))


def test_client_key_groups_an_ipv6_subscriber_and_unwraps_mapped_ipv4():
    key = ratelimit.client_key
    assert key("2001:db8:1:2::1") == key("2001:db8:1:2:ffff::9") != key("2001:db8:1:3::1")
    assert key("::ffff:192.0.2.7") == key("192.0.2.7") != key("192.0.2.8")
    assert TrackLimits.load().burst >= 1  # the shipped limits file has the table
    for bad in ((0.0, 10), (1.0, 0)):
        with pytest.raises(ValueError):
            TrackLimits(*bad)
    env = TrackingConfig.from_env({"BARID_TRACK_BURST": "5"}).track_limits
    assert (env.burst, env.rate_per_s) == (5, TrackLimits.load().rate_per_s)


async def test_public_view_stays_at_city_level(client, shop, book, post_scans, redis):
    tn = await book(shop)
    await post_scans([scan(tn, "accepted", ORIGIN, 1), scan(tn, "delivered", DEST, 5, receiver_name="علی رضایی")])
    view = await (await client.get(f"/v1/track/{tn}")).json()
    page = await (await client.get(f"/track/{tn}")).text()
    doc = orjson.loads(await redis.hget(keys.parcel(shop.id, tn), "doc"))
    assert view["destination"] == {"city": doc["receiver"]["city"], "province": doc["receiver"]["province"]}
    blob = orjson.dumps(view).decode() + page
    for party in (doc["receiver"], doc["sender"]):
        for field in ("name", "phone", "postal_code", "address"):
            assert party[field] not in blob, field
    assert "12000000" not in blob and "goods_value" not in blob and "payment" not in blob


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(
        aiohttp_client, store_url, tmp_path, tcfg, shop, book, redis):
    """Behind a reverse proxy every request comes from the proxy: the limit must follow X-Forwarded-For, and
    only when the proxy is trusted (otherwise any client could pick a fresh address per request)."""
    proxy, buyers = "127.0.0.51", ("203.0.113.7", "203.0.113.8")
    spoofed = ("198.51.100.1", "198.51.100.2")
    limited = dataclasses.replace(tcfg, track_limits=TrackLimits(rate_per_s=0.05, burst=1))

    async def gateway(**config):
        app = create_app(Config(data_dir=tmp_path, access_log=False, **config), store_url)
        app[tracking_web.TRACKING_CONFIG] = limited
        return await aiohttp_client(app)

    async def statuses(gw, forwarded_for: str) -> list[int]:
        async with aiohttp.ClientSession(connector=_from(proxy)) as session:
            out = []
            for _ in range(2):
                async with session.get(str(gw.make_url(f"/v1/track/{tn}")),
                                       headers={"X-Forwarded-For": forwarded_for}) as resp:
                    out.append(resp.status)
            return out

    everyone = (proxy, *buyers, *spoofed)
    await redis.delete(*(ratelimit.client_key(a) for a in everyone))
    tn = await book(shop)
    try:
        # Untrusted: the header is ignored; the proxy's one budget is spent by the first buyer.
        untrusted = await gateway()
        assert await statuses(untrusted, f"{buyers[0]}, {proxy}") == [200, 429]
        assert await statuses(untrusted, buyers[1]) == [429, 429]
        await redis.delete(ratelimit.client_key(proxy))
        # Trusted: each buyer has its own budget; a spoofed left-most entry does not buy a fresh one.
        trusted = await gateway(trusted_proxies=(ipaddress.ip_network("127.0.0.0/24"),))
        assert await statuses(trusted, f"{spoofed[0]}, {buyers[0]}") == [200, 429]
        assert await statuses(trusted, f"{spoofed[1]}, {buyers[0]}") == [429, 429]
        assert await statuses(trusted, buyers[1]) == [200, 429]
    finally:
        await redis.delete(*(ratelimit.client_key(a) for a in everyone))
