"""Edge inputs of the tracking routes that once answered 500 (found while documenting them in OpenAPI)."""

from __future__ import annotations

import pytest

from tests.tracking.conftest import ORIGIN, scan

U64 = 2**64 - 1


@pytest.mark.parametrize("cursor", [f"{U64 + 1}-0", f"0-{U64 + 1}", "99999999999999999999-0", f"{U64}-{U64}"])
async def test_cursor_outside_stream_id_range_is_422_not_500(client, shop, cursor):
    # The store refuses such ids ("Invalid stream ID", or "invalid start ID" for an exclusive max-max).
    resp = await client.get("/v1/events", params={"after": cursor}, headers=shop.headers)
    assert resp.status == 422 and (await resp.json())["errors"][0]["field"] == "after"
    resp = await client.get("/v1/events/stream", headers={**shop.headers, "Last-Event-ID": cursor})
    assert resp.status == 422 and (await resp.json())["errors"][0]["field"] == "Last-Event-ID"


async def test_largest_cursors_still_work(client, shop):
    for cursor in (f"{U64}-0", f"0-{U64}", "00000000000000000001-0"):
        resp = await client.get("/v1/events", params={"after": cursor}, headers=shop.headers)
        assert resp.status == 200 and (await resp.json())["data"] == [], cursor


@pytest.mark.parametrize("limit", ["²", "1²", "①"])
async def test_limit_of_digit_symbols_is_422_not_500(client, shop, limit):
    # str.isdigit() accepts these, int() does not.
    resp = await client.get("/v1/events", params={"limit": limit}, headers=shop.headers)
    assert resp.status == 422 and (await resp.json())["errors"][0]["field"] == "limit"


async def test_limit_in_persian_digits_still_works(client, shop):
    resp = await client.get("/v1/events", params={"limit": "۱۰"}, headers=shop.headers)
    assert resp.status == 200


@pytest.mark.parametrize("host", ["a..b", "x" * 64 + ".example"])
async def test_webhook_host_idna_cannot_encode_is_422_not_500(client, shop, host):
    # The resolver's IDNA encoding fails (empty or over-long label) before any lookup is made.
    resp = await client.post("/v1/webhooks", json={"url": f"https://{host}/hook"}, headers=shop.headers)
    assert resp.status == 422, await resp.text()
    assert (await resp.json())["errors"][0]["code"] == "url_unresolvable"


async def test_unhashable_failure_reason_is_422(client, shop, book, staff):
    tn = await book(shop)
    resp = await client.post("/v1/scans", json=scan(tn, "delivery_failed", ORIGIN, 0, reason=[]),
                             headers=staff[ORIGIN])
    assert resp.status == 422, await resp.text()


async def test_scan_from_the_distant_past_is_refused(client, shop, book, staff):
    tn = await book(shop)
    for when in ("0999-01-01T00:00:00+00:00", "0001-01-01T00:00:00+05:00", "2001-01-01T00:00:00Z"):
        body = {**scan(tn, "accepted", ORIGIN, 0), "occurred_at": when}
        resp = await client.post("/v1/scans", json=body, headers=staff[ORIGIN])
        assert resp.status == 422, await resp.text()
        assert (await resp.json())["errors"][0]["field"] == "occurred_at"
    assert (await client.get(f"/track/{tn}")).status == 200


async def test_a_malformed_after_is_refused_even_beside_a_last_event_id(client, shop):
    # Last-Event-ID wins over `after` when both come, but `after` is still a documented, checked parameter.
    resp = await client.get("/v1/events/stream", params={"after": "not-a-cursor"},
                            headers={**shop.headers, "Last-Event-ID": "1-0"})
    assert resp.status == 422 and (await resp.json())["errors"][0]["field"] == "after"
