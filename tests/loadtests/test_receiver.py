"""The storefront receiver accepts only deliveries whose Standard Webhooks signature verifies."""

from __future__ import annotations

import time

import orjson

from loadtests.receiver import Receiver
from tracking.webhooks import new_secret, secret_key, sign


def _delivery(secret: str, event_id: str, body: bytes, ts: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    return {"content-type": "application/json", "webhook-id": event_id, "webhook-timestamp": str(ts),
            "webhook-signature": sign([secret_key(secret)], event_id, ts, body)}


def _event(event_id: str) -> bytes:
    return orjson.dumps({"id": event_id, "type": "accepted", "tracking_number": "EP000000015IR", "shop_id": 1,
                         "recorded_at": "2025-01-01T10:00:00.000Z"})


async def test_verified_deliveries_are_recorded_once_and_forgeries_refused(aiohttp_client) -> None:
    secret, other = new_secret(), new_secret()
    receiver = Receiver({"1": secret})
    client = await aiohttp_client(receiver.app())
    body = _event("evt_EP000000015IR_2")

    resp = await client.post("/hook/1", data=body, headers=_delivery(secret, "evt_EP000000015IR_2", body))
    assert resp.status == 204
    resp = await client.post("/hook/1", data=body, headers=_delivery(secret, "evt_EP000000015IR_2", body))
    assert resp.status == 204  # at-least-once: a repeat is accepted and counted as a duplicate

    forged = [
        ("/hook/1", body, _delivery(other, "evt_EP000000015IR_2", body)),  # wrong secret
        ("/hook/1", body.replace(b"accepted", b"delivered"), _delivery(secret, "evt_EP000000015IR_2", body)),
        ("/hook/1", body, _delivery(secret, "evt_EP000000015IR_9", body)),  # signed for another id
        ("/hook/1", body, _delivery(secret, "evt_EP000000015IR_2", body, ts=int(time.time()) - 3600)),  # stale
        ("/hook/2", body, _delivery(secret, "evt_EP000000015IR_2", body)),  # unknown shop
    ]
    for path, data, headers in forged:
        assert (await client.post(path, data=data, headers=headers)).status == 401

    assert await (await client.get("/stats")).json() == {"received": 1, "duplicates": 1, "rejected": 5}
    typ, tn, arrival_ms, recorded_ms = receiver.first["evt_EP000000015IR_2"]
    assert (typ, tn, recorded_ms) == ("accepted", "EP000000015IR", 1735725600000.0)
    assert arrival_ms > recorded_ms
