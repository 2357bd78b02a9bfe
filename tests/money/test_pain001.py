"""Payout files: pain.001.001.09 valid against ISO's schema, sums that match, whole rials, Persian names kept;
and the group-transfer CSV for Iranian banks' portals."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone
from xml.etree import ElementTree as ET

import pytest
import xmlschema

from money import groupcsv, pain001
from money.pain001 import NAMESPACE, Party, RemittanceNotPayable
from money.policy import Cycle, policy
from money.remittance import SENT, Line, make_remittance
from money.sheba import EXAMPLE_SHEBA

NS = {"p": NAMESPACE}
PARSIAN = "IR050540000000000000000456"
DAILY = Cycle(0, None, 0)
AS_OF = date(2026, 12, 15)


def _working(d: date) -> bool:
    return d.weekday() != 4


def _remittance(shop_id: int, *amounts: int):
    lines = [Line(f"EP{shop_id:04d}{i:05d}IR", "2026-12-01T09:00:00Z", a, shipping=350_000, cod_fee=60_000,
                  insurance=5_000, vat=37_350) for i, a in enumerate(amounts)]
    return make_remittance(shop_id, lines, AS_OF, DAILY, _working).remittance


def _batch():
    return [(_remittance(1, 12_000_000, 3_500_000), Party("کتاب‌فروشی آفتاب", EXAMPLE_SHEBA)),
            (_remittance(2, 98_765_432), Party("پوشاک «نیک‌پوش» ـ شعبهٔ ۲", PARSIAN))]


def _payer() -> Party:
    return Party(policy().payer_name, policy().payer_sheba)


def test_the_file_validates_against_the_official_schema():
    doc = pain001.build("BARID-20261215-1", _payer(), _batch(), AS_OF,
                        created_at=datetime(2026, 12, 15, 6, 0, tzinfo=timezone.utc))
    pain001.validate(doc)  # raises on any schema error
    assert xmlschema.XMLSchema(str(pain001.XSD)).is_valid(doc.decode())


def test_a_broken_file_is_caught_by_the_schema():
    doc = pain001.build("B1", _payer(), _batch(), AS_OF).decode()
    broken = doc.replace("<PmtMtd>TRF</PmtMtd>", "<PmtMtd>CASH</PmtMtd>")
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        pain001.validate(broken.encode())


def test_counts_and_control_sums_match_the_transactions_in_whole_rials():
    batch = _batch()
    root = ET.fromstring(pain001.build("B2", _payer(), batch, AS_OF))
    amounts = [a.text for a in root.iterfind(".//p:CdtTrfTxInf/p:Amt/p:InstdAmt", NS)]
    assert all(a.isdigit() for a in amounts)  # IRR has no minor unit: no decimal point, ever
    assert [int(a) for a in amounts] == [rem.total for rem, _ in batch]
    total = str(sum(rem.total for rem, _ in batch))
    for block in ("p:GrpHdr", "p:PmtInf"):
        assert root.findtext(f"./p:CstmrCdtTrfInitn/{block}/p:NbOfTxs", namespaces=NS) == "2"
        assert root.findtext(f"./p:CstmrCdtTrfInitn/{block}/p:CtrlSum", namespaces=NS) == total
    assert {a.get("Ccy") for a in root.iterfind(".//p:InstdAmt", NS)} == {"IRR"}
    assert root.findtext(".//p:CdtTrfTxInf/p:PmtId/p:EndToEndId", namespaces=NS) == batch[0][0].id
    # The bank of each account by its CBI code.
    assert [e.text for e in root.iterfind(".//p:CdtrAgt/p:FinInstnId/p:Othr/p:Id", NS)] == ["017", "054"]


def test_persian_names_survive():
    root = ET.fromstring(pain001.build("B3", _payer(), _batch(), AS_OF))
    assert [e.text for e in root.iterfind(".//p:Cdtr/p:Nm", NS)] == ["کتاب‌فروشی آفتاب", "پوشاک «نیک‌پوش» ـ شعبهٔ ۲"]
    assert root.findtext(".//p:Dbtr/p:Nm", namespaces=NS) == "شرکت ملی پست جمهوری اسلامی ایران"


def test_only_scheduled_remittances_are_paid():
    rem, payee = _batch()[0]
    with pytest.raises(RemittanceNotPayable) as info:
        pain001.build("B4", _payer(), [(rem.move(SENT), payee)], AS_OF)
    assert info.value.to_problem()["status"] == 409 and info.value.extra["remittance_id"] == rem.id
    with pytest.raises(RemittanceNotPayable):
        groupcsv.build([(rem.move(SENT), payee)])


def test_the_group_transfer_csv():
    batch = _batch()
    raw = groupcsv.build(batch)
    assert raw.startswith("\ufeff".encode())  # Excel and the portals read the Persian names right
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["شماره شبا", "مبلغ (ریال)", "نام صاحب حساب", "شرح", "شناسه واریز"]
    assert rows[1] == [EXAMPLE_SHEBA, str(batch[0][0].total), "کتاب‌فروشی آفتاب", pain001.description(batch[0][0]),
                       batch[0][0].id]
    assert rows[2][0] == PARSIAN and rows[2][2] == "پوشاک «نیک‌پوش» ـ شعبهٔ ۲"
    assert sum(int(r[1]) for r in rows[1:]) == sum(rem.total for rem, _ in batch)
