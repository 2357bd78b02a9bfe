"""Payout days: T+N working days after delivery (Tehran's calendar), then the shop's weekly payout day."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from money.policy import JALALI_WEEKDAYS, Cycle, PolicyError, parse_policy, policy
from money.remittance import Line
from money.settlement import add_working_days, due_lines, local_day, payout_date

HOLIDAY = date(2026, 12, 9)  # a Wednesday, listed as a holiday for these tests


def working(d: date) -> bool:
    return d.weekday() != 4 and d != HOLIDAY  # Fridays off, and the one listed holiday


TUESDAY = JALALI_WEEKDAYS["سه‌شنبه"]
T3_TUESDAY = Cycle(3, TUESDAY, 1_000_000)


def test_the_jalali_week_names_map_to_the_right_days():
    assert date(2026, 12, 8).weekday() == TUESDAY  # 1405/09/17, a سه‌شنبه
    assert date(2026, 12, 5).weekday() == JALALI_WEEKDAYS["شنبه"]
    assert date(2026, 12, 11).weekday() == JALALI_WEEKDAYS["جمعه"]


def test_working_days_skip_fridays_and_holidays():
    # Monday 7 Dec + 3 working days: Tue 8, (Wed 9 holiday), Thu 10, (Fri 11), Sat 12
    assert add_working_days(date(2026, 12, 7), 3, working) == date(2026, 12, 12)
    assert add_working_days(date(2026, 12, 7), 0, working) == date(2026, 12, 7)


def test_payout_is_the_first_payout_day_after_t_plus_n():
    # Delivered Monday 7 Dec: due Saturday 12, paid Tuesday 15.
    assert payout_date("2026-12-07T08:00:00Z", T3_TUESDAY, working) == date(2026, 12, 15)
    # Delivered Thursday 3 Dec: Sat 5, Sun 6, Mon 7 -> paid Tuesday 8.
    assert payout_date(date(2026, 12, 3), T3_TUESDAY, working) == date(2026, 12, 8)


def test_a_payout_day_that_is_a_holiday_moves_to_the_next_working_day():
    wednesday = Cycle(0, JALALI_WEEKDAYS["چهارشنبه"], 0)
    assert payout_date(date(2026, 12, 8), wednesday, working) == date(2026, 12, 10)  # Wed 9 is the holiday
    daily = Cycle(1, None, 0)
    assert payout_date(date(2026, 12, 10), daily, working) == date(2026, 12, 12)  # Thu -> (Fri) -> Sat


def test_the_delivery_day_is_tehrans():
    # 21:30 UTC on Wednesday is 01:00 on Thursday in Tehran.
    assert local_day(datetime(2026, 12, 9, 21, 30, tzinfo=timezone.utc)) == date(2026, 12, 10)
    assert local_day("2026-12-09T20:29:00Z") == date(2026, 12, 9)
    with pytest.raises(ValueError):
        local_day(datetime(2026, 12, 9, 12, 0))


def test_due_lines_are_those_whose_payout_day_has_come():
    lines = [Line("EP000000001IR", "2026-12-03T10:00:00Z", 10), Line("EP000000002IR", "2026-12-07T10:00:00Z", 10)]
    assert [x.tracking_number for x in due_lines(lines, date(2026, 12, 8), T3_TUESDAY, working)] == ["EP000000001IR"]
    assert len(list(due_lines(lines, date(2026, 12, 15), T3_TUESDAY, working))) == 2


def test_the_policy_file_has_a_default_cycle_and_named_plans():
    p = policy()
    assert p.cycle(None) == p.default_cycle and p.cycle("daily").payout_weekday is None
    assert p.cycle("removed-plan") == p.default_cycle
    assert p.default_cycle.payout_weekday == TUESDAY
    with pytest.raises(PolicyError):
        parse_policy('[settlement.default]\ndays_after_delivery = 3\npayout_weekday = "Tuesday"\n')


def test_the_cod_rule_reads_the_policy():
    strict = parse_policy("[cod]\nrequires_verified_sheba = true\nrequires_enamad = true\n")
    assert strict.cod_refusal(sheba_verified=False, enamad_id="123456") == "cod_requires_verified_sheba"
    assert strict.cod_refusal(sheba_verified=True, enamad_id=None) == "cod_requires_enamad"
    assert strict.cod_refusal(sheba_verified=True, enamad_id="123456") is None
    lenient = parse_policy("[cod]\nrequires_verified_sheba = false\n")
    assert lenient.cod_refusal(sheba_verified=False, enamad_id=None) is None
    assert policy().cod_requires_verified_sheba and not policy().cod_requires_enamad  # as shipped
