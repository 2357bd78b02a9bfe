"""Where a booking goes and when it is due: the cached answers must be the registry's own, hour by hour."""

from __future__ import annotations

from datetime import datetime

from kernel.postal.network import ParcelNetwork
from kernel.postal.timeutil import IRAN_TIME

SENDER = {"name": "x", "phone": "09121234567", "postal_code": "1458973311", "province": "تهران", "city": "تهران",
          "address": "x"}
RECEIVER = {**SENDER, "postal_code": "8138634561", "province": "اصفهان", "city": "اصفهان"}


def test_routes_and_dates_are_the_registrys_for_the_hour_of_booking():
    net = ParcelNetwork()
    start = datetime(2025, 6, 11, 15, 58, tzinfo=IRAN_TIME).timestamp()
    # Across a cut-off hour, midnight and a Friday, then back in time: a cached date must never outlive its hour.
    moments = [start + minutes * 60 for minutes in (0, 1, 2, 3, 480, 600, 1440 * 2, 5, 0, 1440 * 2 + 1)]
    dates = set()
    for ts in moments:
        for service in ("pishtaz", "sefareshi"):
            origin, dest, route, expected = net.assign(service, SENDER, RECEIVER, ts)
            local = datetime.fromtimestamp(ts, IRAN_TIME)
            booked = datetime(local.year, local.month, local.day, local.hour)
            assert expected == net.registry.expected_delivery(service, origin, dest, booked).isoformat()
            assert route == tuple(net.registry.route(origin, dest))
            dates.add(expected)
    assert len(dates) > 2  # the moments do land on different delivery dates
