"""The consistency check against a real store: what was acknowledged must be there, every event delivered."""

from __future__ import annotations

from pathlib import Path

import orjson

from loadtests.consistency import check
from tests.conftest import shipment_body


async def test_check_finds_lost_bookings_and_undelivered_events(app_client, shop, store_url: str,
                                                                tmp_path: Path) -> None:
    resp = await app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)
    assert resp.status == 201
    tn = (await resp.json())["tracking_number"]
    (tmp_path / "1.jsonl").write_bytes(orjson.dumps({"k": "book", "tn": tn, "shop": shop.id}) + b"\n")
    booked_event = f"evt_{tn}_1"

    delivered = {"events": {booked_event: ["booked", tn, 2.0, 1.0]}, "duplicates": 1, "rejected": 0}
    ok = check(store_url, tmp_path, lambda: delivered, {shop.id})
    assert ok["consistent"], ok
    assert (ok["webhooks_expected"], ok["webhooks_received"], ok["webhook_duplicates"]) == (1, 1, 1)
    assert ok["line"].startswith("CONSISTENT: 1 bookings (0 missing")

    # No dispatcher ever read this outbox: the event is a backlog (pending), not a loss, and still fails the check.
    undelivered = check(store_url, tmp_path, lambda: {"events": {}}, {shop.id})
    assert not undelivered["consistent"] and undelivered["examples"]["pending"] == [booked_event]
    assert (undelivered["webhooks_pending"], undelivered["webhooks_missing"]) == (1, 0)

    (tmp_path / "2.jsonl").write_bytes(orjson.dumps({"k": "book", "tn": "EP999999995IR", "shop": shop.id}) + b"\n"
                                       + orjson.dumps({"k": "scan", "tn": tn, "sid": "s-1", "eid": f"evt_{tn}_2"}))
    lost = check(store_url, tmp_path, lambda: delivered, {shop.id})
    assert not lost["consistent"]
    assert (lost["bookings_missing"], lost["scans_missing"]) == (1, 1)
    assert lost["line"].startswith("INCONSISTENT")
