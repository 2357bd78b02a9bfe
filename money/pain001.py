"""A payout batch as an ISO 20022 customer credit transfer initiation, pain.001.001.09.

Why version 09 rather than the older 03: 09 is the 2019 edition that SWIFT's CBPR+ and the EPC's SEPA
rulebooks moved to (03, from 2009, is being retired), so it is what a bank's host-to-host channel is likeliest
to take for years; it also names the agent by ``BICFI`` or any other identifier (``Othr``), which Iranian
banks, known by their CBI code rather than a BIC, need.

Amounts are rials: ISO 4217 gives IRR no minor unit, so every amount is written as a whole number. One payment
information block per batch, one transaction per remittance; its EndToEndId is the remittance id, so the
bank's report (and the bank reference recorded back) names the remittance it paid.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from xml.etree import ElementTree as ET

from kernel.errors import Conflict

from .remittance import SCHEDULED, Remittance
from .sheba import parse_sheba

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"
XSD = Path(__file__).with_name("data") / "xsd" / "pain.001.001.09.xsd"
CURRENCY = "IRR"
MAX_NAME, MAX_ID, MAX_REMITTANCE_INFO = 140, 35, 140  # Max140Text, Max35Text, Max140Text


class RemittanceNotPayable(Conflict):
    code = "remittance_not_payable"
    title = "Remittance is not scheduled for payment"


@dataclass(frozen=True, slots=True)
class Party:
    """Who pays or is paid: a name (Persian is fine: the file is UTF-8) and a Sheba account."""

    name: str
    sheba: str


def _sub(parent: ET.Element, tag: str) -> ET.Element:
    return ET.SubElement(parent, f"{{{NAMESPACE}}}{tag}")


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    el = _sub(parent, tag)
    el.text = text
    return el


def _agent(parent: ET.Element, tag: str, sheba: str) -> None:
    # An Iranian bank is named by its CBI code, the digits the Sheba number carries after IRkk.
    _text(_sub(_sub(_sub(parent, tag), "FinInstnId"), "Othr"), "Id",
          parse_sheba(sheba).bank.code)


def _account(parent: ET.Element, tag: str, sheba: str, currency: bool = False) -> None:
    acct = _sub(parent, tag)
    _text(_sub(acct, "Id"), "IBAN", parse_sheba(sheba).iban)
    if currency:
        _text(acct, "Ccy", CURRENCY)


def description(rem: Remittance) -> str:
    return f"Barid COD remittance {rem.id} ({len(rem.lines)} parcels)"[:MAX_REMITTANCE_INFO]


def build(batch_id: str, payer: Party, items: Sequence[tuple[Remittance, Party]], execution_date: date,
          created_at: datetime | None = None) -> bytes:
    """The pain.001 document (UTF-8 bytes) paying each scheduled remittance to its shop's account."""
    if not items:
        raise RemittanceNotPayable("a payout file needs at least one remittance", "فایل پرداخت دست‌کم یک حواله لازم دارد")
    for rem, _ in items:
        if rem.status != SCHEDULED or rem.total <= 0:
            raise RemittanceNotPayable(
                f"remittance {rem.id} is {rem.status} (total {rem.total}); only scheduled ones with a positive "
                "total are paid", f"حوالهٔ {rem.id} در وضعیت زمان‌بندی‌شده با مبلغ مثبت نیست و در فایل پرداخت نمی‌آید",
                extra={"remittance_id": rem.id, "remittance_status": rem.status})
    count, total = str(len(items)), str(sum(rem.total for rem, _ in items))
    created = (created_at or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0, tzinfo=None)
    ET.register_namespace("", NAMESPACE)
    doc = ET.Element(f"{{{NAMESPACE}}}Document")
    root = _sub(doc, "CstmrCdtTrfInitn")
    hdr = _sub(root, "GrpHdr")
    _text(hdr, "MsgId", batch_id[:MAX_ID])
    _text(hdr, "CreDtTm", created.isoformat())
    _text(hdr, "NbOfTxs", count)
    _text(hdr, "CtrlSum", total)
    _text(_sub(hdr, "InitgPty"), "Nm", payer.name[:MAX_NAME])
    pmt = _sub(root, "PmtInf")
    _text(pmt, "PmtInfId", batch_id[:MAX_ID])
    _text(pmt, "PmtMtd", "TRF")
    _text(pmt, "NbOfTxs", count)
    _text(pmt, "CtrlSum", total)
    _text(_sub(pmt, "ReqdExctnDt"), "Dt", execution_date.isoformat())
    _text(_sub(pmt, "Dbtr"), "Nm", payer.name[:MAX_NAME])
    _account(pmt, "DbtrAcct", payer.sheba, currency=True)
    _agent(pmt, "DbtrAgt", payer.sheba)
    for rem, payee in items:
        tx = _sub(pmt, "CdtTrfTxInf")
        pid = _sub(tx, "PmtId")
        _text(pid, "InstrId", rem.id[:MAX_ID])
        _text(pid, "EndToEndId", rem.id[:MAX_ID])
        _text(_sub(tx, "Amt"), "InstdAmt", str(rem.total)).set("Ccy", CURRENCY)
        _agent(tx, "CdtrAgt", payee.sheba)
        _text(_sub(tx, "Cdtr"), "Nm", payee.name[:MAX_NAME])
        _account(tx, "CdtrAcct", payee.sheba)
        _text(_sub(tx, "RmtInf"), "Ustrd", description(rem))
    return ET.tostring(doc, encoding="utf-8", xml_declaration=True)


@functools.cache
def schema():
    import xmlschema  # only when a file is checked: the schema takes a moment to compile

    return xmlschema.XMLSchema(str(XSD))


def validate(document: bytes) -> None:
    """Raise xmlschema's error when the document breaks the official schema (export checks every file)."""
    schema().validate(document.decode("utf-8"))
