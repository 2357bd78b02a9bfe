"""Timestamps as the API shows them: ISO 8601 in UTC with milliseconds and a Z."""

from __future__ import annotations

import time
from datetime import datetime, timezone


def iso_ms(ts: float) -> str:
    ms = int(ts * 1000)
    sec, frac = divmod(ms, 1000)
    global _last
    last_sec, prefix = _last  # one tuple, replaced whole: safe to share between threads
    if sec != last_sec:  # every booking and scan stamps the time; most share their second with the previous
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        _last = (sec, prefix)
    return "%s.%03dZ" % (prefix, frac)


_last: tuple[int | None, str] = (None, "")


def parse_iso(value: str) -> float:
    """Seconds since the epoch for an ISO 8601 string with a zone; ValueError otherwise."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError("timestamp needs a time zone (Z or +03:30)")
    try:
        return dt.astimezone(timezone.utc).timestamp()
    except OverflowError:  # year 1 or 9999 with an offset falls off the calendar
        raise ValueError("timestamp out of range") from None
