"""API timestamps: the per-second cache never hands out another second's text."""

from __future__ import annotations

from datetime import datetime, timezone

from kernel.postal.timeutil import iso_ms, parse_iso


def test_iso_ms_matches_the_calendar_whatever_order_seconds_come_in():
    for ts in (1795881053.2049, 1795881053.999, 1795881054.0, 1795881052.5, 0.0, -0.5, 1795881053.2049):
        expected = datetime.fromtimestamp(int(ts * 1000) / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
        assert iso_ms(ts) == expected[:-3] + "Z"
        assert abs(parse_iso(iso_ms(ts)) - ts) < 0.001
