"""Remittances: net = collected - fees to the rial, one id per shop and payout day, a strict state machine."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from money.policy import Cycle
from money.remittance import (
    FAILED,
    HELD,
    HOLD_DISPUTE,
    HOLD_UNVERIFIED_ACCOUNT,
    PAID,
    SCHEDULED,
    SENT,
    STATUSES,
    TRANSITIONS,
    Line,
    RemittanceLineInvalid,
    RemittanceTransitionInvalid,
    make_remittance,
)

AS_OF = date(2026, 12, 15)  # a Tuesday
DAILY_T0 = Cycle(0, None, 0)


def working(d: date) -> bool:
    return d.weekday() != 4


rials = st.integers(min_value=0, max_value=10**10)
lines_st = st.lists(
    st.builds(Line, tracking_number=st.integers(0, 10**9 - 1).map(lambda n: f"EP{n:09d}IR"),
              delivered_at=st.dates(date(2026, 11, 1), date(2026, 12, 10)).map(lambda d: f"{d}T09:00:00Z"),
              collected=rials, shipping=st.integers(0, 10**7), cod_fee=st.integers(0, 10**6),
              insurance=st.integers(0, 10**6), vat=st.integers(0, 10**6)),
    max_size=25, unique_by=lambda line: line.tracking_number)  # a parcel is settled once


@settings(max_examples=60, deadline=None)
@given(lines_st)
def test_net_is_collected_less_fees_and_the_total_adds_up_to_the_rial(lines):
    res = make_remittance(7, lines, AS_OF, DAILY_T0, working)
    for line in lines:
        assert line.net == line.collected - line.shipping - line.cod_fee - line.insurance - line.vat
    rem = res.remittance
    if rem is None:
        assert sum(x.net for x in lines) < 1 or not lines
        return
    assert rem.total == sum(x.net for x in lines) == rem.collected - sum(rem.fee_totals().values())
    assert sorted(rem.lines, key=lambda x: x.tracking_number) == sorted(lines, key=lambda x: x.tracking_number)


@settings(max_examples=60, deadline=None)
@given(lines_st, st.integers(0, 10**9))
def test_under_the_minimum_every_due_line_rolls_over_and_nothing_is_lost(lines, minimum):
    cycle = Cycle(0, None, minimum)
    res = make_remittance(7, lines, AS_OF, cycle, working)
    paid = res.remittance.lines if res.remittance else ()
    # Every line is paid, rolled over or still waiting: exactly once.
    assert sorted(map(id, (*paid, *res.rolled_over, *res.waiting))) == sorted(map(id, lines))
    if res.remittance is None:
        assert sum(x.net for x in res.rolled_over) < max(minimum, 1)
    else:
        assert res.remittance.total >= minimum and not res.rolled_over
    # Rolled-over lines are paid by a later run once, with the new lines, the minimum is reached.
    if res.rolled_over:
        carried = sum(x.net for x in res.rolled_over)  # fees may exceed a small parcel's value: maybe < 0
        big = Line("EP999999999IR", "2026-12-10T09:00:00Z", minimum + 1 + abs(carried))
        later = make_remittance(7, [*res.rolled_over, big], AS_OF + timedelta(days=7), cycle, working)
        assert later.remittance is not None and later.remittance.total == carried + big.net


@given(lines_st)
def test_running_twice_gives_the_same_remittance(lines):
    a = make_remittance(7, lines, AS_OF, DAILY_T0, working).remittance
    b = make_remittance(7, list(reversed(lines)), AS_OF, DAILY_T0, working).remittance
    assert a == b


def test_the_id_is_the_shop_and_the_payout_day():
    line = [Line("EP000000001IR", "2026-12-01T09:00:00Z", 5_000_000, shipping=300_000)]
    ids = {make_remittance(shop, line, day, DAILY_T0, working).remittance.id
           for shop in (1, 2) for day in (AS_OF, AS_OF + timedelta(days=1))}
    assert len(ids) == 4
    rem = make_remittance(1, line, AS_OF, DAILY_T0, working).remittance
    assert rem.id == make_remittance(1, line * 1, AS_OF, DAILY_T0, working).remittance.id
    assert rem.id.startswith("rem_20261215_1_") and len(rem.id) <= 35  # fits a pain.001 EndToEndId


def test_lines_not_yet_due_wait():
    cycle = Cycle(3, 1, 0)  # T+3, Tuesdays
    early, late = (Line("EP000000001IR", "2026-12-03T09:00:00Z", 100),
                   Line("EP000000002IR", "2026-12-14T09:00:00Z", 100))
    res = make_remittance(1, [early, late], AS_OF, cycle, working)
    assert res.remittance.lines == (early,) and res.waiting == (late,)


def test_an_unverified_account_or_an_open_dispute_holds_the_remittance():
    lines = [Line("EP000000001IR", "2026-12-01T09:00:00Z", 5_000_000)]
    held = make_remittance(1, lines, AS_OF, DAILY_T0, working, account_verified=False).remittance
    assert (held.status, held.hold_reason) == (HELD, HOLD_UNVERIFIED_ACCOUNT)
    disputed = make_remittance(1, lines, AS_OF, DAILY_T0, working, disputed=["EP000000001IR"]).remittance
    assert (disputed.status, disputed.hold_reason) == (HELD, HOLD_DISPUTE)
    assert disputed.move(SCHEDULED).status == SCHEDULED


def test_the_state_machine():
    rem = make_remittance(1, [Line("EP000000001IR", "2026-12-01T09:00:00Z", 5_000_000)], AS_OF, DAILY_T0,
                          working).remittance
    assert rem.status == SCHEDULED
    paid = rem.move(SENT).move(PAID, bank_ref="PAYA-1405-778899")
    assert (paid.status, paid.bank_ref, paid.history) == (PAID, "PAYA-1405-778899", (SCHEDULED, SENT))
    retried = rem.move(SENT).move(FAILED).move(SCHEDULED)  # a failed transfer is due again
    assert retried.status == SCHEDULED and retried.id == rem.id
    for status in STATUSES:
        if status not in TRANSITIONS[PAID]:
            with pytest.raises(RemittanceTransitionInvalid) as info:
                paid.move(status)
            problem = info.value.to_problem()
            assert problem["status"] == 409 and "پرداخت‌شده" in problem["detail_fa"]
    with pytest.raises(RemittanceTransitionInvalid):
        rem.move(PAID)  # never paid without being sent


def test_amounts_are_whole_non_negative_rials():
    with pytest.raises(RemittanceLineInvalid):
        Line("EP000000001IR", "2026-12-01T09:00:00Z", 100, shipping=-1)
    with pytest.raises(RemittanceLineInvalid):
        Line("EP000000001IR", "2026-12-01T09:00:00Z", 100.5)
