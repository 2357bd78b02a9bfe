"""A payout batch as the CSV Iranian banks' internet-bank portals take for a group transfer (واریز گروهی پایا).

The portals differ in small ways, but all take one row per transfer with these five things: the Sheba number,
the amount in rials, the account holder's name, a description and a payment reference. The file is UTF-8 with
a byte-order mark (the portals and Excel then read Persian names right) and a header row in Persian; amounts
are plain digits, with no separators, as the portals parse them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from .pain001 import Party, RemittanceNotPayable, description
from .remittance import SCHEDULED, Remittance
from .sheba import parse_sheba

HEADER = ("شماره شبا", "مبلغ (ریال)", "نام صاحب حساب", "شرح", "شناسه واریز")
BOM = "\ufeff"


def build(items: Sequence[tuple[Remittance, Party]]) -> bytes:
    """The CSV (UTF-8 with BOM) paying each scheduled remittance to its shop's account."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(HEADER)
    for rem, payee in items:
        if rem.status != SCHEDULED or rem.total <= 0:
            raise RemittanceNotPayable(
                f"remittance {rem.id} is {rem.status} (total {rem.total}); only scheduled ones with a positive "
                "total are paid", f"حوالهٔ {rem.id} در وضعیت زمان‌بندی‌شده با مبلغ مثبت نیست و در فایل پرداخت نمی‌آید",
                extra={"remittance_id": rem.id, "remittance_status": rem.status})
        w.writerow((parse_sheba(payee.sheba).iban, str(rem.total), payee.name, description(rem), rem.id))
    return (BOM + out.getvalue()).encode("utf-8")
