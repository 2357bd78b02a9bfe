"""Sheba numbers and national ids are checked before a shop's payout account is recorded."""

from __future__ import annotations

import pytest

from kernel.problems import CATALOGUE
from money.legal import LegalIdInvalid, LegalTypeInvalid, check_legal, company_id_ok, national_id_ok
from money.sheba import (
    EXAMPLE_SHEBA,
    ShebaChecksum,
    ShebaInvalid,
    ShebaNotIranian,
    ShebaUnknownBank,
    mask,
    parse_sheba,
)

PARSIAN = "IR050540000000000000000456"  # check digits computed by ISO 13616 mod-97
UNKNOWN_BANK = "IR780990000000000000000123"  # valid check digits, bank code 099 belongs to no bank


def test_a_valid_sheba_is_compacted_and_its_bank_recognised():
    sheba = parse_sheba("ir05 0540 0000 0000 0000 0004 56")
    assert sheba.iban == PARSIAN
    assert (sheba.bank.code, sheba.bank.name_fa) == ("054", "بانک پارسیان")
    assert parse_sheba(EXAMPLE_SHEBA).bank.name == "Bank Melli Iran"


def test_persian_digits_are_read():
    digits = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    assert parse_sheba("IR" + PARSIAN[2:].translate(digits)).iban == PARSIAN


@pytest.mark.parametrize("raw, error, code", [
    (PARSIAN[:-1] + "7", ShebaChecksum, "sheba_checksum"),  # one digit mistyped
    ("IR50" + PARSIAN[4:], ShebaChecksum, "sheba_checksum"),
    ("DE89370400440532013000", ShebaNotIranian, "sheba_not_iranian"),  # a valid German IBAN
    (UNKNOWN_BANK, ShebaUnknownBank, "sheba_unknown_bank"),
    ("IR05054000000000000000045", ShebaInvalid, "sheba_invalid"),  # 23 digits
    ("IR05054000000000000000045A", ShebaInvalid, "sheba_invalid"),
    ("", ShebaInvalid, "sheba_invalid"),
])
def test_each_broken_rule_has_its_own_problem(raw, error, code):
    with pytest.raises(error) as info:
        parse_sheba(raw)
    problem = info.value.to_problem()
    assert problem["status"] == 422 and problem["code"] == code
    assert problem["detail_fa"] and code in CATALOGUE


def test_the_unknown_bank_problem_names_the_code_in_persian_digits():
    with pytest.raises(ShebaUnknownBank) as info:
        parse_sheba(UNKNOWN_BANK)
    assert "۰۹۹" in info.value.detail_fa and info.value.extra["bank_code"] == "099"


def test_masking_keeps_the_bank_and_the_last_four_digits():
    assert mask(PARSIAN) == "IR05054" + "*" * 15 + "0456"


def test_national_ids_by_their_check_digit():
    assert national_id_ok("0084575948")  # a published example
    assert not national_id_ok("0084575949") and not national_id_ok("1111111111") and not national_id_ok("008457594")
    assert check_legal("individual", "۰۰۸۴۵۷۵۹۴۸") == "0084575948"
    assert company_id_ok("14100012340") and not company_id_ok("14100012341")
    assert check_legal("company", "14100012340") == "14100012340"
    with pytest.raises(LegalIdInvalid):
        check_legal("company", "0084575948")  # a person's id for a company
    with pytest.raises(LegalTypeInvalid):
        check_legal("partnership", "0084575948")
