"""Which province a postal code belongs to, and the check that an address's claimed province agrees with it.

An Iranian postal code's leading digits name its region. The table is the post-office registry's postal regions
(``kernel/postal/data/offices.json``, "provinces"; sources in ``docs/coverage.md``): the same data that routes a parcel
to its delivering office, so a booking can never be routed by one province and priced by another.
"""

from __future__ import annotations

from typing import Any

from kernel.errors import FieldError
from kernel.postal.offices import postal_regions
from kernel.postal.text import canonical_province_names, fa_digits, province_by_name

MISMATCH = "postal_code_province_mismatch"


def _expand(regions: dict[str, str]) -> tuple[int, dict[str, str]]:
    """(n, table): every n-digit start of a postal code -> its province, longest region prefix first.

    A fixed length makes the check one slice and one dict lookup, in the compiled kernel as here."""
    names = canonical_province_names()
    unknown = sorted(set(regions.values()) - names)
    if unknown:
        raise ValueError(f"postal regions name unknown provinces: {unknown}")
    n = max(map(len, regions))
    table: dict[str, str] = {}
    for prefix in sorted(regions, key=len):  # shorter first, so a longer prefix overwrites its parent's digits
        width = n - len(prefix)
        for tail in range(10 ** width):
            table[prefix + (f"{tail:0{width}d}" if width else "")] = regions[prefix]
    return n, table


REGION_DIGITS, _PROVINCE_BY_START = _expand(postal_regions())


def region_table() -> tuple[int, dict[str, str]]:
    """(n, table) for the booking kernel: the first n digits of a postal code -> canonical province name."""
    return REGION_DIGITS, _PROVINCE_BY_START


def province_of_postal_code(postal_code: str) -> str | None:
    """The canonical (Persian) name of the province a normalised postal code belongs to, else None."""
    return _PROVINCE_BY_START.get(postal_code[:REGION_DIGITS])


def region_errors(party: dict[str, Any], prefix: str) -> list[FieldError]:
    """Errors for both fields when a party's normalised postal code and province name different provinces."""
    postal_code, claimed = party.get("postal_code"), party.get("province")
    if postal_code is None or claimed is None:
        return []  # missing or already refused; a quote gives no postal code at all
    actual = province_of_postal_code(postal_code)
    if actual is None or actual == claimed:
        return []
    real, given = province_by_name(actual), province_by_name(claimed)
    en = (f"Postal code {postal_code} belongs to {real.name_en} province, not {given.name_en}; "
          "the postal code decides where a parcel goes: correct the postal code or the province.")
    fa = (f"کد پستی {fa_digits(postal_code)} متعلق به استان {real.name_fa} است، نه {given.name_fa}؛ "
          "مقصد مرسوله را کد پستی تعیین می‌کند: کد پستی یا استان را اصلاح کنید.")
    return [FieldError(f"{prefix}.postal_code", MISMATCH, en, fa), FieldError(f"{prefix}.province", MISMATCH, en, fa)]
