"""The walk-through's receiver (``python -m tracking.receiver``) prints verified deliveries and refuses forgeries."""

from __future__ import annotations

import io
import time

import orjson

from tracking.receiver import make_app
from tracking.webhooks import new_secret, secret_key, sign


def _headers(secret: str, event_id: str, body: bytes, ts: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    return {"content-type": "application/json", "webhook-id": event_id, "webhook-timestamp": str(ts),
            "webhook-signature": sign([secret_key(secret)], event_id, ts, body)}


async def test_prints_verified_deliveries_once_and_refuses_forgeries(aiohttp_client) -> None:
    secret, other = new_secret(), new_secret()
    out = io.StringIO()
    client = await aiohttp_client(make_app(secret, "/hooks", out))
    body = orjson.dumps({"id": "evt_EP000000015IR_2", "type": "accepted", "tracking_number": "EP000000015IR"})

    assert (await client.post("/hooks", data=body, headers=_headers(secret, "evt_EP000000015IR_2", body))).status == 204
    assert (await client.post("/hooks", data=body, headers=_headers(secret, "evt_EP000000015IR_2", body))).status == 204
    forged = [
        _headers(other, "evt_EP000000015IR_2", body),  # another endpoint's secret
        _headers(secret, "evt_EP000000015IR_9", body),  # signed for another id than the payload's
        _headers(secret, "evt_EP000000015IR_2", body, ts=int(time.time()) - 3600),  # an old delivery replayed
    ]
    for headers in forged:
        assert (await client.post("/hooks", data=body, headers=headers)).status == 401
    tampered = body.replace(b"accepted", b"delivered")
    assert (await client.post("/hooks", data=tampered,
                              headers=_headers(secret, "evt_EP000000015IR_2", body))).status == 401

    lines = out.getvalue().splitlines()
    assert lines[:2] == ["verified evt_EP000000015IR_2 accepted EP000000015IR",
                         "duplicate evt_EP000000015IR_2 accepted EP000000015IR"]
    assert len(lines) == 6 and all(line.startswith("rejected ") for line in lines[2:])
