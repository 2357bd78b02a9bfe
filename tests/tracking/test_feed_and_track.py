"""The shop's event feed (polling, SSE with resume) and the buyers' tracking API and page."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import re

from gateway.web_app import create_app
from kernel.settings import Config
from kernel.store import keys
from tests.browser import needs_chromium, phone_driver
from tests.conftest import shipment_body
from tests.tracking.conftest import DEST, HUB, ORIGIN, life, scan
from tracking import web as tracking_web


async def test_polling_pages_through_the_feed(client, shop, book, post_scans):
    tn = await book(shop)
    await post_scans(life(tn)[:4])
    resp = await client.get("/v1/events", params={"limit": "3"}, headers=shop.headers)
    page1 = await resp.json()
    assert [e["id"] for e in page1["data"]] == [f"evt_{tn}_{i}" for i in (1, 2, 3)] and page1["has_more"]
    resp = await client.get("/v1/events", params={"after": page1["next_after"]}, headers=shop.headers)
    page2 = await resp.json()
    assert [e["id"] for e in page2["data"]] == [f"evt_{tn}_{i}" for i in (4, 5)] and not page2["has_more"]
    resp = await client.get("/v1/events", params={"after": page2["next_after"]}, headers=shop.headers)
    assert (await resp.json())["data"] == []
    for bad in ("x", "1-1.0", f"1-1.{keys.FEED_RUN}", "1-1."):
        assert (await client.get("/v1/events", params={"after": bad}, headers=shop.headers)).status == 422
    assert (await client.get("/v1/events")).status == 401


async def _batch(client, staff, office, scans):
    resp = await client.post("/v1/scans/batch", json={"scans": scans}, headers=staff[office])
    assert resp.status == 200 and (await resp.json())["recorded"] == len(scans)


async def test_polling_pages_one_event_at_a_time_through_a_run(client, shop, book, post_scans, staff, redis):
    """Four scans in one request go to the feed as one entry; a page still holds exactly `limit` events, and its
    cursor points inside the run."""
    tn = await book(shop)
    await post_scans([scan(tn, "accepted", ORIGIN, 1)])
    await _batch(client, staff, HUB, [scan(tn, ev, HUB, t) for t, ev in enumerate(
        ("sorting_in", "sorting_out", "sorting_in", "sorting_out"), 2)])
    runs = [f[b"e"].count(b"\n") + 1 for _, f in await redis.xrange(keys.shop_feed(shop.id))]
    assert runs == [1, 1, 4]
    seen, after, cursors = [], None, []
    for _ in range(10):  # six events: a cursor that never moves on must not loop forever
        params = {"limit": "1", **({"after": after} if after else {})}
        page = await (await client.get("/v1/events", params=params, headers=shop.headers)).json()
        seen += [e["id"] for e in page["data"]]
        after = page["next_after"]
        cursors.append(after)
        if not page["has_more"]:
            break
    assert seen == [f"evt_{tn}_{i}" for i in range(1, 7)]
    assert [c.rpartition(".")[2] for c in cursors[2:5]] == ["1", "2", "3"] and "." not in cursors[5]


async def _read_events(resp, n):
    events, buf = [], b""
    while len(events) < n:
        buf += await resp.content.readany()
        while b"\n\n" in buf:
            block, buf = buf.split(b"\n\n", 1)
            fields = dict(line.split(b": ", 1) for line in block.split(b"\n") if b": " in line)
            if b"data" in fields:
                events.append((fields[b"id"].decode(), fields[b"event"].decode(), fields[b"data"]))
    return events


async def test_sse_streams_live_and_resumes_from_last_event_id(client, shop, book, post_scans, staff):
    resp = await client.get("/v1/events/stream", headers=shop.headers)
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
    tn = await book(shop)
    await post_scans([scan(tn, "accepted", ORIGIN, 1)])
    got = await asyncio.wait_for(_read_events(resp, 2), 5)
    assert [(kind, f'"evt_{tn}_{i}"'.encode() in data) for (_, kind, data), i in zip(got, (1, 2))] == [
        ("booked", True), ("accepted", True)]
    resp.close()
    # Missed while disconnected: resume with Last-Event-ID.
    await post_scans([scan(tn, "sorting_in", "THR-HUB", 2)])
    resp = await client.get("/v1/events/stream", headers={**shop.headers, "Last-Event-ID": got[0][0]})
    again = await asyncio.wait_for(_read_events(resp, 2), 5)
    assert [kind for _, kind, _ in again] == ["accepted", "sorting_in"]
    resp.close()
    # Three scans in one request are one run in the feed; resuming from the first gives the other two.
    await _batch(client, staff, HUB, [scan(tn, ev, HUB, t) for t, ev in enumerate(
        ("sorting_out", "sorting_in", "sorting_out"), 3)])
    resp = await client.get("/v1/events/stream", headers={**shop.headers, "Last-Event-ID": again[1][0]})
    run = await asyncio.wait_for(_read_events(resp, 3), 5)
    resp.close()
    assert [kind for _, kind, _ in run] == ["sorting_out", "sorting_in", "sorting_out"]
    resp = await client.get("/v1/events/stream", headers={**shop.headers, "Last-Event-ID": run[0][0]})
    rest = await asyncio.wait_for(_read_events(resp, 2), 5)
    resp.close()
    assert [(cursor, f'"evt_{tn}_{seq}"'.encode() in data) for (cursor, _, data), seq in zip(rest, (5, 6))] == [
        (run[1][0], True), (run[2][0], True)]


async def test_a_quiet_stream_stays_open_on_heartbeats(aiohttp_client, store_url, tmp_path, tcfg, shop):
    # Silent longer than the store client's default read timeout (5 s): the wait must not end the stream.
    app = create_app(Config(data_dir=tmp_path, access_log=False), store_url)
    app[tracking_web.TRACKING_CONFIG] = dataclasses.replace(tcfg, sse_heartbeat_s=6.0)
    client = await aiohttp_client(app)
    resp = await client.get("/v1/events/stream", headers=shop.headers)
    seen = b""
    async with asyncio.timeout(15):
        while b": keep-alive" not in seen:
            chunk = await resp.content.readany()
            assert chunk, f"the stream ended after {seen!r}"
            seen += chunk
    booked = await client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)
    tn = (await booked.json())["tracking_number"]
    got = await asyncio.wait_for(_read_events(resp, 1), 5)  # the same stream, still live
    assert got[0][1] == "booked" and f'"evt_{tn}_1"'.encode() in got[0][2]
    resp.close()


async def test_public_tracking_shows_progress_but_no_personal_data(client, shop, book, post_scans):
    tn = await book(shop)
    await post_scans(life(tn)[:7] + [scan(tn, "delivery_failed", DEST, 8, reason="receiver_absent")])
    resp = await client.get(f"/v1/track/{tn.lower()}")  # no key; any case
    view = await resp.json()
    assert resp.status == 200 and view["status"] == "failed_attempt" and view["status_fa"]
    assert view["events"][0]["type"] == "booked" and view["events"][-1]["reason"] == "receiver_absent"
    accepted = view["events"][1]
    assert accepted["office"]["code"] == ORIGIN and accepted["office"]["city"] == "تهران"
    assert accepted["emsevt"] == "EMA"
    text = await resp.text()
    for secret in ("0913", "چهارباغ", "علی رضایی", "8138634561", "goods_value", "scan_id"):
        assert secret not in text
    assert (await client.get("/v1/track/EP999999995IR")).status == 404


async def test_tracking_page_is_small_persian_and_self_contained(client, shop, book, post_scans):
    tn = await book(shop)
    await post_scans(life(tn))
    resp = await client.get(f"/track/{tn}")
    html = await resp.text()
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/html")
    assert 'dir="rtl"' in html and 'lang="fa"' in html and "تحویل داده شد" in html
    assert re.search("[۰-۹]{4}", html)  # Persian digits (the Jalali year)
    assert not re.search(r"(src|href)=", html) and "<script" not in html
    raw = html.encode()
    assert len(raw) < 8_000 and len(gzip.compress(raw)) < 2_500
    assert "0913" not in html and "چهارباغ" not in html
    resp = await client.get("/track/EP999999995IR")
    assert resp.status == 404 and "پیدا نشد" in await resp.text()


@needs_chromium
async def test_buyer_sees_the_page_in_headless_chromium_on_a_360px_phone(client, shop, book, post_scans):
    from selenium.webdriver.common.by import By

    tn = await book(shop)
    await post_scans(life(tn)[:7])
    url = str(client.make_url(f"/track/{tn}"))

    def look() -> dict:
        driver = phone_driver(360, 740)
        try:
            driver.get(url)
            return {
                "status": driver.find_element(By.ID, "status").text,
                "steps": [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#history li")],
                "direction": driver.execute_script("return getComputedStyle(document.body).direction"),
                "overflow": driver.execute_script(
                    "return document.documentElement.scrollWidth - document.documentElement.clientWidth"),
                "width": driver.execute_script("return window.innerWidth"),
                "resources": driver.execute_script("return performance.getEntriesByType('resource').length"),
                "tn_visible": driver.find_element(By.CSS_SELECTOR, ".tn").is_displayed(),
            }
        finally:
            driver.quit()

    seen = await asyncio.get_running_loop().run_in_executor(None, look)
    assert seen["status"] == "در حال توزیع"
    assert seen["direction"] == "rtl" and seen["overflow"] <= 0 and seen["tn_visible"]
    assert seen["resources"] == 0  # nothing fetched beyond the page itself
    assert len(seen["steps"]) == 8
    newest = seen["steps"][0]
    assert "تحویل به نامه‌رسان" in newest and "اصفهان" in newest and re.search("۱۴[۰-۹]{2}", newest)
    assert "ثبت مرسوله" in seen["steps"][-1]
