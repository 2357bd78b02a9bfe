from datetime import date

import pytest

from kernel.postal.offices import InvalidPostalCode, haversine_m, load_registry
from kernel.postal.text import POSTAL_CODE_RULE
from routing.demo import generate_day
from routing.errors import InvalidParcel, NoParcels
from routing.office_day import Fleet, build_problem, merge_stops, postal_code_point

DAY = date(2026, 11, 29)


@pytest.fixture(scope="module")
def office():
    return load_registry().get("THR-06")


def _parcel(tn, postal_code="1415731111", weight=1000, location=None, window=None, cod=0, address="x"):
    receiver = {"postal_code": postal_code, "address": address}
    if location:
        receiver["location"] = {"lat": location[0], "lon": location[1]}
    parcel = {"tracking_number": tn, "weight_g": weight, "receiver": receiver,
              "payment": {"type": "cod", "goods_value": cod} if cod else {"type": "prepaid"}}
    if window:
        parcel["time_window"] = window
    return parcel


def test_demo_day_is_deterministic_and_realistic(office):
    parcels = generate_day("THR-06", DAY, 500)
    assert parcels == generate_day("THR-06", DAY, 500)
    assert parcels != generate_day("THR-06", DAY, 500, seed=1)
    assert len(parcels) == 500 and len({p["tracking_number"] for p in parcels}) == 500
    windows = sum(1 for p in parcels if "time_window" in p)
    assert 0.15 * 500 < windows < 0.25 * 500
    for p in parcels:
        code = p["receiver"]["postal_code"]
        assert POSTAL_CODE_RULE.match(code) and code[:5] in office.prefixes
        assert load_registry().delivering_office(code) is office
        loc = p["receiver"]["location"]
        assert haversine_m(office.lat, office.lon, loc["lat"], loc["lon"]) < 3100
    stops = merge_stops(office, parcels)
    assert len(stops) < 0.9 * len(parcels)  # apartment buildings: shared stops


@pytest.mark.parametrize("count", [99, 3001])
def test_demo_day_size_bounds(count):
    with pytest.raises(InvalidParcel):
        generate_day("THR-06", DAY, count)


def test_same_address_merges_into_one_stop_when_windows_overlap(office):
    here = (35.7151, 51.4050)
    stops = merge_stops(office, [
        _parcel("A", location=here, window=["09:00", "12:00"], cod=5000),
        _parcel("B", location=here, window=["11:00", "13:00"], weight=2500),
        _parcel("C", location=here, window=["14:00", "15:00"]),
        _parcel("D", location=(35.72, 51.41)),
    ])
    assert [[p["tracking_number"] for p in s.parcels] for s in stops] == [["A", "B"], ["C"], ["D"]]
    assert stops[0].window == (11 * 3600, 12 * 3600)
    assert (stops[0].weight_g, stops[0].cod_rials) == (3500, 5000)


def test_missing_location_gets_a_deterministic_point_in_the_office_area(office):
    stops = merge_stops(office, [_parcel("A"), _parcel("B"), _parcel("C", postal_code="1415831111")])
    assert len(stops) == 2  # A and B share the postal code
    assert (stops[0].lat, stops[0].lon) == postal_code_point(office, "1415731111")
    assert haversine_m(office.lat, office.lon, stops[1].lat, stops[1].lon) <= 1501


@pytest.mark.parametrize("parcel, error", [
    (_parcel("A", weight=0), InvalidParcel),
    (_parcel("A", postal_code="12345"), InvalidPostalCode),
    (_parcel("A", window=["12:00", "10:00"]), InvalidParcel),
    (_parcel("A", window=["noon", "13:00"]), InvalidParcel),
    ({"weight_g": 10}, InvalidParcel),
])
def test_bad_parcels(office, parcel, error):
    with pytest.raises(error):
        merge_stops(office, [parcel])


def test_no_parcels(office):
    with pytest.raises(NoParcels):
        merge_stops(office, [])


def test_build_problem(office):
    stops = merge_stops(office, [_parcel("A", location=(35.72, 51.41), window=["10:00", "11:00"], cod=7),
                                 _parcel("B", location=(35.72, 51.41), cod=3), _parcel("C", location=(35.71, 51.40))])
    problem, metres = build_problem(office, stops, Fleet(postmen=3), 3)
    assert problem.n_nodes == 3 and problem.n_vehicles == 3
    assert (problem.ready[1], problem.due[1]) == (10 * 3600, 11 * 3600)
    assert (problem.ready[2], problem.due[2]) == (8 * 3600, 16 * 3600)
    assert problem.cod[1] == 10 and problem.demand[1] == 2000
    assert problem.service[1] == 120 + 30 + 60
    assert metres[0, 1] > problem.distance[0, 1] > 0  # metres vs seconds at 5.5 m/s
