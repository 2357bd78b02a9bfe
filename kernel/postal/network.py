"""Where a booked parcel goes: its acceptance and delivering offices, its path through the sorting hubs and
its expected delivery date, from the post-office registry (``kernel.postal.offices``).

Routes and dates depend only on a handful of values, so they are cached: a booking pays a dict lookup, not a
shortest-path search and a Jalali holiday check.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from kernel.postal.offices import NetworkError, Office, Registry, load_registry
from kernel.postal.text import province_by_name
from kernel.postal.timeutil import IRAN_TIME


class ParcelNetwork:
    def __init__(self, registry: Registry | None = None) -> None:
        self.registry = registry or load_registry()
        self._offices = self.registry.delivery_offices()
        self._route = functools.lru_cache(maxsize=4096)(self._route_uncached)
        self._by_address: dict[tuple[str, str], Office] = {}
        self._minute = -1
        self._day_hour = ("", 0)
        self._plans: dict[tuple[str, str, str], tuple[tuple[str, ...], str]] = {}

    def office_for(self, party: dict[str, Any]) -> Office:
        """The office serving an address: postal-code prefix, else its coordinates, else its province's capital."""
        loc = party.get("location")
        if loc is None:  # the postal code alone decides: a shop's sender address repeats on every booking
            key = (party["postal_code"], party["province"])  # the province matters where no prefix is known
            office = self._by_address.get(key)
            if office is None:
                if len(self._by_address) >= 65_536:
                    self._by_address.clear()
                office = self._by_address[key] = self._office_for(party, None)
            return office
        return self._office_for(party, loc)

    def _office_for(self, party: dict[str, Any], loc: dict[str, float] | None) -> Office:
        try:
            return self.registry.delivering_office(party["postal_code"], loc and loc["lat"], loc and loc["lon"])
        except NetworkError:
            province = province_by_name(party["province"])
            return self._nearest(province.capital_lat, province.capital_lon)

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one per province, the network lives as long as the process
    def _nearest(self, lat: float, lon: float) -> Office:
        from kernel.postal.offices import haversine_m

        return min(self._offices, key=lambda o: (haversine_m(lat, lon, o.lat, o.lon), o.code))

    def _route_uncached(self, origin: str, dest: str) -> tuple[str, ...]:  # a tuple: shared, never mutated
        return tuple(self.registry.route(origin, dest))

    def _eta(self, service: str, origin: str, dest: str, day: str, hour: int) -> str:
        booked = datetime.fromisoformat(day).replace(hour=hour)
        return self.registry.expected_delivery(service, origin, dest, booked).isoformat()

    def assign(self, service: str, sender: dict[str, Any], receiver: dict[str, Any],
               booked_at: float) -> tuple[str, str, tuple[str, ...], str]:
        """(origin office, delivering office, route through the hubs, expected delivery date) of a booking."""
        origin, dest = self.office_for(sender).code, self.office_for(receiver).code
        minute = int(booked_at // 60)
        if minute != self._minute:  # the local day and hour change at most once a minute
            local = datetime.fromtimestamp(minute * 60, IRAN_TIME)
            self._minute, day_hour = minute, (local.date().isoformat(), local.hour)
            if day_hour != self._day_hour:
                self._day_hour = day_hour
                self._plans = {}
        # One dict lookup per booking for route and date together, valid until the local hour changes.
        plan = self._plans.get((service, origin, dest))
        if plan is None:
            day, hour = self._day_hour
            plan = (self._route(origin, dest), self._eta(service, origin, dest, day, hour))
            if len(self._plans) >= 65_536:
                self._plans.clear()
            self._plans[(service, origin, dest)] = plan
        return origin, dest, plan[0], plan[1]
