"""Normalisation and validation of Iranian postal inputs: digits, postal codes, mobiles, provinces, free text.

Every function takes what a shop or a customer typed (Persian or Arabic digits and letters, spaces, hyphens)
and returns one canonical form, or raises ``PostalError`` carrying a stable ``code`` and bilingual messages.
Pure Python, no I/O after import: the province list is read once from ``data/provinces.json``.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from kernel.errors import RuleViolation


class PostalError(RuleViolation):
    """An input that is not a valid Iranian postal value (the ``code`` says which rule it broke)."""

    title = "Invalid postal value"


# --- digits -------------------------------------------------------------------------------------------------

_PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
_ARABIC_INDIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
_DIGITS_TO_ASCII = str.maketrans(_PERSIAN_DIGITS + _ARABIC_INDIC_DIGITS, "0123456789" * 2)
_ASCII_TO_PERSIAN = str.maketrans("0123456789", _PERSIAN_DIGITS)


def normalize_digits(s: str) -> str:
    """Persian (U+06F0..) and Arabic-Indic (U+0660..) digits to ASCII; everything else unchanged."""
    return s.translate(_DIGITS_TO_ASCII)


def fa_digits(value: object) -> str:
    """``value`` as text with Persian digits: the one digit formatter of every page, sheet, message and label."""
    return str(value).translate(_ASCII_TO_PERSIAN)


def tel_href(phone: str) -> str:
    """A ``tel:`` URI for a phone number as booked (Persian or ASCII digits, spaces, dashes)."""
    text = normalize_digits(str(phone))
    digits = "".join(ch for ch in text if ch.isascii() and ch.isdigit())
    return "tel:" + ("+" if text.lstrip().startswith("+") else "") + digits


def fa_decimal(value: float, places: int = 1) -> str:
    """A decimal in Persian digits with the Persian decimal separator (٫), e.g. ۱۲٫۵."""
    return fa_digits(f"{value:.{places}f}").replace(".", "٫")


def fa_rials(rials: int) -> str:
    """An amount with Persian digits and the Persian thousands separator (٬), e.g. ۱۲٬۰۰۰."""
    return fa_digits(f"{rials:,}").replace(",", "٬")


def _digits_input(raw: object) -> str | None:
    """Accept str or non-negative int (never bool, which is an int but never a code); None for anything else."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return str(raw) if raw >= 0 else None  # "-1314713813" would otherwise lose its sign as a group mark
    if isinstance(raw, str):
        return normalize_digits(raw)
    return None


# Hyphen/dash look-alikes (and ZWNJ, which Persian keyboards slip in) typed between digit groups.
_DIGIT_GROUP_MARKS = dict.fromkeys(map(ord, "-\u2010\u2011\u2012\u2013\u2212\u200c"))


def _strip_digit_grouping(s: str) -> str:
    """Remove whitespace of any kind and group marks: "۱۳۱۴۷-۱۳۸۱۳" and "1314 713 813" are plain digits."""
    return "".join(s.split()).translate(_DIGIT_GROUP_MARKS)


# --- postal code ----------------------------------------------------------------------------------------------

# The one place the postal-code rule lives. Source: the community rule used by Iranian developers, as published in
# e.g. milwad-dev/laravel-validate (src/Rules/ValidIranPostalCode.php, identical anchored pattern) and
# alirezavafi/persian-plus (PostalCodeExtensions.cs). It is a plausibility check, not a checksum (Iran Post
# publishes none): no 0 or 2 in the first four digits, fifth digit not 0, 2 or 5, no 2 in the last five, and the
# first four digits not all equal. re.ASCII keeps \d to 0-9.
POSTAL_CODE_RULE = re.compile(r"^(?!(\d)\1{3})[13-9]{4}[1346-9][013-9]{5}$", re.ASCII)
_TEN_DIGITS = re.compile(r"[0-9]{10}", re.ASCII)


def normalize_postal_code(raw: object) -> str:
    """The 10 ASCII digits of an Iranian postal code given as str/int, Persian/Arabic digits, spaces, hyphens."""
    # Already canonical (most input): one regex instead of the whole normalisation.
    if type(raw) is str and len(raw) == 10 and raw.isascii() and raw.isdigit() and POSTAL_CODE_RULE.match(raw):
        return raw
    text = _digits_input(raw)
    digits = _strip_digit_grouping(text) if text is not None else ""
    if not _TEN_DIGITS.fullmatch(digits):
        raise PostalError(
            "postal_code_format",
            "Postal code must be exactly 10 digits.",
            "کد پستی باید دقیقاً ۱۰ رقم باشد.",
        )
    if not POSTAL_CODE_RULE.match(digits):
        raise PostalError(
            "postal_code_invalid",
            "This is not a valid Iranian postal code.",
            "این کد پستی معتبر نیست.",
        )
    return digits


# --- mobile -------------------------------------------------------------------------------------------------

# Optional international prefix (+98, 0098, 98; a stray trunk 0 after it is tolerated, "+98 (0)912...") or the
# domestic trunk 0, then the 10-digit mobile number, which always starts with 9.
_PARENTHESES = dict.fromkeys(map(ord, "()"))
_MOBILE = re.compile(r"(?:(?:\+|00)?980?|0)?(9[0-9]{9})", re.ASCII)


def normalize_mobile(raw: object) -> str:
    """An Iranian mobile number as ``09xxxxxxxxx``."""
    if type(raw) is str and len(raw) == 11 and raw.startswith("09") and raw.isascii() and raw.isdigit():
        return raw  # already canonical: most input
    text = _digits_input(raw)
    match = _MOBILE.fullmatch(_strip_digit_grouping(text).translate(_PARENTHESES)) if text is not None else None
    if match is None:
        raise PostalError(
            "phone_invalid",
            "Mobile number must be an Iranian mobile number, e.g. 09121234567.",
            "شماره همراه باید یک شماره موبایل ایرانی باشد، مانند ۰۹۱۲۱۲۳۴۵۶۷.",
        )
    return "0" + match.group(1)


# --- free text ------------------------------------------------------------------------------------------------

_TATWEEL = "\u0640"
_ZWNJ = "\u200c"
# Arabic keyboards and old systems emit Arabic yeh/kaf; Persian text uses its own code points. Tatweel is only
# visual stretching. Control whitespace becomes a space so it is collapsed like any other.
_LETTERS_TO_PERSIAN = str.maketrans(
    {"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9", _TATWEEL: None, "\t": " ", "\n": " ", "\r": " "}
)
# Format characters kept in text: ZWNJ is part of Persian spelling ("می‌رود"), ZWJ of some emoji sequences.
_KEPT_FORMAT_CHARS = frozenset((_ZWNJ, "\u200d"))
_DROPPED_CATEGORIES = frozenset(("Cc", "Cf", "Cs"))


def _strip_controls(s: str) -> str:
    # Fast path: printable text (most Latin input) has nothing to strip. Persian text with ZWNJ takes the slow
    # path, which is per character but on strings bounded by max_len.
    if s.isprintable():
        return s
    return "".join(
        c for c in s if c in _KEPT_FORMAT_CHARS or unicodedata.category(c) not in _DROPPED_CATEGORIES
    )


strip_controls = _strip_controls  # for free text that is not normalised as a name (order ids, descriptions)


_ZWNJ_RUN = re.compile(_ZWNJ + "{2,}")


def _collapse_whitespace(s: str) -> str:
    if _ZWNJ not in s:
        return " ".join(s.split())
    # A ZWNJ only joins letters: one beside a space or at an edge is invisible noise, and a run is one ZWNJ.
    words = (word.strip(_ZWNJ) for word in s.split())
    return _ZWNJ_RUN.sub(_ZWNJ, " ".join(word for word in words if word))


# What normalize_text would change in printable text: Arabic letters, tatweel, doubled spaces.
_NEEDS_NORMALISING = re.compile("[\u0640\u0643\u0649\u064a]|  ")


def normalize_text(raw: object, max_len: int, *, error_code: str = "text_invalid") -> str:
    """Names and addresses: Persian letters, control and bidi-override characters removed, whitespace collapsed.

    Raises PostalError(error_code) when the result is empty or longer than max_len characters.
    """
    # Most text is already clean: printable (so its only whitespace is plain spaces, and no ZWNJ or controls),
    # no edge spaces, nothing to translate. Then the answer is the input itself.
    if (type(raw) is str and 0 < len(raw) <= max_len and raw.isprintable() and raw[0] != " " and raw[-1] != " "
            and _NEEDS_NORMALISING.search(raw) is None):
        return raw
    text = ""
    if isinstance(raw, str):
        text = _collapse_whitespace(_strip_controls(raw.translate(_LETTERS_TO_PERSIAN)))
    if not text or len(text) > max_len:
        raise PostalError(
            error_code,
            f"Must be non-empty text of at most {max_len} characters.",
            f"باید متنی غیرخالی با حداکثر {fa_digits(max_len)} نویسه باشد.",
        )
    return text


CITY_MAX_LEN = 64


def normalize_city(raw: object) -> str:
    return normalize_text(raw, CITY_MAX_LEN, error_code="city_invalid")


# --- provinces ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Province:
    code: str
    name_fa: str
    name_en: str
    aliases: tuple[str, ...]
    capital_lat: float  # where a parcel with nothing better to go on is routed from
    capital_lon: float


# Matching only (never shown): heh-with-yeh and teh marbuta fold to heh so "کهگیلویه"/"كهگيلوية" meet; the
# rest of the letter folding is shared with normalize_text.
_MATCH_FOLD = str.maketrans({"\u06c0": "\u0647", "\u0629": "\u0647", _ZWNJ: None})
_MATCH_TOKEN_SPLIT = re.compile(r"[\s\-_.,()/&'\u2019]+")
# Words that decorate a place name without identifying it: "Ostan-e", "Province", the conjunction in
# "Sistan and Baluchestan" / "سیستان و بلوچستان", the ezafe in "Khorasan-e Razavi".
_MATCH_NOISE = frozenset(("استان", "ostan", "province", "the", "and", "va", "o", "e", "و"))


# Place names repeat endlessly (31 provinces, a few hundred cities), and this runs several times per booking.
@functools.lru_cache(maxsize=8192)
def place_match_key(name: str) -> str:
    """A spelling-insensitive key for comparing place names (provinces, cities); never shown to anyone.

    NFKD then combining marks dropped (harakat, the madda of آ, the hamza of أ, Latin accents), Persian letters,
    case-folded, decorative words and all separators (spaces, ZWNJ, hyphens) removed."""
    decomposed = unicodedata.normalize("NFKD", name).translate(_LETTERS_TO_PERSIAN).translate(_MATCH_FOLD)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return "".join(t for t in _MATCH_TOKEN_SPLIT.split(bare) if t and t not in _MATCH_NOISE)


_PROVINCES_PATH = Path(__file__).with_name("data") / "provinces.json"
_PROVINCE_COUNT = 31


def _load_provinces(path: Path) -> tuple[tuple[Province, ...], dict[str, Province]]:
    entries = json.loads(path.read_text(encoding="utf-8"))
    provinces = tuple(
        Province(e["code"], e["name_fa"], e["name_en"], tuple(e["aliases"]), e["capital_lat"], e["capital_lon"])
        for e in entries
    )
    if len(provinces) != _PROVINCE_COUNT:
        raise ValueError(f"{path}: expected {_PROVINCE_COUNT} provinces, found {len(provinces)}")
    by_key: dict[str, Province] = {}
    for province in provinces:
        for name in (province.code, province.name_fa, province.name_en, *province.aliases):
            key = place_match_key(name)
            if not key:
                raise ValueError(f"{path}: {province.code} has a name that is only decoration: {name!r}")
            claimed = by_key.setdefault(key, province)
            if claimed is not province:  # a data error would make lookups silently ambiguous
                raise ValueError(f"{path}: {name!r} matches both {claimed.code} and {province.code}")
    return provinces, by_key


_PROVINCES, _PROVINCE_BY_KEY = _load_provinces(_PROVINCES_PATH)
_CANONICAL_PROVINCE_NAMES = frozenset(p.name_fa for p in _PROVINCES)


def provinces() -> list[Province]:
    return list(_PROVINCES)


def canonical_province_names() -> frozenset[str]:
    """The 31 names normalize_province answers with (and returns unchanged)."""
    return _CANONICAL_PROVINCE_NAMES


def province_by_name(name: str) -> Province | None:
    """The province a Persian, Arabic-lettered or English name (or alias, or code) designates, else None."""
    return _PROVINCE_BY_KEY.get(place_match_key(name))


def normalize_province(raw: object) -> str:
    """The canonical Persian name of the province raw designates."""
    if type(raw) is str and raw in _CANONICAL_PROVINCE_NAMES:  # most input already is one
        return raw
    province = province_by_name(raw) if isinstance(raw, str) else None
    if province is None:
        raise PostalError(
            "province_unknown",
            "Unknown province; use one of Iran's 31 provinces, in Persian or English.",
            "استان نامعتبر است؛ نام یکی از ۳۱ استان ایران را به فارسی یا انگلیسی وارد کنید.",
        )
    return province.name_fa
