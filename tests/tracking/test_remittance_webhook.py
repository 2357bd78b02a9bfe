"""A paid remittance's event (money/payout_ops.py announce) reaches the shop's webhook like any feature event:
through the partition outbox, the real dispatcher and a real, signature-checking storefront."""

from __future__ import annotations

from money import payout_ops


async def test_a_paid_remittance_reaches_a_subscribed_webhook(client, shop, subscribe, receiver_factory, dispatch,
                                                              redis) -> None:
    rec = await receiver_factory()
    await subscribe(shop, rec, ["remittance_paid"])
    row = {"remittance_id": f"rem_20261215_{shop.id}_0123456789ab", "shop_id": shop.id, "period": "2026-12-15",
           "count": 2, "collected": 24_000_000,
           "fees": {"shipping": 900_000, "cod_fee": 240_000, "insurance": 50_000, "vat": 119_000},
           "total": 22_691_000, "bank_ref": "PAYA-140509-77", "updated_at": "2026-12-15T10:00:00+00:00"}
    event_id = await payout_ops.announce(redis, row)
    await dispatch()
    assert rec.bad_signatures == 0
    (got,) = [e for e in rec.unique() if e["type"] == "remittance_paid"]
    assert got["id"] == event_id and got["shop_id"] == shop.id and got["tracking_number"] is None
    assert (got["data"]["remittance_id"], got["data"]["total"], got["data"]["bank_ref"]) == (
        row["remittance_id"], 22_691_000, "PAYA-140509-77")
