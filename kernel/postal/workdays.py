"""Iran's working-day calendar: Fridays and the official holidays are off.

One calendar for everything that counts working days (pickups, the expiry of parcels not handed over, later COD
settlement). The holidays are data (``kernel/postal/data/holidays.toml``): Gregorian dates for the Jalali years it
lists, each with its Persian name and where the date comes from; lunar holidays move every year, so the file is
the truth and this module never computes them. Outside the listed years only Fridays and the holidays fixed in
the solar calendar are known.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import jdatetime

HOLIDAYS_PATH = Path(__file__).with_name("data") / "holidays.toml"
FRIDAY = 4  # date.weekday(): Iran's weekly day off
FRIDAY_FA = "جمعه"
# add_working_days never walks further than this: a calendar with no working day in sight is a data error.
_MAX_SCAN_DAYS = 366


@dataclass(frozen=True, slots=True)
class Calendar:
    dated: dict[date, str]  # the listed years' holidays
    first: date  # the span the dated list covers (whole Jalali years)
    last: date
    fixed: dict[tuple[int, int], str]  # (Jalali month, day) -> name: the rule outside the span

    def holiday(self, d: date) -> str | None:
        if self.first <= d <= self.last:
            return self.dated.get(d)
        try:
            j = jdatetime.date.fromgregorian(date=d)
        except ValueError:  # before the Jalali calendar's first year: no holiday known
            return None
        return self.fixed.get((j.month, j.day))


@lru_cache(maxsize=4)
def load_calendar(path: str | Path | None = None) -> Calendar:
    """The calendar of a holidays file (cached); ValueError if an entry's Jalali date does not match its date."""
    path = Path(path or HOLIDAYS_PATH)
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    dated: dict[date, str] = {}
    years: set[int] = set()
    for entry in raw["holiday"]:
        d, name = entry["date"], entry["name"]
        j = jdatetime.date.fromgregorian(date=d)
        if f"{j.year}/{j.month:02d}/{j.day:02d}" != entry["jalali"] or not name or not entry.get("source"):
            raise ValueError(f"{path}: holiday {d} is {j.year}/{j.month:02d}/{j.day:02d} in the Jalali calendar, "
                             f"not {entry['jalali']}, or has no name or source")
        if d in dated:
            raise ValueError(f"{path}: holiday {d} is listed twice")
        dated[d] = name
        years.add(j.year)
    first = jdatetime.date(min(years), 1, 1).togregorian()
    last = jdatetime.date(max(years) + 1, 1, 1).togregorian() - timedelta(days=1)
    fixed = {(int(f["month"]), int(f["day"])): f["name"] for f in raw.get("fixed", [])}
    return Calendar(dated, first, last, fixed)


def holiday_name(d: date) -> str | None:
    """Why ``d`` is not a working day, in Persian (the holiday, else «جمعه» for a Friday); None on a working day."""
    return load_calendar().holiday(d) or (FRIDAY_FA if d.weekday() == FRIDAY else None)


def is_working_day(d: date) -> bool:
    return d.weekday() != FRIDAY and load_calendar().holiday(d) is None


def next_working_day(d: date) -> date:
    """The first working day after ``d`` (never ``d`` itself)."""
    return add_working_days(d, 1)


def add_working_days(d: date, n: int) -> date:
    """``d`` moved by ``n`` working days (backwards when ``n`` is negative); ``n == 0`` gives ``d`` unchanged.

    ``d`` itself need not be a working day: one working day after a Friday is the next working day."""
    step = 1 if n >= 0 else -1
    left = abs(n)
    idle = 0
    while left:
        d += timedelta(days=step)
        if is_working_day(d):
            left -= 1
            idle = 0
        else:
            idle += 1
            if idle > _MAX_SCAN_DAYS:
                raise ValueError("no working day within a year: the holiday calendar is wrong")
    return d
