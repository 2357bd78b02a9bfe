"""Time: timestamps as the API shows them (ISO 8601 in UTC with milliseconds and a Z), Iran's time, and Jalali
dates in Persian as every page, sheet and label writes them."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import jdatetime

from kernel import fast
from kernel.postal.text import fa_digits

IRAN_TIME = timezone(timedelta(hours=3, minutes=30))  # Iran has kept standard time all year since 2022
TEHRAN = ZoneInfo("Asia/Tehran")  # for instants shown to people: right for older ones too
WEEKDAYS_FA = ["دوشنبه", "سه‌شنبه", "چهارشنبه", "پنجشنبه", "جمعه", "شنبه", "یکشنبه"]

# ISO 8601 in UTC with milliseconds and a Z, e.g. 2026-11-29T05:24:15.123Z: every booking and scan stamps one,
# so it is one of the compiled kernels (kernel/_isotime.pyx, twin in kernel/_isotime_py.py).
iso_ms = fast.iso_ms


def parse_iso(value: str) -> float:
    """Seconds since the epoch for an ISO 8601 string with a zone; ValueError otherwise."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError("timestamp needs a time zone (Z or +03:30)")
    try:
        return dt.astimezone(timezone.utc).timestamp()
    except OverflowError:  # year 1 or 9999 with an offset falls off the calendar
        raise ValueError("timestamp out of range") from None


def jalali_datetime(iso: str) -> str:
    """'2025-03-20T10:30:00.000Z' -> 'پنج‌شنبه ۳۰ اسفند ۱۴۰۳، ساعت ۱۴:۰۰' (Tehran time)."""
    dt = datetime.fromtimestamp(parse_iso(iso), TEHRAN)
    j = jdatetime.datetime.fromgregorian(datetime=dt, locale="fa_IR")
    return fa_digits(f"{j.strftime('%A')} {j.day} {j.strftime('%B')} {j.year}، ساعت {j.strftime('%H:%M')}")


def jalali_long(day: date) -> str:
    """A day as a route sheet heads it: weekday, day, month and year in Persian."""
    j = jdatetime.date.fromgregorian(date=day)
    return fa_digits(f"{WEEKDAYS_FA[day.weekday()]} {j.day} {j.j_months_fa[j.month - 1]} {j.year}")


def jalali_short(day: date) -> str:
    """A day as the buyer's page promises it: weekday, day and month in Persian, no year."""
    j = jdatetime.date.fromgregorian(date=day)
    return fa_digits(f"{WEEKDAYS_FA[day.weekday()]} {j.day} {j.j_months_fa[j.month - 1]}")
