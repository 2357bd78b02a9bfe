"""The shop's balance and the remittance run read one rule for the settled lines (money/lines.py): what
``GET /v1/balance`` says is due now is what ``remittances run`` pays, to the rial, deductions included (a
delivered prepaid parcel's fees, a returned parcel's fees and its return fee), and then shows it in flight."""

from __future__ import annotations

from datetime import datetime, timedelta

from money import ledger, payouts, shop_money
from money.policy import policy
from money.remittance import SCHEDULED
from money.rules import INSURANCE, SHIPPING, VAT, Posting, shop_payable
from tests.money.conftest import book, isfahan
from tests.money.facts import FEES, OFFICE, ago, post_parcel, tn_of
from tests.money.remit_flow import FAR, collected, returned

COD_VALUE = 5_000_000
PREPAID_FEES = {"shipping": 90_000, "insurance": 4_000, "vat": 8_000}
RETURN_FEE = (60_000, 6_000)  # the return's fee and its VAT


def _booking(shop_id: int, tn: str, at: datetime) -> Posting:
    fees = PREPAID_FEES
    return Posting("booking", at - timedelta(days=2), [
        (shop_payable(shop_id), sum(fees.values()), None), (SHIPPING, -fees["shipping"], None),
        (INSURANCE, -fees["insurance"], None), (VAT, -fees["vat"], None)],
        event_id=f"b-{tn}", shop_id=shop_id, tracking_number=tn, office="THR-01",
        facts={"payment_type": "prepaid", "cod_amount": 0, "delivering_office": OFFICE})


async def _prepaid_delivered(conn, shop_id: int, tn: str, at: datetime) -> None:
    await ledger.write(conn, [_booking(shop_id, tn, at), Posting(
        "delivered", at, [], event_id=f"d-{tn}", shop_id=shop_id, tracking_number=tn, office=OFFICE,
        facts={"payment_type": "prepaid", "cod_amount": 0})])


async def _returned(conn, shop_id: int, tn: str, at: datetime) -> None:
    fee, vat = RETURN_FEE
    await ledger.write(conn, [_booking(shop_id, tn, at), Posting(
        "return", at, [(shop_payable(shop_id), fee + vat, None), (SHIPPING, -fee, None), (VAT, -vat, None)],
        event_id=f"r-{tn}", shop_id=shop_id, tracking_number=tn, office="THR-01")])


async def test_the_balance_due_now_is_what_the_run_pays_deductions_included(mclient, shop, pool, redis):
    old = ago(40)  # every payout day (T+N, the payout weekday) has come
    async with pool.acquire() as conn:
        await post_parcel(conn, shop.id, tn_of(1), old, value=COD_VALUE)
        await _prepaid_delivered(conn, shop.id, tn_of(2), old)
        await _returned(conn, shop.id, tn_of(3), old)
        await post_parcel(conn, shop.id, tn_of(4), ago(0), value=COD_VALUE)  # delivered today: pending
        await _prepaid_delivered(conn, shop.id, tn_of(5), ago(0))  # a pending deduction
    cod_net = COD_VALUE - sum(FEES.values())
    prepaid = sum(PREPAID_FEES.values())
    due = cod_net - prepaid - (prepaid + sum(RETURN_FEE))

    b = await (await mclient.get("/v1/balance", headers=shop.headers)).json()
    assert (b["due_now"], b["pending"], b["in_flight"], b["on_hold"]) == (due, cod_net - prepaid, 0, 0)
    assert b["collected"] == 2 * COD_VALUE
    assert b["fees"] == 2 * sum(FEES.values()) + 3 * prepaid + sum(RETURN_FEE)
    assert b["collected"] == b["fees"] + b["remitted"] + b["in_flight"] + b["on_hold"] + b["due_now"] + b["pending"]
    async with pool.acquire() as conn:  # and every rial of the payable is in one of the figures
        assert -await ledger.balance(conn, shop_payable(shop.id)) == b["due_now"] + b["pending"]

    done = await payouts.run(pool, payouts.store_payees(redis), payouts.today())
    assert (done["remittances"], done["scheduled"], done["lines"]) == (1, 1, 3)
    assert done["total"] == due  # to the rial: the balance's due now, paid
    async with pool.acquire() as conn:
        rem = await conn.fetchrow("SELECT status, total FROM remittances WHERE shop_id = $1", shop.id)
    assert (rem["status"], rem["total"]) == (SCHEDULED, due)

    after = await (await mclient.get("/v1/balance", headers=shop.headers)).json()
    assert (after["in_flight"], after["due_now"], after["pending"]) == (due, 0, cod_net - prepaid)
    assert (after["collected"], after["fees"]) == (b["collected"], b["fees"])


async def test_a_disputed_deduction_is_on_hold_not_due(mclient, shop, pool, redis):
    async with pool.acquire() as conn:
        await post_parcel(conn, shop.id, tn_of(1), ago(40), value=COD_VALUE)
        await _prepaid_delivered(conn, shop.id, tn_of(2), ago(40))
        await conn.execute("INSERT INTO disputes (shop_id, tracking_number, kind) VALUES ($1, $2, 'not_remitted')",
                           shop.id, tn_of(2))
    cod_net, prepaid = COD_VALUE - sum(FEES.values()), sum(PREPAID_FEES.values())
    b = await (await mclient.get("/v1/balance", headers=shop.headers)).json()
    assert (b["due_now"], b["on_hold"], b["open_disputes"]) == (cod_net, -prepaid, 1)
    done = await payouts.run(pool, payouts.store_payees(redis), payouts.today())
    assert (done["lines"], done["total"]) == (1, cod_net)  # the run leaves the disputed line out, as the balance


async def test_the_real_flow_balance_matches_the_run(client, mclient, shop, staff, worker, pool, delivered, redis):
    """Through the gateway and the ledger worker: COD collected, prepaid delivered, returned, cancelled."""
    cod = await collected(delivered, client, staff, 1)
    (prepaid,) = await delivered(1, payment={"type": "prepaid"})
    back = await returned(client, staff, shop)
    (cancelled,) = await book(client, shop, [isfahan(9)])
    assert (await client.post(f"/v1/shipments/{cancelled['tracking_number']}/cancel",
                              headers=shop.headers)).status == 200
    await worker.drain()
    today = await (await mclient.get("/v1/balance", headers=shop.headers)).json()
    async with pool.acquire() as conn:
        ahead = await shop_money.balance(conn, shop.id, policy().cycle(None), FAR, payouts.working_day)
    assert ahead["due_now"] == today["pending"] + today["due_now"]  # all of it due by then
    expected = (cod[0]["payment"]["goods_value"] - cod[0]["price"]["total"] - prepaid["price"]["total"]
                - back["price"]["total"])
    assert ahead["due_now"] < expected  # the return fee on top
    done = await payouts.run(pool, payouts.store_payees(redis), FAR)
    assert (done["lines"], done["total"]) == (3, ahead["due_now"])
    after = await (await mclient.get("/v1/balance", headers=shop.headers)).json()
    assert (after["in_flight"], after["due_now"], after["pending"]) == (done["total"], 0, 0)
