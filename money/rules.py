"""What each fact posts: pure functions from an outbox event (and the parcel's booking document) to a posting.

Signs: a debit is positive, a credit negative; each posting's entries sum to zero (the database checks it too).
The post's books: a shop's payable account is what the post owes the shop (a credit balance), a postman's cash
is cash in his hands the post is owed (a debit balance).

* booked: the shop is charged the fees its quote said (the price the booking stored): its payable is debited the
  total, shipping / COD fee / insurance revenue and VAT payable are credited.
* cod_collected: cash debits the postman's cash account (his office's when the scan names no postman), a card
  payment the Shaparak settlement receivable (with the RRN); the shop's payable is credited the amount.
* cancelled: the booking posting's exact reversal (the booking document still holds the price).
* returned_to_sender: the return fee (the tariff's ``[returns]`` rule, ``Tariff.return_fee``) and its VAT, charged
  to the shop; no COD was collected. A return leg (returns.legs) is priced at zero and posts nothing of its own: its
  delivery to the shop emits the original's one ``returned_to_sender``, so the fee posts once.
* accepted, of a buyer's return parcel (returns.buyer): the return fee its document carries, charged when the post
  accepts it, under the posting id ``return_fee_<tracking number>``, so a second acceptance scan posts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kernel.postal.tariff import Tariff
from kernel.postal.timeutil import IRAN_TIME

SHIPPING, COD_FEE, INSURANCE = "revenue:shipping", "revenue:cod_fee", "revenue:insurance"
VAT = "vat:payable"
CARD = "card_settlement:shaparak"
CLEARING = "post:clearing"
# The events the ledger reads; the others are acknowledged without a posting.
BOOKS = (b'"type":"booked"', b'"type":"cod_collected"', b'"type":"cancelled"', b'"type":"returned_to_sender"',
         b'"type":"delivered"', b'"type":"accepted"')
NEEDS_DOC = frozenset({"booked", "cancelled", "returned_to_sender", "delivered", "accepted"})


def shop_payable(shop_id: int) -> str:
    return f"shop:{shop_id}:payable"


def postman_cash(office: str, postman: str) -> str:
    return f"postman:{office}:{postman}:cash"


def office_cash(office: str) -> str:
    return f"office:{office}:cash"


@dataclass
class Posting:
    kind: str
    occurred_at: datetime
    entries: list[tuple[str, int, str | None]]  # (account, signed rials, RRN)
    event_id: str | None = None
    shop_id: int | None = None
    tracking_number: str | None = None
    office: str | None = None
    postman: str | None = None
    reason: str | None = None
    made_by: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def business_date(self) -> date:
        return self.occurred_at.astimezone(IRAN_TIME).date()

    def balanced(self) -> bool:
        return len(self.entries) >= 2 and sum(a for _, a, _ in self.entries) == 0


def _fees(shop_id: int, price: dict[str, Any]) -> list[tuple[str, int, str | None]]:
    credits = [(SHIPPING, int(price["base"])), (COD_FEE, int(price["cod_fee"])),
               (INSURANCE, int(price["insurance"])), (VAT, int(price["vat"]))]
    entries: list[tuple[str, int, str | None]] = [(acc, -amt, None) for acc, amt in credits if amt]
    total = -sum(a for _, a, _ in entries)
    if total:
        entries.insert(0, (shop_payable(shop_id), total, None))
    return entries


def posting_for(event: dict[str, Any], doc: dict[str, Any] | None) -> Posting | None:
    """The posting of one outbox event (None: nothing to post). ``doc`` is the parcel's booking document for the
    events in NEEDS_DOC (None when the parcel is gone: nothing can be priced, nothing is posted)."""
    kind = event["type"]
    shop_id = int(event["shop_id"])
    tn = event["tracking_number"]
    occurred = datetime.fromisoformat(event["occurred_at"])
    office = event.get("office")
    data = event.get("data") or {}
    common = {"event_id": event["id"], "shop_id": shop_id, "tracking_number": tn, "office": office}
    if kind == "cod_collected":
        amount = int(data["amount"])
        postman = data.get("postman")
        if data.get("method") == "card":
            debit = (CARD, amount, data.get("rrn"))
        else:
            debit = (postman_cash(office, postman) if postman else office_cash(office), amount, None)
        return Posting("cod_collected", occurred, [debit, (shop_payable(shop_id), -amount, None)],
                       postman=postman, facts={"method": data.get("method")}, **common)
    if doc is None:
        return None
    price = doc.get("price") or {}
    payment = doc.get("payment") or {}
    facts = {"payment_type": payment.get("type", "prepaid"),
             "cod_amount": int(payment.get("goods_value") or 0) if payment.get("type") == "cod" else 0,
             "delivering_office": doc.get("delivering_office")}
    if kind == "booked":
        entries = _fees(shop_id, price)
        return Posting("booking", occurred, entries, facts=facts, **common) if entries else None
    if kind == "cancelled":
        entries = [(acc, -amt, rrn) for acc, amt, rrn in _fees(shop_id, price)]
        return Posting("cancellation", occurred, entries, reason="booking cancelled by the shop",
                       made_by=f"shop:{shop_id}", facts=facts, **common) if entries else None
    if kind == "returned_to_sender":
        return _return_fee(shop_id, Tariff.load().return_fee(price), "return fee", occurred, facts, common)
    if kind == "accepted":  # only a buyer's return is charged when the post takes it in, and only once
        if doc.get("kind") != "buyer_return" or not doc.get("return_fee"):
            return None
        common["event_id"] = f"return_fee_{tn}"
        return _return_fee(shop_id, doc["return_fee"], "buyer return fee", occurred, facts, common)
    if kind == "delivered":  # no money moves at the hand-over: a fact for the cash close only
        return Posting("delivered", occurred, [], facts=facts, **common)
    return None


def _return_fee(shop_id: int, fee: dict[str, Any], reason: str, occurred: datetime, facts: dict[str, Any],
                common: dict[str, Any]) -> Posting | None:
    amount, vat = int(fee.get("fee") or 0), int(fee.get("vat") or 0)
    if not amount:
        return None
    entries: list[tuple[str, int, str | None]] = [(shop_payable(shop_id), amount + vat, None), (SHIPPING, -amount, None)]
    if vat:
        entries.append((VAT, -vat, None))
    return Posting("return", occurred, entries, reason=reason, facts=facts, **common)
