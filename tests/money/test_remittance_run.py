"""The remittance run on the real ledger: parcels booked, delivered and collected through the gateway, posted by
the real ledger worker into the real PostgreSQL, then remitted."""

from __future__ import annotations

import asyncio

from money import ledger, payouts
from money.accounts import set_bank
from money.remittance import HELD, SCHEDULED
from money.rules import shop_payable
from money.sheba import EXAMPLE_SHEBA
from tests.money.conftest import book, isfahan
from tests.money.remit_flow import FAR, collect, collected, count, lines_of, returned


async def test_the_run_pays_the_net_of_every_settled_parcel_to_the_rial(client, shop, staff, worker, pool,
                                                                         delivered, redis) -> None:
    cod = await collected(delivered, client, staff, 2)
    (prepaid,) = await delivered(1, payment={"type": "prepaid"})
    (uncollected,) = await delivered(1)  # delivered, but no cash recorded yet: it waits
    (cancelled,) = await book(client, shop, [isfahan(9)])
    resp = await client.post(f"/v1/shipments/{cancelled['tracking_number']}/cancel", headers=shop.headers)
    assert resp.status == 200
    back = await returned(client, staff, shop)
    await worker.drain()

    done = await payouts.run(pool, payouts.store_payees(redis), FAR)
    assert (done["remittances"], done["scheduled"], done["held"]) == (1, 1, 0)
    async with pool.acquire() as conn:
        rem = await conn.fetchrow("SELECT * FROM remittances WHERE shop_id = $1", shop.id)
        payable = await ledger.balance(conn, shop_payable(shop.id))
    lines = await lines_of(pool, rem["id"])
    assert set(lines) == {*(d["tracking_number"] for d in cod), prepaid["tracking_number"], back["tracking_number"]}
    for d in cod:  # each COD parcel: what the buyer paid less the fees its booking charged
        line = lines[d["tracking_number"]]
        assert line["collected"] == d["payment"]["goods_value"] == 12_000_000
        assert line["net"] == d["payment"]["goods_value"] - d["price"]["total"]
        assert (line["shipping"], line["cod_fee"], line["insurance"], line["vat"]) == tuple(
            d["price"][k] for k in ("base", "cod_fee", "insurance", "vat"))
    assert lines[prepaid["tracking_number"]]["collected"] == 0  # a deduction line: its fees only
    assert lines[prepaid["tracking_number"]]["net"] == -prepaid["price"]["total"]
    returned_line = lines[back["tracking_number"]]
    assert returned_line["collected"] == 0 and returned_line["net"] < -back["price"]["total"]  # plus the return fee
    assert rem["total"] == sum(x["net"] for x in lines.values()) and rem["count"] == 4
    async with pool.acquire() as conn:  # the delivered scan's time, as the ledger worker recorded it
        delivered_at = dict(await conn.fetch("SELECT tracking_number, delivered_at FROM deliveries"))
    assert None not in delivered_at.values() and len(delivered_at) == 4
    assert all(lines[tn]["delivered_at"] == delivered_at[tn] for tn in lines if tn != back["tracking_number"])
    # The shop's payable (a credit: negative) is this remittance plus what is not remitted yet: the uncollected
    # parcel's booking fees. The cancelled parcel nets to zero.
    assert -payable == rem["total"] - uncollected["price"]["total"]

    # Running again pays nothing twice; a newly settled line of the same day joins the remittance not yet sent.
    again = await payouts.run(pool, payouts.store_payees(redis), FAR)
    assert (again["remittances"], again["lines"], again["total"]) == (0, 0, 0)
    await collect(client, staff, uncollected)
    await worker.drain()
    third = await payouts.run(pool, payouts.store_payees(redis), FAR)
    assert (third["remittances"], third["added_to_earlier"], third["lines"]) == (0, 1, 1)
    async with pool.acquire() as conn:
        rem = await conn.fetchrow("SELECT * FROM remittances WHERE shop_id = $1", shop.id)
        assert -await ledger.balance(conn, shop_payable(shop.id)) == rem["total"]
    assert rem["count"] == 5 and await count(pool, "SELECT count(*) FROM remittance_lines") == 5
    assert rem["run_id"] == done["run_id"]  # still in the file of the run that made it
    assert await count(pool, "SELECT count(*) FROM remittance_runs") == 3


async def test_two_runs_at_once_pay_each_parcel_once(client, shop, staff, worker, pool, delivered, redis) -> None:
    await collected(delivered, client, staff, 2)
    await worker.drain()
    first, second = await asyncio.gather(*(payouts.run(pool, payouts.store_payees(redis), FAR) for _ in range(2)))
    assert sorted((first["lines"], second["lines"])) == [0, 2]
    assert await count(pool, "SELECT count(*) FROM remittances") == 1
    assert await count(pool, "SELECT count(*) FROM remittance_lines") == 2


async def test_an_unverified_account_is_held_then_released_once_verified(client, shop, staff, worker, pool,
                                                                         delivered, redis) -> None:
    await collected(delivered, client, staff, 1)
    await worker.drain()
    await set_bank(redis, shop.id, EXAMPLE_SHEBA, verified=False)  # a new number: not verified yet
    held = await payouts.run(pool, payouts.store_payees(redis), FAR)
    assert (held["remittances"], held["held"]) == (1, 1)
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT id, status, hold_reason FROM remittances WHERE shop_id = $1", shop.id)
    assert (row["status"], row["hold_reason"]) == (HELD, "unverified_account")

    assert (await payouts.run(pool, payouts.store_payees(redis), FAR))["released"] == 0  # still unverified
    await set_bank(redis, shop.id, EXAMPLE_SHEBA, verified=True)
    released = await payouts.run(pool, payouts.store_payees(redis), FAR)
    assert released["released"] == 1
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM remittances WHERE id = $1", row["id"])
        history = [r["status"] for r in await conn.fetch(
            "SELECT status FROM remittance_history WHERE remittance_id = $1 ORDER BY at", row["id"])]
    assert (row["status"], row["hold_reason"], row["run_id"]) == (SCHEDULED, None, released["run_id"])
    assert row["sheba"] == EXAMPLE_SHEBA and history == [HELD, SCHEDULED]


async def test_a_disputed_parcel_stays_out_until_resolved(client, shop, staff, worker, pool, delivered,
                                                          redis) -> None:
    disputed, paid = await collected(delivered, client, staff, 2)
    await worker.drain()
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO disputes (shop_id, tracking_number, kind) VALUES ($1, $2, 'wrong_amount')",
                           shop.id, disputed["tracking_number"])
    done = await payouts.run(pool, payouts.store_payees(redis), FAR)
    assert done["lines"] == 1
    async with pool.acquire() as conn:
        rem_id = await conn.fetchval("SELECT id FROM remittances WHERE shop_id = $1", shop.id)
    assert set(await lines_of(pool, rem_id)) == {paid["tracking_number"]}

    async with pool.acquire() as conn:
        await conn.execute("UPDATE disputes SET status = 'resolved', resolved_at = now() WHERE tracking_number = $1",
                           disputed["tracking_number"])
    later = await payouts.run(pool, payouts.store_payees(redis), FAR)
    assert later["lines"] == 1 and set(await lines_of(pool, rem_id)) == {paid["tracking_number"],
                                                                      disputed["tracking_number"]}


async def test_a_dispute_opened_on_a_scheduled_remittance_holds_it(client, shop, staff, worker, pool, delivered,
                                                                   redis) -> None:
    (doc,) = await collected(delivered, client, staff, 1)
    await worker.drain()
    await payouts.run(pool, payouts.store_payees(redis), FAR)
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO disputes (shop_id, tracking_number, kind) VALUES ($1, $2, 'wrong_amount')",
                           shop.id, doc["tracking_number"])
    assert (await payouts.run(pool, payouts.store_payees(redis), FAR))["put_on_hold"] == 1
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT status, hold_reason FROM remittances WHERE shop_id = $1", shop.id)
    assert (row["status"], row["hold_reason"]) == (HELD, "open_dispute")


async def test_lines_not_yet_due_wait_and_small_totals_roll_over(client, shop, staff, worker, pool, delivered,
                                                                 redis) -> None:
    await collected(delivered, client, staff, 1)
    (prepaid,) = await delivered(1, payment={"type": "prepaid"})
    await worker.drain()
    today = await payouts.run(pool, payouts.store_payees(redis))  # T+3: nothing delivered today is due today
    assert (today["remittances"], today["waiting_lines"]) == (0, 2)
    assert await count(pool, "SELECT count(*) FROM remittance_lines") == 0
