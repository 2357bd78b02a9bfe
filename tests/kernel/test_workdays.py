"""The working-day calendar as pickups and settlements count on it: Fridays and Iran's official holidays are off,
named in Persian, and counting skips them."""

from __future__ import annotations

from datetime import date

import jdatetime
import pytest

from kernel.postal import workdays
from kernel.postal.workdays import add_working_days, holiday_name, is_working_day, load_calendar, next_working_day


def test_fridays_are_off_and_named():
    friday = date(2026, 12, 4)
    assert friday.weekday() == 4
    assert not is_working_day(friday) and holiday_name(friday) == "جمعه"
    assert is_working_day(date(2026, 12, 5)) and holiday_name(date(2026, 12, 5)) is None  # a Saturday


@pytest.mark.parametrize(("day", "name"), [
    (date(2026, 3, 21), "نوروز"),  # 1 Farvardin 1405
    (date(2026, 6, 4), "رحلت امام خمینی"),  # 14 Khordad 1405, Eid al-Ghadir the same day
    (date(2026, 6, 25), "عاشورا"),  # a lunar holiday as announced for 1405
    (date(2027, 2, 11), "انقلاب اسلامی"),  # 22 Bahman 1405
    (date(2027, 3, 21), "نوروز"),  # 1 Farvardin 1406
    (date(2027, 6, 16), "عاشورا"),  # 1406, estimated from the Hijri calendar
    (date(2028, 3, 19), "نفت"),  # 29 Esfand 1406, the last day of the data
])
def test_official_holidays_of_1405_and_1406_are_off(day, name):
    assert not is_working_day(day)
    assert name in holiday_name(day)


def test_every_listed_holiday_matches_its_jalali_date_and_lies_in_1405_or_1406():
    cal = load_calendar()
    assert cal.first == date(2026, 3, 21) and cal.last == date(2028, 3, 19)
    for d in cal.dated:
        assert jdatetime.date.fromgregorian(date=d).year in (1405, 1406)
    assert len(cal.dated) >= 40  # both years: 10 solar holidays each, the lunar ones besides


def test_a_wrong_jalali_date_in_the_data_is_refused_at_load(tmp_path):
    bad = tmp_path / "holidays.toml"
    bad.write_text('[[holiday]]\ndate = 2026-03-22\njalali = "1405/01/01"\nname = "x"\nsource = "y"\n',
                   encoding="utf-8")
    with pytest.raises(ValueError, match="1405/01/02"):
        load_calendar(bad)


def test_outside_the_listed_years_fixed_solar_holidays_still_apply():
    nowruz_1410 = jdatetime.date(1410, 1, 1).togregorian()
    assert not is_working_day(nowruz_1410) and "نوروز" in holiday_name(nowruz_1410)


def test_adding_working_days_skips_fridays_and_holidays():
    # Thu 2026-06-04 (14 Khordad) and Fri 06-05 (15 Khordad, a Friday) are off: Wed 06-03 + 1 = Sat 06-06.
    assert add_working_days(date(2026, 6, 3), 1) == date(2026, 6, 6)
    assert next_working_day(date(2026, 6, 3)) == date(2026, 6, 6)
    # Nowruz 1405: 03-21..24 off, 03-20 is Friday; a Thursday + 1 is Wednesday 03-25.
    assert add_working_days(date(2026, 3, 19), 1) == date(2026, 3, 25)
    assert add_working_days(date(2026, 6, 6), -1) == date(2026, 6, 3)
    assert add_working_days(date(2026, 12, 4), 0) == date(2026, 12, 4)
    # a week of working days from a Saturday with no holiday: Sat..Thu is six, the seventh is next Saturday
    assert add_working_days(date(2026, 12, 5), 6) == date(2026, 12, 12)
    assert workdays.next_working_day(date(2026, 12, 3)) == date(2026, 12, 5)  # Thursday -> Saturday


def test_days_before_the_jalali_calendar_have_only_fridays():
    assert holiday_name(date(1, 1, 5)) == "جمعه" and is_working_day(date(1, 1, 6))


def test_the_cli_prints_the_next_working_day_for_scripts(capsys):
    from gateway.cli import main

    assert main(["calendar", "next-working-day", "--after", "2026-12-31"]) in (0, None)  # Thursday: Friday is off
    assert capsys.readouterr().out.strip() == "2027-01-02"
