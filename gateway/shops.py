"""Shops and their API keys.

A key looks like ``bk_<shop_id>_<secret>``: the shop id tells which partition to ask, and only the key's
SHA-256 is stored. Rotating replaces the stored hash (the old key stops working at once); disabling a shop
stops its key at once, because every booking script re-checks hash and status inside the store.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis.asyncio as aioredis

from . import keys
from .errors import NotFound, Unauthorized
from .timeutil import iso_ms

KEY_PREFIX = "bk_"


class InvalidApiKey(Unauthorized):
    code = "invalid_api_key"


class ShopNotFound(NotFound):
    code = "shop_not_found"
    title = "Shop not found"


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

    @property
    def active(self) -> bool:
        return self.status == "active"

    def public(self) -> dict[str, Any]:
        return {"shop_id": self.id, "name": self.name, "status": self.status, "enamad_id": self.enamad_id,
                "sender": self.sender, "created_at": self.created_at}

    @classmethod
    def from_hash(cls, shop_id: int, h: dict[bytes, bytes]) -> Shop:
        g = lambda k: h[k].decode() if k in h else None  # noqa: E731
        return cls(
            id=shop_id, name=g(b"name") or "", status=g(b"status") or "disabled", key_hash=g(b"key_hash") or "",
            sender=orjson.loads(h[b"sender"]) if b"sender" in h else {}, enamad_id=g(b"enamad_id") or None,
            created_at=g(b"created_at") or "",
            rate_per_s=float(h[b"rate"]) if b"rate" in h else None,
            rate_burst=int(h[b"burst"]) if b"burst" in h else None,
        )


class ShopRegistry:
    """Operator-side shop management (CLI, tests, demo data)."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def create(self, name: str, *, sender: dict[str, Any] | None = None, enamad_id: str | None = None,
                     rate_per_s: float | None = None, rate_burst: int | None = None) -> tuple[Shop, str]:
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

    async def rotate_key(self, shop_id: int) -> str:
        await self.get(shop_id)
        api_key = _new_key(shop_id)
        await self.redis.hset(keys.shop(shop_id), "key_hash", hash_key(api_key))
        return api_key

    async def set_status(self, shop_id: int, status: str) -> Shop:
        await self.get(shop_id)
        await self.redis.hset(keys.shop(shop_id), "status", status)
        return await self.get(shop_id)
