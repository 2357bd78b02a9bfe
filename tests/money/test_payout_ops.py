"""Payout files, the bank's reference and a refused transfer, on the real ledger and the real store."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree as ET

import orjson
import pytest

from kernel.store import keys
from money import ledger, pain001, payout_ops, payouts
from money.remittance import RemittanceTransitionInvalid
from money.rules import shop_payable
from tests.money.remit_flow import FAR, collected, count
from tracking.events import outbox_entry

NS = {"p": pain001.NAMESPACE}


async def _run_and_export(pool, redis, fmt: str = "pain001", as_of=FAR) -> tuple[dict, bytes, dict]:
    run = await payouts.run(pool, payouts.store_payees(redis), as_of)
    body, summary = await payout_ops.payout_file(pool, run["run_id"], fmt, payouts.store_names(redis), "finance:test")
    return run, body, summary


async def test_export_validates_and_sends_and_a_second_fetch_is_the_same_batch(client, shop, staff, worker, pool,
                                                                               delivered, redis) -> None:
    docs = await collected(delivered, client, staff, 2)
    await worker.drain()
    run, body, summary = await _run_and_export(pool, redis)
    pain001.validate(body)  # the official schema, vendored
    root = ET.fromstring(body)
    (tx,) = root.findall(".//p:CdtTrfTxInf", NS)
    rem = (await payout_ops.list_remittances(pool, shop.id))[0]
    assert rem["status"] == "sent" and summary["sent_now"] and summary["remittances"] == 1
    assert tx.find("p:PmtId/p:EndToEndId", NS).text == rem["remittance_id"]
    assert int(tx.find("p:Amt/p:InstdAmt", NS).text) == rem["total"] == sum(
        d["payment"]["goods_value"] - d["price"]["total"] for d in docs)
    assert tx.find("p:Cdtr/p:Nm", NS).text == shop.shop.name
    assert root.find(".//p:GrpHdr/p:MsgId", NS).text == f"BARID-RUN-{run['run_id']}"

    again, summary2 = await payout_ops.payout_file(pool, run["run_id"], "pain001", payouts.store_names(redis), "x")
    assert again == body and not summary2["sent_now"]
    csv, _ = await payout_ops.payout_file(pool, run["run_id"], "csv", payouts.store_names(redis), "x")
    assert rem["remittance_id"] in csv.decode("utf-8-sig") and str(rem["total"]) in csv.decode("utf-8-sig")


async def test_an_empty_run_has_no_file(pool, redis) -> None:
    run = await payouts.run(pool, payouts.store_payees(redis), FAR)
    with pytest.raises(payout_ops.PayoutFileEmpty):
        await payout_ops.payout_file(pool, run["run_id"], "pain001", payouts.store_names(redis), "x")
    with pytest.raises(payout_ops.RunNotFound):
        await payout_ops.payout_file(pool, 999_999, "csv", payouts.store_names(redis), "x")


async def test_mark_paid_posts_the_payout_once_and_tells_the_shop(client, shop, staff, worker, pool, delivered,
                                                                  redis) -> None:
    await collected(delivered, client, staff, 1)
    await worker.drain()
    await _run_and_export(pool, redis)
    rem = (await payout_ops.list_remittances(pool, shop.id))[0]
    feed_before = await redis.xlen(keys.shop_feed(shop.id))

    paid = await payout_ops.mark_paid(pool, rem["remittance_id"], "PAYA-140509-77", "finance:test")
    assert paid["status"] == "paid" and paid["paid_now"] and paid["bank_ref"] == "PAYA-140509-77"
    event_id = await payout_ops.announce(redis, paid)
    async with pool.acquire() as conn:
        assert await ledger.balance(conn, shop_payable(shop.id)) == 0  # everything owed was paid
        assert await ledger.balance(conn, payout_ops.PAYOUTS) == -rem["total"]
        posting = await conn.fetchrow("SELECT * FROM postings WHERE id = $1", paid["posting_id"])
    assert posting["kind"] == "payout" and posting["shop_id"] == shop.id

    # The same reference again: the paid remittance, nothing posted.
    again = await payout_ops.mark_paid(pool, rem["remittance_id"], "PAYA-140509-77", "finance:test")
    assert not again["paid_now"] and again["posting_id"] == paid["posting_id"]
    assert await count(pool, "SELECT count(*) FROM postings WHERE kind = 'payout'") == 1
    with pytest.raises(RemittanceTransitionInvalid):
        await payout_ops.mark_paid(pool, rem["remittance_id"], "OTHER-REF", "finance:test")
    with pytest.raises(RemittanceTransitionInvalid):
        await payout_ops.mark_failed(pool, rem["remittance_id"], "too late", "finance:test")

    # The event is on the shop's feed, and on its polling API, as webhooks read it from the outbox.
    (_, fields), = await redis.xrevrange(keys.shop_feed(shop.id), count=1)
    event = orjson.loads(fields[b"e"])
    assert await redis.xlen(keys.shop_feed(shop.id)) == feed_before + 1
    assert (event["id"], event["type"], event["data"]["total"]) == (event_id, "remittance_paid", rem["total"])
    outbox = await redis.xrevrange(keys.partition_events(keys.partition_of(shop.id)), count=50)
    runs = [outbox_entry([x for kv in fields.items() for x in kv]) for _, fields in outbox]
    assert any(sid == str(shop.id).encode() and orjson.loads(raw)["id"] == event_id
               for sid, evs in runs for _, raw in evs)  # where the webhook dispatchers read it
    resp = await client.get("/v1/events", headers=shop.headers, params={"limit": "500"})
    assert resp.status == 200
    assert event_id in {e["id"] for e in (await resp.json())["data"]}


async def test_a_failed_transfer_is_due_again_and_in_the_next_file(client, shop, staff, worker, pool, delivered,
                                                                   redis) -> None:
    await collected(delivered, client, staff, 1)
    await worker.drain()
    await _run_and_export(pool, redis)
    rem = (await payout_ops.list_remittances(pool, shop.id))[0]
    failed = await payout_ops.mark_failed(pool, rem["remittance_id"], "account closed", "finance:test")
    assert failed["status"] == "failed"
    assert await count(pool, "SELECT count(*) FROM postings WHERE kind = 'payout'") == 0

    run2, body, summary = await _run_and_export(pool, redis, as_of=FAR + timedelta(days=1))
    assert run2["due_again"] == 1 and summary["remittances"] == 1
    assert rem["remittance_id"] in body.decode()
    history = await payout_ops.list_remittances(pool, shop.id)
    assert history[0]["status"] == "sent" and history[0]["run_id"] == run2["run_id"]
    paid = await payout_ops.mark_paid(pool, rem["remittance_id"], "REF2", "finance:test")
    assert paid["status"] == "paid"
