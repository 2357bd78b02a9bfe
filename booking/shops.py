"""Shops and their API keys.

A key looks like ``bk_<shop_id>_<secret>``: the shop id tells which partition to ask, and only the key's
SHA-256 is stored. Rotating stores the new key's hash and keeps the old one valid for an overlap (default
24 h, as webhook secrets have) so a shop can roll the new key out without downtime; ``end_rotation`` (or a
rotation with no overlap) retires the old key at once. Disabling a shop stops its keys at once, because every
booking script re-checks hash, overlap and status inside the store (lua.GUARD).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
import redis.asyncio as aioredis

from kernel.errors import BaridError, NotFound, Unauthorized
from kernel.postal.timeutil import iso_ms
from kernel.store import keys

KEY_PREFIX = "bk_"


class InvalidApiKey(Unauthorized):
    code = "invalid_api_key"


class ShopNotFound(NotFound):
    code = "shop_not_found"
    title = "Shop not found"


class CodRequiresVerifiedSheba(BaridError):
    code = "cod_requires_verified_sheba"
    title = "Cash on delivery needs a verified Sheba account"


class CodRequiresEnamad(BaridError):
    code = "cod_requires_enamad"
    title = "Cash on delivery needs an Enamad code"


def cod_refused(code: str) -> BaridError:
    """The 422 a COD booking gets from a shop whose ``cod_refusal`` is ``code`` (the money policy's verdict)."""
    if code == CodRequiresEnamad.code:
        return CodRequiresEnamad(
            "this shop may not book cash-on-delivery parcels until its Enamad code is recorded",
            "ثبت مرسولهٔ پرداخت در محل برای این فروشگاه تا ثبت کد اینماد آن ممکن نیست")
    return CodRequiresVerifiedSheba(
        "this shop may not book cash-on-delivery parcels until its bank account (Sheba) is recorded and verified:"
        " the collected money would have nowhere to go",
        "ثبت مرسولهٔ پرداخت در محل برای این فروشگاه تا ثبت و تأیید شماره شبای حساب بانکی آن ممکن نیست؛"
        " پول دریافتی از خریدار جایی برای واریز ندارد")


DEFAULT_ROTATION_OVERLAP_S = 86400.0  # the default of Config.key_rotation_overlap_s

# The old hash and its deadline (by the store's clock, which lua.GUARD compares with) in one step.
_ROTATE = r"""
local old = redis.call('HGET', KEYS[1], 'key_hash')
redis.call('HSET', KEYS[1], 'key_hash', ARGV[1])
local overlap = tonumber(ARGV[2])
if old and overlap > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('HSET', KEYS[1], 'prev_key_hash', old, 'prev_key_until', now + overlap)
else
  redis.call('HDEL', KEYS[1], 'prev_key_hash', 'prev_key_until')
end
return 1
"""


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def parse_api_key(api_key: str) -> int:
    """Shop id named by a well-formed key; InvalidApiKey otherwise (nothing is looked up for garbage)."""
    if not api_key.startswith(KEY_PREFIX):
        raise InvalidApiKey("API key is malformed", "کلید API نامعتبر است")
    shop_part, sep, secret = api_key[len(KEY_PREFIX):].partition("_")
    if not sep or not shop_part.isdigit() or len(shop_part) > 12 or len(secret) < 20:
        raise InvalidApiKey("API key is malformed", "کلید API نامعتبر است")
    return int(shop_part)


def _new_key(shop_id: int) -> str:
    return f"{KEY_PREFIX}{shop_id}_{secrets.token_urlsafe(32)}"


@dataclass(frozen=True, slots=True)
class Shop:
    id: int
    name: str
    status: str
    key_hash: str
    sender: dict[str, Any] = field(default_factory=dict)
    enamad_id: str | None = None
    created_at: str = ""
    rate_per_s: float | None = None
    rate_burst: int | None = None
    prev_key_hash: str | None = None  # the key before the last rotation, valid until prev_key_until_ms
    prev_key_until_ms: int | None = None
    sms: bool = False  # buyer SMS on (notify sets the shop hash's ``sms`` field): quotes carry the SMS fee
    legal_type: str | None = None  # individual or company
    national_id: str | None = None  # a person's کد ملی or a company's شناسه ملی, check digit verified (money)
    sheba: str | None = None  # the payout account, IR + 24 digits, checked by money/sheba.py
    sheba_verified: bool = False
    sheba_bank: tuple[str, str] | None = None  # the account's bank, in English and Persian
    settlement_plan: str | None = None  # a plan of money/data/policy.toml; None: the default cycle
    delivery_verification: str | None = None  # the shop's proof-of-delivery setting (pod.policy); None: default
    # The money policy's verdict on COD for this record (None: may book COD), set by the shop directory with
    # the rule it was given at assembly, once per cached profile: a booking only reads it.
    cod_refusal: str | None = None

    def with_cod_refusal(self, code: str | None) -> Shop:
        return self if code == self.cod_refusal else replace(self, cod_refusal=code)

    def accepts(self, key_hash: str, now_ms: float | None = None) -> bool:
        """The key (by hash) is this shop's current key, or its previous one within the rotation overlap."""
        if key_hash == self.key_hash:
            return True
        if self.prev_key_hash is None or key_hash != self.prev_key_hash or self.prev_key_until_ms is None:
            return False
        return self.prev_key_until_ms > (time.time() * 1000 if now_ms is None else now_ms)

    @property
    def active(self) -> bool:
        return self.status == "active"

    def public(self) -> dict[str, Any]:
        out = {"shop_id": self.id, "name": self.name, "status": self.status, "enamad_id": self.enamad_id,
               "sender": self.sender, "created_at": self.created_at}
        if self.prev_key_until_ms is not None and self.prev_key_until_ms > time.time() * 1000:
            out["previous_key_valid_until"] = iso_ms(self.prev_key_until_ms / 1000)
        out["legal"] = {"type": self.legal_type,
                        "national_id_masked": _mask_id(self.national_id) if self.national_id else None}
        out["bank_account"] = None if self.sheba is None else {
            "sheba_masked": mask_sheba(self.sheba), "bank_code": self.sheba[4:7],
            "bank": self.sheba_bank[0] if self.sheba_bank else None,
            "bank_fa": self.sheba_bank[1] if self.sheba_bank else None, "verified": self.sheba_verified}
        out["settlement_plan"] = self.settlement_plan
        out["cod_allowed"] = self.cod_refusal is None
        if self.cod_refusal is not None:
            out["cod_refusal"] = self.cod_refusal
        return out

    @classmethod
    def from_hash(cls, shop_id: int, h: dict[bytes, bytes]) -> Shop:
        g = lambda k: h[k].decode() if k in h else None  # noqa: E731
        return cls(
            id=shop_id, name=g(b"name") or "", status=g(b"status") or "disabled", key_hash=g(b"key_hash") or "",
            sender=orjson.loads(h[b"sender"]) if b"sender" in h else {}, enamad_id=g(b"enamad_id") or None,
            created_at=g(b"created_at") or "",
            rate_per_s=float(h[b"rate"]) if b"rate" in h else None,
            rate_burst=int(h[b"burst"]) if b"burst" in h else None,
            prev_key_hash=g(b"prev_key_hash"),
            prev_key_until_ms=int(h[b"prev_key_until"]) if b"prev_key_until" in h else None,
            sms=h.get(b"sms") == b"1",
            legal_type=g(b"legal_type"), national_id=g(b"national_id"), sheba=g(b"sheba"),
            sheba_verified=h.get(b"sheba_verified") == b"1",
            sheba_bank=(g(b"sheba_bank") or "", g(b"sheba_bank_fa") or "") if b"sheba_bank" in h else None,
            settlement_plan=g(b"settlement_plan"),
            delivery_verification=g(b"delivery_verification"),
        )


def mask_sheba(iban: str) -> str:
    """IR, the check digits, the bank code and the last four digits; the account in between as asterisks."""
    return iban[:7] + "*" * (len(iban) - 11) + iban[-4:] if len(iban) > 11 else iban


def _mask_id(national_id: str) -> str:
    return "*" * (len(national_id) - 3) + national_id[-3:]


class ShopRegistry:
    """Operator-side shop management (CLI, tests, demo data)."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def create(self, name: str, *, sender: dict[str, Any] | None = None, enamad_id: str | None = None,
                     rate_per_s: float | None = None, rate_burst: int | None = None,
                     bank: Mapping[str, str] | None = None) -> tuple[Shop, str]:
        """A new shop and its API key; ``bank`` is its payout account's fields, already checked (money.accounts
        .bank_fields)."""
        shop_id = int(await self.redis.incr(keys.SHOP_SEQ))
        api_key = _new_key(shop_id)
        mapping: dict[str, Any] = {
            "name": name, "status": "active", "key_hash": hash_key(api_key),
            "sender": orjson.dumps(sender or {}), "created_at": iso_ms(time.time()),
        }
        if enamad_id:
            mapping["enamad_id"] = enamad_id
        if rate_per_s is not None:
            mapping["rate"] = rate_per_s
        if rate_burst is not None:
            mapping["burst"] = rate_burst
        if bank:
            mapping.update(bank)
        await self.redis.hset(keys.shop(shop_id), mapping=mapping)
        await self.redis.sadd(keys.SHOPS_ALL, shop_id)
        return await self.get(shop_id), api_key

    async def get(self, shop_id: int) -> Shop:
        h = await self.redis.hgetall(keys.shop(shop_id))
        if not h:
            raise ShopNotFound(f"shop {shop_id} does not exist", f"فروشگاه {shop_id} وجود ندارد")
        return Shop.from_hash(shop_id, h)

    async def list(self) -> list[Shop]:
        ids = sorted(int(i) for i in await self.redis.smembers(keys.SHOPS_ALL))
        pipe = self.redis.pipeline(transaction=False)
        for i in ids:
            pipe.hgetall(keys.shop(i))
        return [Shop.from_hash(i, h) for i, h in zip(ids, await pipe.execute()) if h]

    async def rotate_key(self, shop_id: int, overlap_s: float = DEFAULT_ROTATION_OVERLAP_S) -> str:
        """A new key; the current one keeps working ``overlap_s`` more seconds (0: it stops at once). A key
        still in an earlier overlap stops now: only the last two keys are ever valid."""
        await self.get(shop_id)
        api_key = _new_key(shop_id)
        await self.redis.eval(_ROTATE, 1, keys.shop(shop_id), hash_key(api_key), int(overlap_s * 1000))
        return api_key

    async def end_rotation(self, shop_id: int) -> Shop:
        """The previous key stops working now (the rotation's overlap ends early)."""
        await self.get(shop_id)
        await self.redis.hdel(keys.shop(shop_id), "prev_key_hash", "prev_key_until")
        return await self.get(shop_id)

    async def set_status(self, shop_id: int, status: str) -> Shop:
        await self.get(shop_id)
        await self.redis.hset(keys.shop(shop_id), "status", status)
        return await self.get(shop_id)
