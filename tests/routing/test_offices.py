import json
from datetime import date, datetime

import pytest

from kernel.postal.offices import (
    DATA_DIR,
    InvalidPostalCode,
    NetworkError,
    UnknownOffice,
    UnknownService,
    load_registry,
)
from kernel.postal.text import POSTAL_CODE_RULE

REQUIRED_CITIES = {"تهران", "مشهد", "اصفهان", "شیراز", "تبریز", "اهواز", "کرمان", "رشت", "یزد", "قم", "کرج"}


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def test_registry_is_cached_and_complete(registry):
    assert load_registry() is registry
    cities = {o.city for o in registry.delivery_offices()}
    assert REQUIRED_CITIES <= cities
    hub_cities = {o.city for o in registry.offices.values() if o.kind == "hub"}
    assert REQUIRED_CITIES <= hub_cities
    assert sum(1 for o in registry.delivery_offices() if o.city == "تهران") >= 8


def test_every_office_points_to_a_hub_and_hubs_to_themselves(registry):
    for office in registry.offices.values():
        hub = registry.get(office.hub)
        assert hub.kind == "hub"
        if office.kind == "hub":
            assert office.hub == office.code
            assert office.prefixes == ()


def test_prefixes_are_unique_and_valid_postal_code_starts(registry):
    seen = set()
    for office in registry.delivery_offices():
        assert office.prefixes, office.code
        for prefix in office.prefixes:
            assert prefix not in seen
            seen.add(prefix)
            assert POSTAL_CODE_RULE.match((prefix + "3111111111")[:10]), prefix
        if office.city == "تهران":
            assert all(p.startswith("1") for p in office.prefixes)


def test_longest_prefix_match(registry):
    assert registry.delivering_office("1415793111").code == "THR-06"
    assert registry.delivering_office("۱۹۳۹۱-۳۱۱۱۱").code == "THR-01"  # Persian digits and a dash


def test_longest_prefix_wins_over_shorter(tmp_path):
    raw = json.loads((DATA_DIR / "offices.json").read_text(encoding="utf-8"))
    thr06 = next(o for o in raw["offices"] if o["code"] == "THR-06")
    thr01 = next(o for o in raw["offices"] if o["code"] == "THR-01")
    thr06["prefixes"].append("141")
    thr01["prefixes"].append("14157")
    thr06["prefixes"].remove("14157")
    (tmp_path / "offices.json").write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    for name in ("network.json", "service_levels.json"):
        (tmp_path / name).write_text((DATA_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    custom = load_registry(tmp_path)
    assert custom.delivering_office("1415793111").code == "THR-01"
    assert custom.delivering_office("1418793111").code == "THR-06"


def test_unmatched_prefix_uses_nearest_office_then_province_default(registry):
    assert registry.delivering_office("1933131111", 35.757, 51.41).code == "THR-03"
    assert registry.delivering_office("1933131111").code == "THR-06"
    assert registry.delivering_office("9399931111").code == "MHD-01"
    # Every province is served now (tests/routing/test_coverage.py): Babol's codes go to Sari's office.
    assert registry.delivering_office("4799931111").code == "SRY-01"


@pytest.mark.parametrize("bad", ["123", "1111131111", "1415723111", "abcdefghij"])
def test_invalid_postal_code(registry, bad):
    with pytest.raises(InvalidPostalCode):
        registry.delivering_office(bad)


def test_unknown_office(registry):
    with pytest.raises(UnknownOffice) as err:
        registry.get("THR-99")
    assert isinstance(err.value, NetworkError) and err.value.code == "unknown_office"


def test_routes_collapse_repeats_and_cross_trunk(registry):
    assert registry.route("THR-06", "THR-01") == ["THR-06", "THR-HUB", "THR-01"]
    assert registry.route("THR-06", "THR-06") == ["THR-06", "THR-HUB", "THR-06"]
    assert registry.route("THR-06", "MHD-01") == ["THR-06", "THR-HUB", "MHD-HUB", "MHD-01"]
    # no direct Tabriz–Mashhad trunk: through Tehran
    assert registry.route("TBZ-01", "MHD-01") == ["TBZ-01", "TBZ-HUB", "THR-HUB", "MHD-HUB", "MHD-01"]


def test_pishtaz_faster_than_sefareshi_and_same_city_faster(registry):
    booked = datetime(2025, 6, 9, 9, 0)  # a Monday morning, no holiday around
    same_city = {s: registry.expected_delivery(s, "THR-06", "THR-01", booked) for s in ("pishtaz", "sefareshi")}
    other = {s: registry.expected_delivery(s, "THR-06", "SYZ-01", booked) for s in ("pishtaz", "sefareshi")}
    assert same_city["pishtaz"] == date(2025, 6, 10)
    assert same_city["pishtaz"] < same_city["sefareshi"]
    assert other["pishtaz"] < other["sefareshi"]
    assert same_city["pishtaz"] < other["pishtaz"]
    assert same_city["sefareshi"] < other["sefareshi"]


def test_fridays_holidays_and_cutoff_are_skipped(registry):
    # Wednesday 2025-06-11 → Thursday 12th (pishtaz, same city)
    assert registry.expected_delivery("pishtaz", "THR-06", "THR-01", datetime(2025, 6, 11, 9)) == date(2025, 6, 12)
    # Thursday morning → Friday is the weekend → Saturday
    assert registry.expected_delivery("pishtaz", "THR-06", "THR-01", datetime(2025, 6, 12, 9)) == date(2025, 6, 14)
    # after the cutoff the clock starts the next business day
    assert registry.expected_delivery("pishtaz", "THR-06", "THR-01", datetime(2025, 6, 11, 16)) == date(2025, 6, 14)
    # Nowruz (1 to 4 Farvardin 1404 = 21 to 24 March 2025) is skipped
    assert registry.expected_delivery("pishtaz", "THR-06", "THR-01", datetime(2025, 3, 20, 9)) == date(2025, 3, 25)


def test_extra_trunk_days_count_for_other_provinces(registry):
    booked = datetime(2025, 6, 9, 9)
    direct = registry.expected_delivery("sefareshi", "THR-06", "MHD-01", booked)
    via_tehran = registry.expected_delivery("sefareshi", "TBZ-01", "MHD-01", booked)
    assert (via_tehran - direct).days >= 1


def test_unknown_service(registry):
    with pytest.raises(UnknownService):
        registry.expected_delivery("express", "THR-06", "THR-01", datetime(2025, 6, 9, 9))
