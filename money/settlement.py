"""When a delivered COD parcel's money is due to its shop: T+N working days, then the shop's payout day.

The calendar is not decided here: the caller passes ``is_working_day(date) -> bool`` (kernel/postal/workdays.py
knows Fridays and Iran's official holidays), so a new holiday list changes no code here and tests can name
their own. Days are Tehran's: a parcel delivered at 01:00 on a Thursday in Tehran (21:30 UTC on
Wednesday) counts from Thursday.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Protocol, TypeVar

from kernel.postal.timeutil import IRAN_TIME as IRAN

from .policy import Cycle

MAX_SEARCH_DAYS = 400  # a calendar with no working day for over a year is a broken calendar, not a long wait

WorkingDay = Callable[[date], bool]


class CalendarError(ValueError):
    """The working-day predicate found no working day within MAX_SEARCH_DAYS."""


def local_day(delivered_at: datetime | date | str) -> date:
    """The Tehran calendar day of a delivery (an aware datetime, an ISO 8601 string with a zone, or a date)."""
    if isinstance(delivered_at, str):
        delivered_at = datetime.fromisoformat(delivered_at.replace("Z", "+00:00"))
    if isinstance(delivered_at, datetime):
        if delivered_at.tzinfo is None:
            raise ValueError("delivered_at needs a time zone")
        return delivered_at.astimezone(IRAN).date()
    return delivered_at


def add_working_days(start: date, n: int, is_working_day: WorkingDay) -> date:
    """The n-th working day after ``start`` (``start`` itself when n is 0)."""
    d = start
    for _ in range(n):
        d = next_working_day(d + timedelta(days=1), is_working_day)
    return d


def next_working_day(d: date, is_working_day: WorkingDay) -> date:
    """``d`` if it is a working day, else the first working day after it."""
    for _ in range(MAX_SEARCH_DAYS):
        if is_working_day(d):
            return d
        d += timedelta(days=1)
    raise CalendarError(f"no working day within {MAX_SEARCH_DAYS} days of {d}")


def payout_date(delivered_at: datetime | date | str, cycle: Cycle, is_working_day: WorkingDay) -> date:
    """The day a delivered parcel's money is paid out: ``cycle.days_after_delivery`` working days after the
    delivery day, then the first payout day on or after that (every working day when the cycle has no weekly
    day). A payout day that is a holiday moves to the next working day: the money is never paid early."""
    return _payout_day(local_day(delivered_at), cycle, is_working_day)


@functools.lru_cache(maxsize=8192)
def _payout_day(day: date, cycle: Cycle, is_working_day: WorkingDay) -> date:
    # A run settles up to millions of lines delivered on a handful of days: each day is worked out once.
    eligible = add_working_days(day, cycle.days_after_delivery, is_working_day)
    if cycle.payout_weekday is None:
        return eligible
    ahead = (cycle.payout_weekday - eligible.weekday()) % 7
    return next_working_day(eligible + timedelta(days=ahead), is_working_day)


class Delivered(Protocol):
    @property
    def delivered_at(self) -> str: ...


L = TypeVar("L", bound=Delivered)


def due_lines(lines: Iterable[L], as_of: date, cycle: Cycle, is_working_day: WorkingDay) -> Iterator[L]:
    """The lines whose payout day has come by ``as_of`` (a run on ``as_of`` pays them; the rest wait)."""
    for line in lines:
        if payout_date(line.delivered_at, cycle, is_working_day) <= as_of:
            yield line
