"""National coverage: every province's postal codes reach an office in that province, with a path through the
hubs and an expected delivery date from anywhere (docs/coverage.md)."""

from __future__ import annotations

import itertools
import json
from datetime import datetime

import pytest

from kernel.postal.offices import DATA_DIR, UnknownPostalArea, haversine_m, load_registry, postal_regions
from kernel.postal.text import POSTAL_CODE_RULE, provinces

REGISTRY = load_registry()
PROVINCES = {p.name_fa: p for p in provinces()}
BOOKED = datetime(2025, 6, 9, 9)  # a Monday morning, no holiday around


def sample_code(prefix: str) -> str:
    """A valid postal code starting with ``prefix`` whose longest region prefix is ``prefix`` itself."""
    for filler in itertools.product("13456789", repeat=5 - len(prefix)):
        code = prefix + "".join(filler) + "13579"
        if POSTAL_CODE_RULE.match(code) and REGISTRY.region_prefix(code) == prefix:
            return code
    raise AssertionError(f"no valid postal code lies in region {prefix}")


REGIONS = sorted(postal_regions().items())


def test_every_province_has_a_region_a_capital_office_and_a_hub():
    assert set(postal_regions().values()) == set(PROVINCES)  # all 31, named as the gateway names them
    for name, province in PROVINCES.items():
        offices = [o for o in REGISTRY.delivery_offices() if o.province == name]
        assert offices, name
        hub = REGISTRY.get(offices[0].hub)
        assert hub.kind == "hub"
        # The capital's office is within a few km of the capital the gateway knows (provinces.json).
        nearest = min(haversine_m(province.capital_lat, province.capital_lon, o.lat, o.lon) for o in offices)
        assert nearest < 15_000, (name, nearest)
        # and its hub is a regional one, not across the country
        assert haversine_m(hub.lat, hub.lon, offices[0].lat, offices[0].lon) < 500_000, (name, hub.code)


def test_every_two_digit_start_a_postal_code_can_have_belongs_to_a_province():
    for a, b in itertools.product("13456789", repeat=2):
        assert REGISTRY.province_of(a + b + "34113579") is not None, a + b


@pytest.mark.parametrize(("prefix", "province"), REGIONS, ids=[p for p, _ in REGIONS])
def test_a_code_of_each_region_reaches_an_office_of_its_province_with_a_path_and_a_date(prefix, province):
    code = sample_code(prefix)
    assert REGISTRY.province_of(code) == province
    office = REGISTRY.delivering_office(code)
    assert office.kind == "office" and office.province == province, (code, office.code)
    for origin in ("THR-06", "MHD-01", "TBZ-01"):
        path = REGISTRY.route(origin, office)
        assert path[0] == origin and path[-1] == office.code and REGISTRY.get(path[-2]).kind == "hub"
        for service in ("pishtaz", "sefareshi"):
            assert REGISTRY.expected_delivery(service, origin, office, BOOKED) > BOOKED.date()


def test_coordinates_choose_among_the_offices_of_the_postal_codes_province():
    # A Tehran postal code no office lists, with coordinates nearer to Karaj's office than to any in Tehran,
    # is still delivered in Tehran; a Mazandaran code (Babol) goes to Sari, not to nearer Tehran offices.
    karaj = REGISTRY.get("KRJ-01")
    office = REGISTRY.delivering_office("1933131111", karaj.lat, karaj.lon)
    assert office.province == "تهران"
    assert REGISTRY.delivering_office("4714813111", 35.80, 51.40).code == "SRY-01"


def test_every_hub_reaches_every_other_hub():
    hubs = [o.code for o in REGISTRY.offices.values() if o.kind == "hub"]
    assert len(hubs) >= 16
    for a, b in itertools.combinations(hubs, 2):
        assert REGISTRY.route(a, b)[-1] == b


def test_a_region_table_that_contradicts_itself_is_refused(tmp_path):
    raw = json.loads((DATA_DIR / "offices.json").read_text(encoding="utf-8"))
    for name in ("network.json", "service_levels.json"):
        (tmp_path / name).write_text((DATA_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    isfahan = next(p for p in raw["provinces"] if p["province"] == "اصفهان")
    isfahan["code_prefixes"].append("14")  # Tehran's
    (tmp_path / "offices.json").write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError, match="repeated"):
        load_registry(tmp_path)


def test_a_code_outside_every_region_without_coordinates_is_unknown(tmp_path):
    raw = json.loads((DATA_DIR / "offices.json").read_text(encoding="utf-8"))
    for name in ("network.json", "service_levels.json"):
        (tmp_path / name).write_text((DATA_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    raw["provinces"] = [p for p in raw["provinces"] if p["province"] != "مازندران"]
    (tmp_path / "offices.json").write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    custom = load_registry(tmp_path)
    with pytest.raises(UnknownPostalArea) as err:
        custom.delivering_office("4799931111")
    assert err.value.code == "unknown_postal_area"
    assert custom.delivering_office("4799931111", 36.56, 53.06).code == "SRY-01"  # nearest, for lack of better
