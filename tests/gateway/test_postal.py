from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kernel.errors import BaridError
from kernel.postal import text as postal
from kernel.postal.text import (
    PostalError,
    normalize_city,
    normalize_digits,
    normalize_mobile,
    normalize_postal_code,
    normalize_province,
    normalize_text,
    province_by_name,
    provinces,
)

PERSIAN_LETTERS = re.compile(r"[\u0600-\u06ff]")
PROVINCES_JSON = Path(postal.__file__).with_name("data") / "provinces.json"


def to_persian_digits(s: str) -> str:
    return s.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


def to_arabic_digits(s: str) -> str:
    return s.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


def to_arabic_letters(s: str) -> str:
    """How the same word arrives from an Arabic keyboard: Arabic yeh and kaf."""
    return s.replace("ی", "ي").replace("ک", "ك")


def assert_postal_error(exc: pytest.ExceptionInfo[PostalError], code: str) -> None:
    assert exc.value.code == code
    assert exc.value.message and str(exc.value) == exc.value.message
    assert PERSIAN_LETTERS.search(exc.value.message_fa)


def test_postal_error_is_a_422_problem() -> None:
    with pytest.raises(BaridError) as exc:
        normalize_postal_code("0000000000")
    problem = exc.value.to_problem()
    assert (problem["status"], problem["code"]) == (422, "postal_code_invalid")
    assert problem["detail"] == exc.value.message and problem["detail_fa"] == exc.value.message_fa


# --- digits -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("۰۱۲۳۴۵۶۷۸۹", "0123456789"),
        ("٠١٢٣٤٥٦٧٨٩", "0123456789"),
        ("0123456789", "0123456789"),
        ("پلاک ۱۲، واحد ٣", "پلاک 12، واحد 3"),
        ("۱2٣", "123"),
        ("", ""),
        ("abc", "abc"),
        ("१२३", "१२३"),  # Devanagari digits are not Iranian input: left alone, so validators reject them
    ],
)
def test_normalize_digits(raw: str, expected: str) -> None:
    assert normalize_digits(raw) == expected


# --- postal code ------------------------------------------------------------------------------------------------

VALID_POSTAL_CODES = ["1314713813", "1136913131", "3354355599", "1113713813", "9198199999", "1346913019"]


@pytest.mark.parametrize("code", VALID_POSTAL_CODES)
@pytest.mark.parametrize(
    "spell",
    [
        lambda c: c,
        to_persian_digits,
        to_arabic_digits,
        lambda c: f"{c[:5]}-{c[5:]}",
        lambda c: to_persian_digits(f"{c[:5]}-{c[5:]}"),
        lambda c: f" {c[:4]} {c[4:7]} {c[7:]} ",
        lambda c: f"{c[:5]}\u2013{c[5:]}",  # en dash
        lambda c: f"{c[:5]}\u00a0{c[5:]}\n",  # no-break space, trailing newline from a paste
        lambda c: to_arabic_digits(c[:5]) + to_persian_digits(c[5:]),
        int,
    ],
    ids=["ascii", "persian", "arabic", "hyphen", "persian-hyphen", "spaces", "en-dash", "nbsp", "mixed", "int"],
)
def test_postal_code_accepted_spellings(code: str, spell) -> None:
    assert normalize_postal_code(spell(code)) == code


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "131471381",  # 9 digits
        "13147138133",  # 11 digits
        "۱۳۱۴۷۱۳۸۱",  # 9 Persian digits
        "13147a3813",
        "+1314713813",
        "1314713813.0",
        "1314_713813",
        "१३१४७१३८१३",  # 10 Devanagari digits: str.isdigit() is true for them, the rule must not be
        None,
        True,
        1314713813.0,
        ["1314713813"],
        131471381,
        -1314713813,
    ],
)
def test_postal_code_format_errors(raw: object) -> None:
    with pytest.raises(PostalError) as exc:
        normalize_postal_code(raw)
    assert_postal_error(exc, "postal_code_format")


@pytest.mark.parametrize(
    ("raw", "broken_rule"),
    [
        ("0314713813", "0 in the first four digits"),
        ("1304713813", "0 in the first four digits"),
        ("2314713813", "2 in the first four digits"),
        ("1312713813", "2 in the first four digits"),
        ("1314013813", "fifth digit 0"),
        ("1314213813", "fifth digit 2"),
        ("1314513813", "fifth digit 5"),
        ("1314723813", "2 in the last five"),
        ("1314713812", "2 in the last five"),
        ("1111713813", "first four digits equal"),
        ("9999999999", "first four digits equal"),
        ("0000000000", "zeros"),
        ("۲۳۱۴۷۱۳۸۱۳", "2 in the first four digits, Persian digits"),
    ],
)
def test_postal_code_rule_violations(raw: str, broken_rule: str) -> None:
    with pytest.raises(PostalError) as exc:
        normalize_postal_code(raw)
    assert_postal_error(exc, "postal_code_invalid")


# --- mobile -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "09121234567",
        "9121234567",
        "+989121234567",
        "+98 912 123 4567",
        "0098 912 123 4567",
        "00989121234567",
        "989121234567",
        "+98 (0) 912 123 4567",
        "(0912) 123-4567",
        "0912-123-4567",
        " 0912 123 45 67 ",
        "۰۹۱۲۱۲۳۴۵۶۷",
        "٠٩١٢١٢٣٤٥٦٧",
        "+۹۸ ۹۱۲ ۱۲۳ ۴۵۶۷",
        9121234567,
    ],
)
def test_mobile_accepted_forms(raw: object) -> None:
    assert normalize_mobile(raw) == "09121234567"


@pytest.mark.parametrize(("raw", "expected"), [("09901234567", "09901234567"), ("+98 935 000 1122", "09350001122")])
def test_mobile_other_operators(raw: str, expected: str) -> None:
    assert normalize_mobile(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "0912123456",  # one digit short
        "091212345678",  # one digit long
        "08121234567",  # not a mobile (no 9 after the trunk 0)
        "02112345678",  # Tehran landline
        "+19121234567",  # another country
        "+98 812 123 4567",
        "9891212345678",
        "++989121234567",
        "+98+9121234567",
        "0912.123.4567",
        "09121234567x",
        "0912١٢٣٤٥٦٧x",
        None,
        True,
        9.121234567e9,
        -9121234567,
    ],
)
def test_mobile_invalid(raw: object) -> None:
    with pytest.raises(PostalError) as exc:
        normalize_mobile(raw)
    assert_postal_error(exc, "phone_invalid")


# --- provinces --------------------------------------------------------------------------------------------------

ALL_PROVINCES = provinces()


def test_there_are_31_provinces_with_unique_codes_and_names() -> None:
    assert len(ALL_PROVINCES) == 31
    assert len({p.code for p in ALL_PROVINCES}) == 31
    assert len({p.name_fa for p in ALL_PROVINCES}) == 31
    assert len({p.name_en.casefold() for p in ALL_PROVINCES}) == 31
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", p.code) for p in ALL_PROVINCES)
    assert all(PERSIAN_LETTERS.search(p.name_fa) and p.name_en.isascii() for p in ALL_PROVINCES)


def test_data_file_shape() -> None:
    entries = json.loads(PROVINCES_JSON.read_text(encoding="utf-8"))
    assert [set(e) for e in entries] == [{"code", "name_fa", "name_en", "aliases", "capital_lat", "capital_lon"}] * 31
    assert all(isinstance(e["aliases"], list) for e in entries)
    # Every capital lies inside Iran's bounding box (a swapped lat/lon would not).
    assert all(25 <= e["capital_lat"] <= 40 and 44 <= e["capital_lon"] <= 63.5 for e in entries)


def test_canonical_names_use_persian_letters_only() -> None:
    for p in ALL_PROVINCES:
        assert "ي" not in p.name_fa and "ك" not in p.name_fa, p.code


@pytest.mark.parametrize("province", ALL_PROVINCES, ids=lambda p: p.code)
def test_every_province_by_persian_name(province) -> None:
    assert normalize_province(province.name_fa) == province.name_fa
    assert normalize_province(f"استان {province.name_fa}") == province.name_fa
    assert normalize_province(f"  {province.name_fa}  ") == province.name_fa


@pytest.mark.parametrize("province", ALL_PROVINCES, ids=lambda p: p.code)
def test_every_province_by_arabic_letter_variant(province) -> None:
    assert normalize_province(to_arabic_letters(province.name_fa)) == province.name_fa


def test_arabic_letter_variants_actually_differ_for_most_provinces() -> None:
    # Guards the test above from passing vacuously.
    assert sum(to_arabic_letters(p.name_fa) != p.name_fa for p in ALL_PROVINCES) >= 15


@pytest.mark.parametrize("province", ALL_PROVINCES, ids=lambda p: p.code)
def test_every_province_by_english_name(province) -> None:
    for spelling in (province.name_en, province.name_en.upper(), province.name_en.lower(), f"{province.name_en} Province"):
        assert normalize_province(spelling) == province.name_fa, spelling


@pytest.mark.parametrize("province", ALL_PROVINCES, ids=lambda p: p.code)
def test_every_province_by_code_and_aliases(province) -> None:
    assert province_by_name(province.code) is province
    for alias in province.aliases:
        assert province_by_name(alias) is province, alias


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("Tehran", "tehran"),
        ("TEHRAN", "tehran"),
        ("تهران", "tehran"),
        ("Khorasan Razavi", "khorasan_razavi"),
        ("Razavi Khorasan", "khorasan_razavi"),
        ("Khorasan-e Razavi", "khorasan_razavi"),
        ("خراسان رضوی", "khorasan_razavi"),
        ("خراسان‌رضوی", "khorasan_razavi"),  # ZWNJ instead of a space
        ("خراسان  رضوي", "khorasan_razavi"),  # double space, Arabic yeh
        ("East Azerbaijan", "east_azerbaijan"),
        ("east azarbaijan", "east_azerbaijan"),
        ("آذربایجان شرقی", "east_azerbaijan"),
        ("اذربایجان شرقی", "east_azerbaijan"),  # alef without madda
        ("آذربايجان شرقي", "east_azerbaijan"),
        ("West Azerbaijan", "west_azerbaijan"),
        ("آذربایجان غربی", "west_azerbaijan"),
        ("Kohgiluyeh and Boyer-Ahmad", "kohgiluyeh_boyerahmad"),
        ("Kohgiluyeh & Boyer Ahmad", "kohgiluyeh_boyerahmad"),
        ("کهگیلویه و بویراحمد", "kohgiluyeh_boyerahmad"),
        ("كهگيلويه و بوير احمد", "kohgiluyeh_boyerahmad"),
        ("کهگیلویه وبویراحمد", "kohgiluyeh_boyerahmad"),  # conjunction glued to the next word
        ("Sistan and Baluchestan", "sistan_baluchestan"),
        ("Sistan-Baluchestan", "sistan_baluchestan"),
        ("Sistan & Baluchistan", "sistan_baluchestan"),
        ("سیستان و بلوچستان", "sistan_baluchestan"),
        ("سیستان وبلوچستان", "sistan_baluchestan"),
        ("سیستان بلوچستان", "sistan_baluchestan"),
        ("Chaharmahal and Bakhtiari", "chaharmahal_bakhtiari"),
        ("Chahar Mahaal and Bakhtiari", "chaharmahal_bakhtiari"),
        ("چهارمحال و بختیاری", "chaharmahal_bakhtiari"),
        ("چهار محال و بختياري", "chaharmahal_bakhtiari"),
        ("چهارمحال وبختیاری", "chaharmahal_bakhtiari"),
        ("South Khorasan", "south_khorasan"),
        ("خراسان جنوبی", "south_khorasan"),
        ("North Khorasan", "north_khorasan"),
        ("خراسان شمالی", "north_khorasan"),
        ("Esfahan", "isfahan"),
        ("اصفهان", "isfahan"),
        ("Kordestan", "kurdistan"),
        ("كردستان", "kurdistan"),
        ("Hamedan", "hamadan"),
        ("Guilan", "gilan"),
        ("Central", "markazi"),
        ("مرکزی", "markazi"),
        ("یـــزد", "yazd"),  # tatweel
        ("ي\u064fزد", "yazd"),  # harakat (damma)
        ("Ostan-e Tehran", "tehran"),
        ("ﺗﻬﺮﺍﻥ", "tehran"),  # Arabic presentation forms from legacy systems
    ],
)
def test_province_spellings(raw: str, code: str) -> None:
    province = province_by_name(raw)
    assert province is not None and province.code == code
    assert normalize_province(raw) == province.name_fa


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "Tehrun", "Azerbaijan", "آذربایجان", "خراسان", "Khorasan", "استان", "Province", "Tehran Fars", None, 12],
)
def test_unknown_province(raw: object) -> None:
    with pytest.raises(PostalError) as exc:
        normalize_province(raw)
    assert_postal_error(exc, "province_unknown")
    if isinstance(raw, str):
        assert province_by_name(raw) is None


def test_province_loader_rejects_ambiguous_aliases(tmp_path: Path) -> None:
    entries = json.loads(PROVINCES_JSON.read_text(encoding="utf-8"))
    entries[1]["aliases"].append("East Azerbaijan")  # West Azerbaijan claiming its neighbour's name
    broken = tmp_path / "provinces.json"
    broken.write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError, match="matches both"):
        postal._load_provinces(broken)


def test_province_loader_rejects_wrong_count(tmp_path: Path) -> None:
    entries = json.loads(PROVINCES_JSON.read_text(encoding="utf-8"))[:30]
    broken = tmp_path / "provinces.json"
    broken.write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError, match="expected 31"):
        postal._load_provinces(broken)


# --- city and free text -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("تهران", "تهران"),
        ("  بندر   عباس ", "بندر عباس"),
        ("كرج", "کرج"),  # Arabic kaf
        ("ساري", "ساری"),  # Arabic yeh
        ("قائم\u200cشهر", "قائم\u200cشهر"),  # ZWNJ inside a word is Persian spelling: kept
        ("قائم \u200cشهر", "قائم شهر"),  # ZWNJ beside a space is noise
        ("\u200cتهران\u200c", "تهران"),
        ("مشـــهد", "مشهد"),  # tatweel
        ("Tehran\t\n", "Tehran"),
        ("تهران\u202e", "تهران"),  # bidi override would reverse the label text
        ("\ufeffتهران\x00", "تهران"),  # BOM and NUL
        ("ش" * 64, "ش" * 64),
    ],
)
def test_normalize_city(raw: str, expected: str) -> None:
    assert normalize_city(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "\u200c\u200c", "\x00\x01", "\u202e", "ش" * 65, None, 5, ["تهران"]])
def test_invalid_city(raw: object) -> None:
    with pytest.raises(PostalError) as exc:
        normalize_city(raw)
    assert_postal_error(exc, "city_invalid")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("علي  كاظمي", "علی کاظمی"),
        ("خیابان ولیعصر،\nپلاک ۱۲", "خیابان ولیعصر، پلاک ۱۲"),  # digits are not changed in text
        ("می\u200c\u200c\u200cرود", "می\u200cرود"),  # a run of ZWNJ is one
        ("Sara\u00a0Ahmadi", "Sara Ahmadi"),
        ("a\u2028b\u2029c", "a b c"),
        ("x\u200by", "xy"),  # zero-width space removed
        ("👍🏽 ok", "👍🏽 ok"),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw, 200) == expected


def test_normalize_text_length_is_checked_after_normalisation() -> None:
    assert normalize_text("  " + "a" * 10 + "  ", 10) == "a" * 10
    with pytest.raises(PostalError) as exc:
        normalize_text("a" * 11, 10, error_code="name_invalid")
    assert_postal_error(exc, "name_invalid")
    assert "10" in exc.value.message and "۱۰" in exc.value.message_fa


def test_normalize_text_default_error_code() -> None:
    with pytest.raises(PostalError) as exc:
        normalize_text("", 10)
    assert exc.value.code == "text_invalid"
