"""Sheba numbers: Iranian IBANs (IR + 2 check digits + 22 digits), checked before a rial is sent to one.

schwifty does the ISO 13616 part (characters, the country's length and format, mod-97 check digits); it knows
Iran's format but no Iranian bank codes, so the bank is recognised here from the three digits after "IRkk",
against the table in money/data/banks_ir.toml. A Sheba number is not a secret (shops print it on invoices), so
it is stored as given; listings show it masked all the same, as bank statements do.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from schwifty import IBAN
from schwifty.exceptions import InvalidChecksumDigits, SchwiftyException

from kernel.errors import BaridError
from kernel.postal.text import fa_digits, normalize_digits

# A valid Sheba number (Bank Melli, check digits right, no real account): the demo data, tests and load kit
# give it to their shops so they may book COD.
EXAMPLE_SHEBA = "IR110170000000123456789001"
BANKS_FILE = Path(__file__).with_name("data") / "banks_ir.toml"


class ShebaInvalid(BaridError):
    code = "sheba_invalid"
    title = "Sheba number is malformed"


class ShebaChecksum(ShebaInvalid):
    code = "sheba_checksum"
    title = "Sheba number's check digits are wrong"


class ShebaNotIranian(ShebaInvalid):
    code = "sheba_not_iranian"
    title = "Not an Iranian Sheba number"


class ShebaUnknownBank(ShebaInvalid):
    code = "sheba_unknown_bank"
    title = "Sheba number names no known Iranian bank"


@dataclass(frozen=True, slots=True)
class Bank:
    code: str
    name: str
    name_fa: str


@functools.cache
def banks() -> dict[str, Bank]:
    table = tomllib.loads(BANKS_FILE.read_text(encoding="utf-8"))
    return {code: Bank(code, row["en"], row["fa"]) for code, row in table.items()}


@dataclass(frozen=True, slots=True)
class Sheba:
    iban: str  # compact: IR and 24 digits
    bank: Bank

    @property
    def masked(self) -> str:
        return mask(self.iban)


def mask(iban: str) -> str:
    """IR, the check digits, the bank code and the last four digits; the account in between as asterisks."""
    return iban[:7] + "*" * (len(iban) - 11) + iban[-4:] if len(iban) > 11 else iban


def parse_sheba(raw: object) -> Sheba:
    """The Sheba number a shop typed (spaces, Persian digits and lower case allowed), checked, or a problem
    that says which rule it breaks."""
    if not isinstance(raw, str) or not raw.strip():
        raise ShebaInvalid("a Sheba number is required (IR followed by 24 digits)",
                           "شماره شبا لازم است (IR و پس از آن ۲۴ رقم)")
    text = normalize_digits(raw).replace(" ", "").replace("-", "").upper()
    if not text.startswith("IR"):
        raise ShebaNotIranian(f"{text[:2]!r} is not Iran: a Sheba number starts with IR",
                              "شماره شبا باید با IR آغاز شود؛ این شماره حساب بانکی ایران نیست")
    if len(text) != 26 or not text[2:].isdigit():
        raise ShebaInvalid(f"a Sheba number is IR followed by 24 digits; got {len(text) - 2} characters after IR",
                           "شماره شبا باید IR و پس از آن دقیقاً ۲۴ رقم باشد")
    try:
        iban = IBAN(text)
    except InvalidChecksumDigits:
        raise ShebaChecksum("the Sheba number's check digits do not match (ISO 13616 mod-97): a digit is mistyped",
                            "رقم کنترلی شماره شبا درست نیست؛ یکی از رقم‌ها اشتباه وارد شده است") from None
    except SchwiftyException as exc:
        raise ShebaInvalid(f"not a valid Sheba number: {exc}", "شماره شبا معتبر نیست") from None
    compact = iban.compact
    bank = banks().get(compact[4:7])
    if bank is None:
        raise ShebaUnknownBank(f"bank code {compact[4:7]} in this Sheba number is not a known Iranian bank",
                               f"کد بانک {fa_digits(compact[4:7])} در این شماره شبا به هیچ بانک ایرانی تعلق ندارد",
                               extra={"bank_code": compact[4:7]})
    return Sheba(compact, bank)
