"""Timestamps as the API shows them: ISO 8601 in UTC with milliseconds and a Z."""

from __future__ import annotations

import time
from datetime import datetime, timezone


def iso_ms(ts: float) -> str:
    ms = int(ts * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def parse_iso(value: str) -> float:
    """Seconds since the epoch for an ISO 8601 string with a zone; ValueError otherwise."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError("timestamp needs a time zone (Z or +03:30)")
    try:
        return dt.astimezone(timezone.utc).timestamp()
    except OverflowError:  # year 1 or 9999 with an offset falls off the calendar
        raise ValueError("timestamp out of range") from None
