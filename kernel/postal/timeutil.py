"""Timestamps as the API shows them: ISO 8601 in UTC with milliseconds and a Z."""

from __future__ import annotations

from datetime import datetime, timezone

from gateway import fast

# ISO 8601 in UTC with milliseconds and a Z, e.g. 2026-11-29T05:24:15.123Z: every booking and scan stamps one,
# so it is one of the compiled kernels (gateway/_fast.pyx, twin in gateway/_fast_py.py).
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
