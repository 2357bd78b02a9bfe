from __future__ import annotations

import pytest

from kernel.postal.s10 import S10Error, check_digit, format_tracking_number, is_valid, parse_tracking_number


@pytest.mark.parametrize(
    ("serial", "expected", "weighted_sum"),
    [
        # The UPU S10 worked example: S = 200, 200 mod 11 = 2, C = 9 ("RR473124829GB").
        (47312482, 9, "4*8 + 7*6 + 3*4 + 1*2 + 2*3 + 4*5 + 8*9 + 2*7 = 200"),
        # S = 204, 204 mod 11 = 6, C = 5 without any special case.
        (12345678, 5, "1*8 + 2*6 + 3*4 + 4*2 + 5*3 + 6*5 + 7*9 + 8*7 = 204"),
        # C = 11 -> 5 (S mod 11 = 0).
        (73117699, 5, "7*8 + 3*6 + 1*4 + 1*2 + 7*3 + 6*5 + 9*9 + 9*7 = 275 = 25*11"),
        (95209555, 5, "9*8 + 5*6 + 2*4 + 0*2 + 9*3 + 5*5 + 5*9 + 5*7 = 242 = 22*11"),
        (0, 5, "S = 0"),
        # C = 10 -> 0 (S mod 11 = 1).
        (41939071, 0, "4*8 + 1*6 + 9*4 + 3*2 + 9*3 + 0*5 + 7*9 + 1*7 = 177 = 16*11 + 1"),
        (18795134, 0, "1*8 + 8*6 + 7*4 + 9*2 + 5*3 + 1*5 + 3*9 + 4*7 = 177"),
        (41451369, 0, "4*8 + 1*6 + 4*4 + 5*2 + 1*3 + 3*5 + 6*9 + 9*7 = 199 = 18*11 + 1"),
        (99999999, 5, "9 * (8+6+4+2+3+5+9+7) = 9*44 = 396 = 36*11"),
        (8, 0, "8*7 = 56 = 5*11 + 1"),
        # Plain cases.
        (1, 4, "1*7 = 7"),
        (10, 2, "1*9 = 9"),
    ],
)
def test_check_digit(serial: int, expected: int, weighted_sum: str) -> None:
    assert check_digit(serial) == expected


@pytest.mark.parametrize("serial", [-1, 100_000_000])
def test_check_digit_rejects_out_of_range_serials(serial: int) -> None:
    with pytest.raises(ValueError):
        check_digit(serial)


@pytest.mark.parametrize(
    ("indicator", "serial", "country", "expected"),
    [
        ("EP", 12345678, "IR", "EP123456785IR"),
        ("RP", 47312482, "IR", "RP473124829IR"),
        ("EP", 15, "IR", "EP000000155IR"),  # zero-padded; 1*9 + 5*7 = 44 -> C = 11 -> 5
        ("RP", 41939071, "IR", "RP419390710IR"),
        ("RR", 47312482, "GB", "RR473124829GB"),
    ],
)
def test_format_tracking_number(indicator: str, serial: int, country: str, expected: str) -> None:
    assert format_tracking_number(indicator, serial, country) == expected


def test_format_defaults_to_iran() -> None:
    assert format_tracking_number("EP", 12345678) == "EP123456785IR"


@pytest.mark.parametrize(
    ("indicator", "serial", "country"),
    [("ep", 1, "IR"), ("E", 1, "IR"), ("EPX", 1, "IR"), ("E1", 1, "IR"), ("EP", 1, "ir"), ("EP", 1, "IRN"),
     ("EP", 100_000_000, "IR"), ("EP", -1, "IR")],
)
def test_format_rejects_bad_parts(indicator: str, serial: int, country: str) -> None:
    with pytest.raises(ValueError):
        format_tracking_number(indicator, serial, country)


# Known-good identifiers from public sources, with their issuing country.
KNOWN_GOOD = [
    ("RR473124829GB", "GB", ("RR", 47312482)),  # the UPU S10 standard's worked example
    ("RB123456785GB", "GB", ("RB", 12345678)),  # jkeen/tracking_number_data s10.json test vectors
    ("RB123456785US", "US", ("RB", 12345678)),
    ("RB123456785CF", "CF", ("RB", 12345678)),
]


@pytest.mark.parametrize(("text", "country", "expected"), KNOWN_GOOD)
def test_parse_known_good_public_examples(text: str, country: str, expected: tuple[str, int]) -> None:
    assert parse_tracking_number(text, country=country) == expected
    assert parse_tracking_number(text, country=None) == expected
    assert is_valid(text, country=country)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("EP123456785IR", ("EP", 12345678)),
        ("RP473124829IR", ("RP", 47312482)),
        ("RP419390710IR", ("RP", 41939071)),  # check digit 0 (C = 10 branch)
        ("EP731176995IR", ("EP", 73117699)),  # check digit 5 (C = 11 branch)
        ("  ep123456785ir  ", ("EP", 12345678)),
        ("Ep123456785Ir", ("EP", 12345678)),
        ("EP 123 456 785 IR", ("EP", 12345678)),
        ("EP۱۲۳۴۵۶۷۸۵IR", ("EP", 12345678)),
        ("EP١٢٣٤٥٦٧٨٥IR", ("EP", 12345678)),
        ("EP000000155IR", ("EP", 15)),
    ],
)
def test_parse_iranian_numbers(text: str, expected: tuple[str, int]) -> None:
    assert parse_tracking_number(text) == expected
    assert is_valid(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "EP12345678IR",  # 8 digits in all
        "EP1234567855IR",  # 10 digits
        "E123456785IR",
        "EPP123456785IR",
        "1P123456785IR",
        "EP12345678AIR",
        "EP123456785I",
        "EP123456785IRN",
        "EP123456785ır",  # dotless i upper-cases to I: must not become a valid "IR"
        "EP-123456785-IR",
        "ЕР123456785IR",  # Cyrillic look-alikes
        None,
        123456785,
    ],
)
def test_parse_rejects_malformed(text: object) -> None:
    with pytest.raises(S10Error) as exc:
        parse_tracking_number(text)  # type: ignore[arg-type]
    assert exc.value.code == "tracking_number_invalid"
    assert exc.value.message and exc.value.message_fa
    assert not is_valid(text)  # type: ignore[arg-type]


@pytest.mark.parametrize("wrong_digit", [d for d in range(10) if d != 5])
def test_parse_rejects_every_wrong_check_digit(wrong_digit: int) -> None:
    text = f"EP12345678{wrong_digit}IR"
    with pytest.raises(S10Error, match="check digit"):
        parse_tracking_number(text)
    assert not is_valid(text)


@pytest.mark.parametrize(
    "text",
    [
        "RB123456786US",  # jkeen/tracking_number_data known-invalid vector
        "EP123456758IR",  # transposed serial digits
        "EP213456785IR",
        "RP419390715IR",  # 5 where the C = 10 branch gives 0
        "EP731176990IR",  # 0 where the C = 11 branch gives 5
    ],
)
def test_parse_rejects_wrong_check_digit(text: str) -> None:
    with pytest.raises(S10Error, match="check digit"):
        parse_tracking_number(text, country=None)


def test_parse_rejects_other_countries_by_default() -> None:
    with pytest.raises(S10Error, match="not issued in IR") as exc:
        parse_tracking_number("RR473124829GB")
    assert exc.value.code == "tracking_number_invalid"
    assert not is_valid("RR473124829GB")
    assert not is_valid("EP123456785IR", country="GB")


@pytest.mark.parametrize("serial", [0, 1, 8, 15, 12345678, 41939071, 73117699, 99999999])
def test_format_then_parse_round_trips(serial: int) -> None:
    assert parse_tracking_number(format_tracking_number("RP", serial)) == ("RP", serial)
