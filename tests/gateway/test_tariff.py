from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from kernel.errors import BaridError
from kernel.postal.tariff import (
    LIMITS_PATH,
    TARIFF_PATH,
    ZONES,
    Limits,
    PriceBreakdown,
    Tariff,
    TariffDataError,
    TariffError,
    zone_of,
)
from kernel.postal.text import normalize_city, normalize_province

RAW_TARIFF = tomllib.loads(TARIFF_PATH.read_text(encoding="utf-8"))
RAW_LIMITS = tomllib.loads(LIMITS_PATH.read_text(encoding="utf-8"))
SERVICES = sorted(RAW_TARIFF["services"])


@pytest.fixture(scope="module")
def tariff() -> Tariff:
    return Tariff.load()


# --- the data files ---------------------------------------------------------------------------------------------


def test_limits_load_with_the_documented_values() -> None:
    limits = Limits.load()
    assert set(limits.services) == {"pishtaz", "sefareshi"}
    assert limits.services["pishtaz"].s10_indicator == "EP"
    assert limits.services["sefareshi"].s10_indicator == "RP"
    assert limits.service("pishtaz").max_weight_g == 30_000
    assert limits.batch_max_items == 500
    assert limits.request_max_body_bytes == 1024 * 1024
    assert limits.client_order_id_max_len == 64
    assert 0 < limits.cod_min_goods_value_rial < limits.cod_max_goods_value_rial


def test_limits_service_lookup_rejects_unknown() -> None:
    with pytest.raises(TariffError) as exc:
        Limits.load().service("express")
    assert exc.value.code == "service_unknown"


def test_default_files_are_read_once_and_shared() -> None:
    assert Tariff.load() is Tariff.load()
    assert Limits.load() is Limits.load()
    assert Tariff.load().limits is Limits.load()


def test_explicit_paths_load_the_same_data(tariff: Tariff) -> None:
    limits = Limits.load(LIMITS_PATH)
    again = Tariff.load(TARIFF_PATH, limits)
    assert limits == Limits.load() and limits is not Limits.load()
    assert again.quote("pishtaz", 2_500, "same_city", 5_000_000, 1_000_000) == tariff.quote(
        "pishtaz", 2_500, "same_city", 5_000_000, 1_000_000
    )


def test_tariff_and_limits_price_the_same_services(tariff: Tariff) -> None:
    assert SERVICES == sorted(RAW_LIMITS["services"]) == sorted(tariff.services)


@pytest.mark.parametrize("service", SERVICES)
def test_bands_rise_with_weight_and_with_distance(service: str) -> None:
    bands = RAW_TARIFF["services"][service]["bands"]
    bounds = [band["max_g"] for band in bands]
    assert bounds == sorted(set(bounds)), "band bounds strictly increase"
    for zone in ZONES:
        prices = [band[zone] for band in bands]
        assert all(isinstance(p, int) and p > 0 for p in prices)
        assert prices == sorted(prices), f"{zone} prices never fall as weight rises"
    for band in bands:
        assert band["same_city"] <= band["same_province"] <= band["other_province"], band
    extra = RAW_TARIFF["services"][service].get("per_extra_kg")
    if extra is not None:
        assert extra["same_city"] <= extra["same_province"] <= extra["other_province"]
    else:
        assert bounds[-1] >= RAW_LIMITS["services"][service]["max_weight_g"], "every allowed weight has a price"


def test_pishtaz_magnitude_is_realistic() -> None:
    first = RAW_TARIFF["services"]["pishtaz"]["bands"][0]
    assert first["max_g"] == 500
    assert 500_000 <= first["other_province"] <= 800_000  # about 65,000 toman


def test_pishtaz_costs_more_than_sefareshi_in_every_shared_band() -> None:
    sefareshi = {b["max_g"]: b for b in RAW_TARIFF["services"]["sefareshi"]["bands"]}
    for band in RAW_TARIFF["services"]["pishtaz"]["bands"]:
        if band["max_g"] in sefareshi:
            assert all(band[z] > sefareshi[band["max_g"]][z] for z in ZONES)


# --- base price: bands and zones ----------------------------------------------------------------------------------

BAND_CASES = [
    (service, i, zone)
    for service in SERVICES
    for i in range(len(RAW_TARIFF["services"][service]["bands"]))
    for zone in ZONES
]


@pytest.mark.parametrize(("service", "band_index", "zone"), BAND_CASES)
def test_band_edges(tariff: Tariff, service: str, band_index: int, zone: str) -> None:
    bands = RAW_TARIFF["services"][service]["bands"]
    band = bands[band_index]
    assert tariff.quote(service, band["max_g"], zone).base == band[zone], "exactly on the bound: this band"
    lower = bands[band_index - 1]["max_g"] + 1 if band_index else 1
    assert tariff.quote(service, lower, zone).base == band[zone], "first gram of the band"
    if band_index + 1 < len(bands):
        assert tariff.quote(service, band["max_g"] + 1, zone).base == bands[band_index + 1][zone], "one gram over"


@pytest.mark.parametrize(
    ("service", "weight_g", "zone", "base"),
    [
        ("pishtaz", 1, "same_city", 420_000),
        ("pishtaz", 500, "other_province", 650_000),
        ("pishtaz", 501, "other_province", 800_000),
        ("pishtaz", 1_000, "same_province", 640_000),
        ("pishtaz", 30_000, "other_province", 6_400_000),
        ("sefareshi", 500, "same_city", 280_000),
        ("sefareshi", 10_000, "other_province", 1_850_000),
        # Above sefareshi's last band (10 kg): last price + per started kg.
        ("sefareshi", 10_001, "same_city", 1_150_000 + 90_000),
        ("sefareshi", 11_000, "same_city", 1_150_000 + 90_000),
        ("sefareshi", 11_001, "same_city", 1_150_000 + 2 * 90_000),
        ("sefareshi", 10_001, "same_province", 1_420_000 + 110_000),
        ("sefareshi", 15_500, "other_province", 1_850_000 + 6 * 140_000),
        ("sefareshi", 30_000, "same_city", 1_150_000 + 20 * 90_000),
    ],
)
def test_base_price_literals(tariff: Tariff, service: str, weight_g: int, zone: str, base: int) -> None:
    assert tariff.quote(service, weight_g, zone).base == base


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("weight_g", [500, 2_500, 10_000, 10_500, 30_000])
def test_farther_zones_never_cost_less(tariff: Tariff, service: str, weight_g: int) -> None:
    bases = [tariff.quote(service, weight_g, zone).base for zone in ZONES]
    assert bases == sorted(bases)


@pytest.mark.parametrize("service", SERVICES)
def test_weight_over_limit(tariff: Tariff, service: str) -> None:
    max_weight = RAW_LIMITS["services"][service]["max_weight_g"]
    assert tariff.quote(service, max_weight, "same_city").base > 0
    with pytest.raises(TariffError) as exc:
        tariff.quote(service, max_weight + 1, "same_city")
    assert exc.value.code == "weight_over_limit"
    assert str(max_weight) in exc.value.message and exc.value.message_fa


@pytest.mark.parametrize("weight_g", [0, -1, 1.5, 500.0, True, "500", None])
def test_weight_invalid(tariff: Tariff, weight_g: object) -> None:
    with pytest.raises(TariffError) as exc:
        tariff.quote("pishtaz", weight_g, "same_city")  # type: ignore[arg-type]
    assert exc.value.code == "weight_invalid"


@pytest.mark.parametrize("service", ["express", "", "PISHTAZ", None])
def test_unknown_service(tariff: Tariff, service: object) -> None:
    with pytest.raises(TariffError) as exc:
        tariff.quote(service, 500, "same_city")  # type: ignore[arg-type]
    assert exc.value.code == "service_unknown"
    assert "pishtaz" in exc.value.message


@pytest.mark.parametrize("zone", ["", "international", "SAME_CITY", None])
def test_unknown_zone(tariff: Tariff, zone: object) -> None:
    with pytest.raises(TariffError) as exc:
        tariff.quote("pishtaz", 500, zone)  # type: ignore[arg-type]
    assert exc.value.code == "zone_unknown"


def test_tariff_error_is_a_422_problem(tariff: Tariff) -> None:
    with pytest.raises(BaridError) as exc:
        tariff.quote("pishtaz", 30_001, "same_city")
    problem = exc.value.to_problem()
    assert (problem["status"], problem["code"]) == (422, "weight_over_limit")
    assert problem["detail_fa"]


# --- COD fee, insurance, VAT --------------------------------------------------------------------------------------

COD = RAW_TARIFF["cod_fee"]
INSURANCE = RAW_TARIFF["insurance"]


def test_fee_parameters_are_what_the_cases_below_assume() -> None:
    assert (COD["rate_bp"], COD["min_rial"], COD["max_rial"]) == (100, 50_000, 3_000_000)
    assert (INSURANCE["rate_bp"], INSURANCE["min_rial"]) == (30, 20_000)
    assert RAW_TARIFF["vat"]["rate_bp"] == 1_000


@pytest.mark.parametrize(
    ("goods_value", "fee"),
    [
        (None, 0),
        (100_000, 50_000),  # 1 % is 1,000: the floor applies
        (4_999_900, 50_000),  # 49,999: still the floor
        (5_000_000, 50_000),  # exactly the floor
        (5_000_100, 50_001),  # just above it
        (5_000_049, 50_000),  # 50,000.49 rounds down
        (5_000_050, 50_001),  # 50,000.50 rounds half up
        (7_777_777, 77_778),  # 77,777.77
        (300_000_000, 3_000_000),  # exactly the cap
        (300_000_100, 3_000_000),  # above the cap
        (1_000_000_000, 3_000_000),  # the largest allowed goods value
    ],
)
def test_cod_fee_floor_rate_and_cap(tariff: Tariff, goods_value: int | None, fee: int) -> None:
    assert tariff.quote("pishtaz", 500, "same_city", cod_goods_value=goods_value).cod_fee == fee


@pytest.mark.parametrize("goods_value", [0, 99_999, 1_000_000_001, -5, 5_000_000.0, True, "5000000"])
def test_cod_goods_value_out_of_range(tariff: Tariff, goods_value: object) -> None:
    with pytest.raises(TariffError) as exc:
        tariff.quote("pishtaz", 500, "same_city", cod_goods_value=goods_value)  # type: ignore[arg-type]
    assert exc.value.code == "cod_value_out_of_range"


@pytest.mark.parametrize(
    ("declared_value", "insurance"),
    [
        (None, 0),
        (0, 0),  # nothing declared: no insurance, not even the floor
        (1, 20_000),  # the floor
        (1_000_000, 20_000),  # 3,000: the floor
        (6_666_666, 20_000),  # 19,999.99 rounds to 20,000
        (10_000_000, 30_000),
        (10_000_500, 30_002),  # 30,001.5 rounds half up
        (10_000_400, 30_001),  # 30,001.2 rounds down
        (1_000_000_000, 3_000_000),  # pishtaz's maximum declared value
    ],
)
def test_insurance(tariff: Tariff, declared_value: int | None, insurance: int) -> None:
    assert tariff.quote("pishtaz", 500, "same_city", declared_value=declared_value).insurance == insurance


@pytest.mark.parametrize(
    ("service", "declared_value"),
    [("pishtaz", 1_000_000_001), ("sefareshi", 500_000_001), ("pishtaz", -1), ("pishtaz", 1.0), ("pishtaz", False)],
)
def test_declared_value_out_of_range(tariff: Tariff, service: str, declared_value: object) -> None:
    with pytest.raises(TariffError) as exc:
        tariff.quote(service, 500, "same_city", declared_value=declared_value)  # type: ignore[arg-type]
    assert exc.value.code == "declared_value_out_of_range"


def test_sefareshi_has_its_own_declared_value_ceiling(tariff: Tariff) -> None:
    assert tariff.quote("sefareshi", 500, "same_city", declared_value=500_000_000).insurance == 1_500_000


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # pishtaz 500 g other province: 650,000 + 10 % VAT.
        (("pishtaz", 500, "other_province", None, None), PriceBreakdown(650_000, 0, 0, 65_000, 715_000)),
        # VAT on base + COD fee: 650,000 + 50,001 = 700,001 -> 70,000.1 rounds down.
        (("pishtaz", 500, "other_province", 5_000_050, None), PriceBreakdown(650_000, 50_001, 0, 70_000, 770_001)),
        # 650,000 + 50,005 = 700,005 -> 70,000.5 rounds half up.
        (("pishtaz", 500, "other_province", 5_000_500, None), PriceBreakdown(650_000, 50_005, 0, 70_001, 770_006)),
        # VAT covers insurance too: 280,000 + 30,002 = 310,002 -> 31,000.2.
        (("sefareshi", 500, "same_city", None, 10_000_500), PriceBreakdown(280_000, 0, 30_002, 31_000, 341_002)),
        # Everything at once: 1,240,000 + 77,778 + 30,000 = 1,347,778 -> 134,777.8 -> 134,778.
        (
            ("sefareshi", 10_001, "same_city", 7_777_777, 10_000_000),
            PriceBreakdown(1_240_000, 77_778, 30_000, 134_778, 1_482_556),
        ),
    ],
)
def test_full_breakdowns(tariff: Tariff, args: tuple, expected: PriceBreakdown) -> None:
    assert tariff.quote(*args) == expected


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("zone", ZONES)
def test_breakdown_is_integer_rials_and_adds_up(tariff: Tariff, service: str, zone: str) -> None:
    price = tariff.quote(service, 2_345, zone, cod_goods_value=12_345_678, declared_value=9_876_543)
    parts = (price.base, price.cod_fee, price.insurance, price.vat, price.total)
    assert all(type(p) is int for p in parts)
    assert price.total == price.base + price.cod_fee + price.insurance + price.vat
    assert price.vat == (10 * (price.base + price.cod_fee + price.insurance) + 50) // 100


def test_to_dict() -> None:
    price = PriceBreakdown(base=650_000, cod_fee=50_000, insurance=20_000, vat=72_000, total=792_000)
    assert price.to_dict() == {
        "base": 650_000,
        "cod_fee": 50_000,
        "insurance": 20_000,
        "vat": 72_000,
        "total": 792_000,
        "currency": "IRR",
    }


# --- zones ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "receiver", "zone"),
    [
        (("تهران", "تهران"), ("تهران", "تهران"), "same_city"),
        (("Tehran", "Tehran"), ("تهران", "tehran"), "same_city"),  # province in either language, city case-folded
        (("البرز", "كرج"), ("Alborz", "کرج"), "same_city"),  # Arabic kaf
        (("هرمزگان", "بندر عباس"), ("Hormozgan", "بندرعباس"), "same_city"),
        (("مازندران", "ساري"), ("مازندران", " ساری "), "same_city"),
        (("آذربایجان شرقی", "تبریز"), ("East Azerbaijan", "تبريز"), "same_city"),
        (("تهران", "تهران"), ("تهران", "ری"), "same_province"),
        (("Fars", "شیراز"), ("فارس", "مرودشت"), "same_province"),
        (("تهران", "تهران"), ("البرز", "کرج"), "other_province"),
        (("خراسان رضوی", "مشهد"), ("خراسان شمالی", "بجنورد"), "other_province"),
        # A same-named city in another province is still another province.
        (("مرکزی", "شازند"), ("لرستان", "شازند"), "other_province"),
    ],
)
def test_zone_of(sender: tuple[str, str], receiver: tuple[str, str], zone: str) -> None:
    """Zones of parties as the validator hands them over: province and city normalised."""
    def party(province: str, city: str) -> dict[str, str]:
        return {"province": normalize_province(province), "city": normalize_city(city)}

    assert zone_of(party(*sender), party(*receiver)) == zone


# --- inconsistent data files are refused at load ------------------------------------------------------------------


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("max_g =  1_000, same_city =   520_000", "max_g =  1_000, same_city =   400_000", "fall as weight rises"),
        ("max_g =  1_000,", "max_g =    500,", "strictly increase"),
        ("other_province =   650_000", "other_province =   500_000", "farther zone is cheaper"),
        ("per_extra_kg = ", "# per_extra_kg = ", "no per_extra_kg"),
        ("same_city =   420_000,", "same_city =   420_000.0,", "must be an integer"),
        ("[services.sefareshi]", "[services.express]", "must match"),
        ("max_rial = 3_000_000", "max_rial = 10_000", "min_rial exceeds"),
    ],
)
def test_broken_tariff_is_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = TARIFF_PATH.read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(TariffDataError, match=message):
        Tariff.load(_write(tmp_path, "tariff.toml", text.replace(old, new, 1)), Limits.load())


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('s10_indicator = "RP"', 's10_indicator = "EP"', "share an s10_indicator"),
        ('s10_indicator = "RP"', 's10_indicator = "rp"', "two upper-case letters"),
        ("max_weight_g = 30_000 ", "max_weight_g = 0 ", "must be an integer >= 1"),
        ("batch_max_items = 500", "batch_max_items = -1", "must be an integer >= 1"),
        ("min_goods_value_rial = 100_000", "min_goods_value_rial = 2_000_000_000", "exceeds"),
    ],
)
def test_broken_limits_are_refused(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = LIMITS_PATH.read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(TariffDataError, match=message):
        Limits.load(_write(tmp_path, "limits.toml", text.replace(old, new, 1)))


def test_limits_above_the_last_band_need_per_extra_kg(tmp_path: Path) -> None:
    # pishtaz has no per_extra_kg: raising its weight limit past its last band must be refused, not priced wrong.
    text = LIMITS_PATH.read_text(encoding="utf-8").replace("max_weight_g = 30_000 ", "max_weight_g = 40_000 ", 1)
    limits = Limits.load(_write(tmp_path, "limits.toml", text))
    assert limits.services["pishtaz"].max_weight_g == 40_000
    with pytest.raises(TariffDataError, match="pishtaz"):
        Tariff.load(TARIFF_PATH, limits)


def test_a_lower_weight_limit_is_enforced_by_quote(tmp_path: Path) -> None:
    text = LIMITS_PATH.read_text(encoding="utf-8").replace("max_weight_g = 30_000 ", "max_weight_g = 20_000 ", 1)
    tariff = Tariff.load(TARIFF_PATH, Limits.load(_write(tmp_path, "limits.toml", text)))
    assert tariff.quote("pishtaz", 20_000, "same_city").base == 2_800_000
    with pytest.raises(TariffError, match="20000"):
        tariff.quote("pishtaz", 20_001, "same_city")
