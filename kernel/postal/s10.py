"""UPU S10 item identifiers ("tracking numbers"): two-letter service indicator, 8-digit serial, check digit,
ISO 3166-1 country code, e.g. ``EP123456785IR``.

Check digit (UPU S10 standard): weights 8 6 4 2 3 5 9 7 over the serial, S = weighted sum, C = 11 - (S mod 11),
then C = 10 -> 0 and C = 11 -> 5. The standard's worked example is serial 47312482 -> 9 (``RR473124829GB``).
"""

from __future__ import annotations

import re

from kernel import fast
from kernel.errors import BaridError
from kernel.postal.text import normalize_digits


class S10Error(BaridError):
    """A tracking number that is malformed, has a wrong check digit, or was not issued by the expected country."""

    code = "tracking_number_invalid"
    title = "Invalid tracking number"

    def __init__(self, message: str, message_fa: str) -> None:
        super().__init__(message, message_fa)
        self.message = message
        self.message_fa = message_fa


SERIAL_MAX = fast.s10.SERIAL_MAX
_TWO_LETTERS = re.compile(r"[A-Z]{2}", re.ASCII)
_S10 = re.compile(r"([A-Z]{2})([0-9]{8})([0-9])([A-Z]{2})", re.ASCII)
# The check digit is computed in one place, the S10 kernel (kernel/_s10_py.py, compiled as kernel._s10_c).
check_digit = fast.check_digit


def format_tracking_number(indicator: str, serial: int, country: str = "IR") -> str:
    """Programming errors (bad indicator, country or serial range) raise ValueError, never S10Error."""
    if (indicator, country) not in _CHECKED_LETTERS:
        if not _TWO_LETTERS.fullmatch(indicator) or not _TWO_LETTERS.fullmatch(country):
            raise ValueError(f"S10 indicator and country must be two upper-case letters: {indicator!r}, {country!r}")
        if len(_CHECKED_LETTERS) < 4096:  # a handful of services; bounded against odd callers anyway
            _CHECKED_LETTERS.add((indicator, country))
    return fast.s10_number(indicator, serial, country)  # compiled: every booking formats one


_CHECKED_LETTERS: set[tuple[str, str]] = set()


def parse_tracking_number(s: str, country: str | None = "IR") -> tuple[str, int]:
    """(service indicator, serial) of a tracking number as people type it: any case, spaces between groups,
    Persian or Arabic digits. country=None accepts any issuing country."""
    text = "".join(normalize_digits(s).split()) if isinstance(s, str) else ""
    # ASCII before upper(): "ı".upper() is "I", which must not turn a typo into a valid country code.
    match = _S10.fullmatch(text.upper()) if text.isascii() else None
    if match is None:
        raise S10Error(
            "Tracking number must look like EP123456785IR: 2 letters, 9 digits, 2 letters.",
            "کد رهگیری باید به شکل EP123456785IR باشد: ۲ حرف، ۹ رقم، ۲ حرف.",
        )
    indicator, serial_text, check, issuer = match.groups()
    serial = int(serial_text)
    if check_digit(serial) != int(check):
        raise S10Error(
            "Tracking number check digit is wrong; it was probably mistyped.",
            "رقم کنترل کد رهگیری نادرست است؛ احتمالاً اشتباه تایپ شده است.",
        )
    if country is not None and issuer != country:
        raise S10Error(
            f"Tracking number was not issued in {country}.",
            f"این کد رهگیری متعلق به {country} نیست.",
        )
    return indicator, serial


def is_valid(s: str, country: str | None = "IR") -> bool:
    try:
        parse_tracking_number(s, country)
    except S10Error:
        return False
    return True
