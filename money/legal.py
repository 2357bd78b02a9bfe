"""Who a shop is in law: a person (national id, کد ملی) or a company (national id of a legal entity, شناسه ملی).

Both numbers carry a check digit, so a mistyped one is caught here rather than by the bank or the tax office.
"""

from __future__ import annotations

from kernel.errors import BaridError
from kernel.postal.text import normalize_digits

LEGAL_TYPES = ("individual", "company")
_COMPANY_WEIGHTS = (29, 27, 23, 19, 17, 29, 27, 23, 19, 17)


class LegalIdInvalid(BaridError):
    code = "legal_id_invalid"
    title = "National id is not valid"


class LegalTypeInvalid(BaridError):
    code = "legal_type_invalid"
    title = "Legal type must be individual or company"


def national_id_ok(code: str) -> bool:
    """A person's 10-digit national id: the last digit checks the weighted sum (10..2) of the first nine."""
    if len(code) != 10 or not code.isascii() or not code.isdigit() or len(set(code)) == 1:
        return False
    s = sum(int(code[i]) * (10 - i) for i in range(9)) % 11
    check = int(code[9])
    return check == s if s < 2 else check == 11 - s


def company_id_ok(code: str) -> bool:
    """A legal entity's 11-digit national id: the tenth digit plus two is added to each of the first ten, which
    are weighted 29, 27, 23, 19, 17 (twice); the sum mod 11 (10 counts as 0) is the last digit."""
    if len(code) != 11 or not code.isascii() or not code.isdigit() or len(set(code)) == 1:
        return False
    d = int(code[9]) + 2
    s = sum((d + int(code[i])) * w for i, w in enumerate(_COMPANY_WEIGHTS)) % 11
    return (0 if s == 10 else s) == int(code[10])


def check_legal(legal_type: str, national_id: str) -> str:
    """The id in ASCII digits, once it fits the legal type; a problem naming the rule otherwise."""
    if legal_type not in LEGAL_TYPES:
        raise LegalTypeInvalid(f"legal type must be one of {', '.join(LEGAL_TYPES)}, not {legal_type!r}",
                               "نوع شخصیت حقوقی باید individual (شخص حقیقی) یا company (شخص حقوقی) باشد")
    code = normalize_digits(national_id.strip()).replace("-", "")
    if legal_type == "individual" and not national_id_ok(code):
        raise LegalIdInvalid("a person's national id is 10 digits whose last digit checks the others",
                             "کد ملی باید ۱۰ رقم با رقم کنترلی درست باشد")
    if legal_type == "company" and not company_id_ok(code):
        raise LegalIdInvalid("a company's national id is 11 digits whose last digit checks the others",
                             "شناسه ملی شخص حقوقی باید ۱۱ رقم با رقم کنترلی درست باشد")
    return code
