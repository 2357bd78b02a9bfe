"""A shop's webhook receives its disputes' changes, signed and delivered like parcel events."""

from __future__ import annotations

from datetime import datetime, timedelta

from kernel.postal.timeutil import IRAN_TIME
from tests.money.conftest import OPERATOR
from tests.money.facts import post_parcel, tn_of
from tests.tracking.conftest import (  # noqa: F401  (fixtures)
    client,
    dispatch,
    receiver_factory,
    storefronts,
    subscribe,
    tcfg,
)


async def test_dispute_changes_reach_the_shop_s_webhook(  # noqa: F811  (pytest fixtures as parameters)
        mclient, shop, pool, receiver_factory, subscribe, dispatch):  # noqa: F811
    async with pool.acquire() as conn:
        await post_parcel(conn, shop.id, tn_of(9), datetime.now(IRAN_TIME) - timedelta(days=3))
    receiver = await receiver_factory()
    await subscribe(shop, receiver, ["dispute_opened", "dispute_resolved"])
    resp = await mclient.post("/v1/disputes", json={"tracking_number": tn_of(9), "kind": "not_remitted"},
                              headers=shop.headers)
    assert resp.status == 201, await resp.text()
    did = (await resp.json())["dispute_id"]
    resp = await mclient.post(f"/v1/operator/disputes/{did}/resolve", json={
        "outcome": "rejected", "note": "در حوالهٔ هفتهٔ بعد است", "by": "finance"},
        headers={"Authorization": f"Bearer {OPERATOR}"})
    assert resp.status == 200, await resp.text()
    await dispatch()
    got = [(e["type"], e["status"], e["dispute_id"]) for e in receiver.unique() if e.get("dispute_id") == did]
    assert got == [("dispute_opened", "open", did), ("dispute_resolved", "rejected", did)]
