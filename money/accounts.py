"""A shop's payout account and legal identity, written into the shop's record, and the COD rule applied to it.

Booking owns the shop record and knows nothing of money: the fields here are checked (Sheba with schwifty, the
national ids by their check digits, the Enamad code, the settlement plan against the policy) and stored as plain
fields of the shop's hash, which booking shows masked; the COD rule reaches booking as a callable handed to its
shop directory at assembly (gateway/web_app.py), so the booking path reads a decision, not the policy.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from booking.shops import Shop, ShopRegistry
from kernel.errors import BaridError
from kernel.postal.text import normalize_digits
from kernel.store import keys

from .legal import check_legal
from .policy import policy
from .sheba import EXAMPLE_SHEBA, parse_sheba


class EnamadInvalid(BaridError):
    code = "enamad_invalid"
    title = "Enamad code is not valid"


class SettlementPlanUnknown(BaridError):
    code = "settlement_plan_unknown"
    title = "No such settlement plan"


def bank_fields(sheba: str, verified: bool) -> dict[str, str]:
    """The shop-record fields of a checked Sheba account (a bad number raises before anything is written). Its
    bank's names go with it, so listings name the bank without the bank table."""
    parsed = parse_sheba(sheba)
    return {"sheba": parsed.iban, "sheba_verified": "1" if verified else "0", "sheba_bank": parsed.bank.name,
            "sheba_bank_fa": parsed.bank.name_fa}


def example_bank() -> dict[str, str]:
    """A verified account with a valid (but no real) Sheba: for the demo data, tests and the load kit's shops."""
    return bank_fields(EXAMPLE_SHEBA, verified=True)


def check_enamad(enamad_id: str) -> str:
    code = normalize_digits(enamad_id.strip())
    if not (code.isascii() and code.isdigit() and 4 <= len(code) <= 20):
        raise EnamadInvalid("an Enamad code is 4 to 20 digits", "کد اینماد باید ۴ تا ۲۰ رقم باشد")
    return code


def cod_rule(shop: Shop) -> str | None:
    """The problem code a COD booking of this shop gets under the policy, or None when it may book COD."""
    return policy().cod_refusal(sheba_verified=shop.sheba is not None and shop.sheba_verified,
                                enamad_id=shop.enamad_id)


async def set_bank(redis: aioredis.Redis, shop_id: int, sheba: str, verified: bool = False) -> Shop:
    """Record the shop's payout account; a new number is unverified unless ``verified`` says otherwise."""
    fields = bank_fields(sheba, verified)
    registry = ShopRegistry(redis)
    await registry.get(shop_id)
    await redis.hset(keys.shop(shop_id), mapping=fields)
    return await registry.get(shop_id)


async def set_legal(redis: aioredis.Redis, shop_id: int, legal_type: str, national_id: str,
                    enamad_id: str | None = None, settlement_plan: str | None = None) -> Shop:
    """Record who the shop is in law (and its Enamad code, its settlement plan), all checked first."""
    fields: dict[str, Any] = {"legal_type": legal_type, "national_id": check_legal(legal_type, national_id)}
    if enamad_id is not None:
        fields["enamad_id"] = check_enamad(enamad_id)
    if settlement_plan is not None:
        if settlement_plan not in policy().plans:
            raise SettlementPlanUnknown(
                f"no settlement plan {settlement_plan!r}; plans: {', '.join(sorted(policy().plans))}",
                "چنین برنامهٔ تسویه‌ای در سیاست‌های مالی تعریف نشده است")
        fields["settlement_plan"] = settlement_plan
    registry = ShopRegistry(redis)
    await registry.get(shop_id)
    await redis.hset(keys.shop(shop_id), mapping=fields)
    return await registry.get(shop_id)


def public(shop: Shop) -> dict[str, Any]:
    """The shop as the operator's CLI prints it: booking's view with the COD rule applied."""
    return shop.with_cod_refusal(cod_rule(shop)).public()
