"""The post-office registry: delivery offices, sorting hubs, trunk links and service levels, all as data.

``load_registry()`` reads ``kernel/postal/data/{offices,network,service_levels}.json`` once per directory.
"""

from __future__ import annotations

import heapq
import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import jdatetime

from kernel.errors import BaridError
from kernel.postal.text import POSTAL_CODE_RULE, normalize_digits

DATA_DIR = Path(__file__).with_name("data")
EARTH_RADIUS_M = 6_371_000.0


class NetworkError(BaridError):
    """A post office, postal area or service the network does not know; ``message`` is the English detail."""

    code = "network_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


class UnknownOffice(NetworkError):
    code = "unknown_office"


class UnknownPostalArea(NetworkError):
    code = "unknown_postal_area"


class InvalidPostalCode(NetworkError):
    code = "invalid_postal_code"


class UnknownService(NetworkError):
    code = "unknown_service"


@dataclass(frozen=True)
class Office:
    code: str
    name_fa: str
    name_en: str
    kind: str  # "office" delivers to addresses; "hub" sorts and forwards
    province: str
    city: str
    prefixes: tuple[str, ...]
    lat: float
    lon: float
    hub: str  # code of its sorting hub; a hub's hub is itself

    def to_dict(self) -> dict:
        return {"code": self.code, "name_fa": self.name_fa, "name_en": self.name_en, "kind": self.kind,
                "province": self.province, "city": self.city, "prefixes": list(self.prefixes),
                "lat": self.lat, "lon": self.lon, "hub": self.hub}


@dataclass(frozen=True)
class ServiceLevel:
    name: str
    name_fa: str
    business_days: dict[str, int]  # zone -> days


def normalize_postal_code(postal_code: str) -> str:
    """Persian/Arabic digits to ASCII, separators removed; raises if it is not a valid Iranian postal code."""
    code = normalize_digits(str(postal_code)).replace("-", "").replace(" ", "")
    if not POSTAL_CODE_RULE.match(code):
        raise InvalidPostalCode(f"{postal_code!r} is not a valid 10-digit Iranian postal code")
    return code


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


class Registry:
    def __init__(self, offices: dict[str, Office], province_defaults: dict[str, str],
                 links: dict[str, dict[str, int]], services: dict[str, ServiceLevel], cutoff_hour: int,
                 weekend_weekdays: frozenset[int], jalali_holidays: frozenset[tuple[int, int]],
                 regions: dict[str, str] | None = None):
        self.offices = offices
        self._province_defaults = province_defaults  # postal region prefix -> default office code
        # Postal region prefix -> province (Persian name); by default, the province of each default office.
        self.regions = regions if regions is not None else {
            prefix: offices[code].province for prefix, code in province_defaults.items()}
        self._region_lengths = sorted({len(p) for p in self.regions}, reverse=True)
        self._links = links
        self.services = services
        self._cutoff_hour = cutoff_hour
        self._weekend = weekend_weekdays
        self._holidays = jalali_holidays
        # Longest-prefix match: one dict per prefix length, probed from the longest length down.
        self._by_prefix: dict[str, Office] = {}
        for office in offices.values():
            if office.kind == "office":
                for prefix in office.prefixes:
                    self._by_prefix[prefix] = office
        self._prefix_lengths = sorted({len(p) for p in self._by_prefix}, reverse=True)

    def get(self, code: str) -> Office:
        try:
            return self.offices[code]
        except KeyError:
            raise UnknownOffice(f"no post office with code {code!r}") from None

    def delivery_offices(self) -> list[Office]:
        return [o for o in self.offices.values() if o.kind == "office"]

    def region_prefix(self, postal_code: str) -> str | None:
        """The longest postal-region prefix (``offices.json`` "provinces") the code starts with, else None."""
        code = normalize_postal_code(postal_code)
        for length in self._region_lengths:
            if code[:length] in self.regions:
                return code[:length]
        return None

    def province_of(self, postal_code: str) -> str | None:
        """The province (Persian name) a postal code's leading digits belong to, else None."""
        prefix = self.region_prefix(postal_code)
        return None if prefix is None else self.regions[prefix]

    def delivering_office(self, postal_code: str, lat: float | None = None, lon: float | None = None) -> Office:
        """Longest office-prefix match; else, in the postal code's province, the office nearest to (lat, lon), or
        the province's default office without coordinates; outside every region, the nearest office at all."""
        code = normalize_postal_code(postal_code)
        for length in self._prefix_lengths:
            office = self._by_prefix.get(code[:length])
            if office is not None:
                return office
        region = self.region_prefix(code)
        has_location = lat is not None and lon is not None
        if region is not None:
            # The postal code names the province: never deliver from another province's office just because it
            # is a few kilometres nearer to coordinates that may be rough.
            province = self.regions[region]
            local = [o for o in self.delivery_offices() if o.province == province]
            if has_location and local:
                return min(local, key=lambda o: (haversine_m(lat, lon, o.lat, o.lon), o.code))
            default = self._province_defaults.get(region)
            if default is not None:
                return self.offices[default]
            if local:
                return min(local, key=lambda o: o.code)
        if has_location:
            return min(self.delivery_offices(), key=lambda o: (haversine_m(lat, lon, o.lat, o.lon), o.code))
        raise UnknownPostalArea(f"postal code {code} is outside every served area and has no coordinates")

    def _hub_path(self, origin_hub: str, dest_hub: str) -> tuple[list[str], int]:
        """Fewest transit days over the trunk links (then fewest hops), as (hubs, days)."""
        queue = [(0, 0, origin_hub, [origin_hub])]
        settled: set[str] = set()
        while queue:
            days, hops, hub, path = heapq.heappop(queue)
            if hub == dest_hub:
                return path, days
            if hub in settled:
                continue
            settled.add(hub)
            for nxt, d in sorted(self._links.get(hub, {}).items()):
                if nxt not in settled:
                    heapq.heappush(queue, (days + d, hops + 1, nxt, path + [nxt]))
        raise UnknownPostalArea(f"no trunk link path from {origin_hub} to {dest_hub}")

    def route(self, origin_office: str | Office, dest_office: str | Office) -> list[str]:
        """Office codes a parcel travels through: origin office → its hub → (trunk) → destination hub → office."""
        origin, dest = self._office(origin_office), self._office(dest_office)
        hubs, _ = self._hub_path(origin.hub, dest.hub)
        path: list[str] = []
        for code in [origin.code, *hubs, dest.code]:
            if not path or path[-1] != code:
                path.append(code)
        return path

    def zone(self, origin: Office, dest: Office) -> str:
        if origin.province != dest.province:
            return "other_province"
        return "same_city" if origin.city == dest.city else "same_province"

    def expected_delivery(self, service: str, origin: str | Office, dest: str | Office, booked_at: datetime) -> date:
        """Booking date (next business day after the cutoff hour) plus the service's business days.

        Inter-province parcels add the trunk transit days beyond the first. Fridays and the official
        (solar-calendar) holidays are not business days.
        """
        level = self.services.get(service)
        if level is None:
            raise UnknownService(f"unknown service {service!r}; known: {', '.join(sorted(self.services))}")
        origin_office, dest_office = self._office(origin), self._office(dest)
        zone = self.zone(origin_office, dest_office)
        days = level.business_days[zone]
        if zone == "other_province":
            _, transit = self._hub_path(origin_office.hub, dest_office.hub)
            days += max(0, transit - 1)
        day = booked_at.date()
        if booked_at.hour >= self._cutoff_hour or not self.is_business_day(day):
            day = self._next_business_day(day)
        for _ in range(days):
            day = self._next_business_day(day)
        return day

    def is_business_day(self, day: date) -> bool:
        if day.weekday() in self._weekend:
            return False
        jalali = jdatetime.date.fromgregorian(date=day)
        return (jalali.month, jalali.day) not in self._holidays

    def _next_business_day(self, day: date) -> date:
        day += timedelta(days=1)
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def _office(self, office: str | Office) -> Office:
        return office if isinstance(office, Office) else self.get(office)


@lru_cache(maxsize=8)
def load_registry(path: str | Path | None = None) -> Registry:
    """Registry from a data directory holding offices.json, network.json and service_levels.json (cached)."""
    data_dir = Path(path) if path is not None else DATA_DIR
    raw = json.loads((data_dir / "offices.json").read_text(encoding="utf-8"))
    offices = {o["code"]: Office(**{**o, "prefixes": tuple(o["prefixes"])}) for o in raw["offices"]}
    regions, province_defaults = _postal_regions(raw, offices, data_dir / "offices.json")
    links: dict[str, dict[str, int]] = {}
    for link in json.loads((data_dir / "network.json").read_text(encoding="utf-8"))["links"]:
        links.setdefault(link["a"], {})[link["b"]] = link["transit_days"]
        links.setdefault(link["b"], {})[link["a"]] = link["transit_days"]
    levels = json.loads((data_dir / "service_levels.json").read_text(encoding="utf-8"))
    zones = ("same_city", "same_province", "other_province")
    services = {name: ServiceLevel(name, s["name_fa"], {z: s[z] for z in zones}) for name, s in levels["services"].items()}
    holidays = frozenset((h["month"], h["day"]) for h in levels["jalali_holidays"])
    return Registry(offices, province_defaults, links, services, levels["cutoff_hour"],
                    frozenset(levels["weekend_weekdays"]), holidays, regions)


def _postal_regions(raw: dict, offices: dict[str, Office], path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(region prefix -> province, region prefix -> default office) from offices.json's "provinces".

    This one table is what routes an unlisted postal code and what the gateway checks a claimed province
    against, so contradictions in it are refused at load rather than answered inconsistently."""
    regions: dict[str, str] = {}
    defaults: dict[str, str] = {}
    for entry in raw["provinces"]:
        province, default = entry["province"], entry.get("default_office")
        if default is not None and (default not in offices or offices[default].province != province
                                    or offices[default].kind != "office"):
            raise ValueError(f"{path}: default office {default!r} of {province} is not a delivery office there")
        for prefix in entry["code_prefixes"]:
            if not (prefix.isascii() and prefix.isdigit() and 1 <= len(prefix) <= 5) or prefix in regions:
                raise ValueError(f"{path}: postal region prefix {prefix!r} ({province}) is malformed or repeated")
            regions[prefix] = province
            if default is not None:
                defaults[prefix] = default
    lengths = sorted({len(p) for p in regions}, reverse=True)
    for office in offices.values():  # an office's own prefixes lie in its own province's region
        for prefix in office.prefixes:
            owner = next((regions[prefix[:n]] for n in lengths if n <= len(prefix) and prefix[:n] in regions), None)
            if owner is not None and owner != office.province:
                raise ValueError(f"{path}: {office.code} ({office.province}) has prefix {prefix} of {owner}")
    return regions, defaults


def postal_regions(path: str | Path | None = None) -> dict[str, str]:
    """Postal region prefix (a postal code's leading digits) -> province (Persian name); longest prefix wins."""
    return dict(load_registry(path).regions)
