"""Who is calling: the bearer API key names a shop; the store confirms it on every request.

Shop profiles (sender defaults, limits) are cached briefly in-process, which is safe because the cache only
answers "which shop does this key claim to be and what are its defaults"; whether the key is still valid and
the shop still active is decided inside the store by the script each request runs (lua.GUARD).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import redis.asyncio as aioredis
from aiohttp import web

from booking.app_keys import BOOKING, SESSION_AUTH, SHOPS
from booking.service import Caller
from booking.shops import InvalidApiKey, Shop, hash_key, parse_api_key
from kernel.errors import Forbidden, Unauthorized
from kernel.store import keys

PROFILE_TTL_S = 30.0


class ShopDirectory:
    """In-process cache of shop profiles, keyed by shop id."""

    def __init__(self, redis: aioredis.Redis, ttl_s: float = PROFILE_TTL_S, max_entries: int = 100_000,
                 cod_rule: Callable[[Shop], str | None] | None = None) -> None:
        self.redis = redis
        # The money policy's COD rule, handed over at assembly (gateway/web_app.py); applied once per profile.
        self.cod_rule = cod_rule
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._cache: dict[int, tuple[float, Shop]] = {}
        self._hashes: dict[str, str] = {}  # api key -> sha256, so a busy shop is hashed once
        self._callers: dict[str, tuple[float, Caller]] = {}  # Authorization header -> (expiry, caller)
        self._loading: dict[int, asyncio.Future] = {}  # one store read per shop however many requests wait

    def forget(self, shop_id: int) -> None:
        """This process reads the shop's profile afresh on its next request (after the shop changed a setting);
        other processes do within ``ttl_s``."""
        self._cache.pop(shop_id, None)
        for header in [h for h, (_, c) in self._callers.items() if c.shop.id == shop_id]:
            del self._callers[header]

    def known_caller(self, header: str) -> Caller | None:
        """The caller a recently seen Authorization header named, without parsing or hashing it again."""
        hit = self._callers.get(header)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

    async def caller(self, request: web.Request) -> Caller:
        """Parse, hash and look up the caller the Authorization header names (``known_caller`` first)."""
        header = request.headers.get("Authorization", "")
        scheme, _, api_key = header.partition(" ")
        if scheme.lower() != "bearer" or not api_key:
            raise Unauthorized("send 'Authorization: Bearer <api_key>'", "کلید API ارسال نشده است",
                               headers={"WWW-Authenticate": 'Bearer realm="barid"'})
        api_key = api_key.strip()
        shop_id = parse_api_key(api_key)
        key_hash = self._hashes.get(api_key)
        if key_hash is None:
            if len(self._hashes) >= self.max_entries:
                self._hashes.clear()
            key_hash = self._hashes[api_key] = hash_key(api_key)
        shop = await self._profile(shop_id, key_hash)
        caller = Caller(shop, key_hash)
        if len(self._callers) >= self.max_entries:
            self._callers.clear()
        # Only as long as the profile itself is trusted; a revoked key is refused by the store either way.
        self._callers[header] = (time.monotonic() + self.ttl_s, caller)
        return caller

    async def fresh_caller(self, request: web.Request, caller: Caller) -> Caller:
        """``caller`` again from the store's current shop record rather than the cache: before refusing a request
        for what the record says (no verified Sheba account for COD), since the operator may have just fixed it.
        Either kind of caller (API key or panel session) is resolved again the way it came."""
        self.forget(caller.shop.id)
        return await require_caller(request)

    def judged(self, shop: Shop) -> Shop:
        """The shop with the COD rule's verdict on it (unchanged when no rule was given)."""
        return shop if self.cod_rule is None else shop.with_cod_refusal(self.cod_rule(shop))

    async def profile(self, shop_id: int, key_hash: str) -> Shop:
        """The shop's profile, if ``key_hash`` is one of its valid keys (a panel session passes the current one)."""
        return await self._profile(shop_id, key_hash)

    async def _profile(self, shop_id: int, key_hash: str) -> Shop:
        hit = self._cache.get(shop_id)
        now = time.monotonic()
        # A key the cached profile does not know may be a freshly rotated one: look again before refusing.
        # (The old key within its rotation overlap is known too; the store has the last word on both.)
        if hit is None or hit[0] < now or not hit[1].accepts(key_hash):
            shop = await self._load(shop_id)
            if shop is None:
                raise InvalidApiKey("API key is not valid", "کلید API معتبر نیست")
            hit = (now + self.ttl_s, shop)
        if not hit[1].accepts(key_hash):
            raise InvalidApiKey("API key is not valid", "کلید API معتبر نیست")
        return hit[1]

    async def _load(self, shop_id: int) -> Shop | None:
        pending = self._loading.get(shop_id)
        if pending is not None:
            return await asyncio.shield(pending)
        fut = self._loading[shop_id] = asyncio.get_running_loop().create_future()
        try:
            h = await self.redis.hgetall(keys.shop(shop_id))
            shop = self.judged(Shop.from_hash(shop_id, h)) if h else None
            if shop is not None:
                if len(self._cache) >= self.max_entries:
                    self._cache.clear()
                self._cache[shop_id] = (time.monotonic() + self.ttl_s, shop)
            fut.set_result(shop)
            return shop
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved: waiters (if any) re-raise it themselves
            raise
        finally:
            del self._loading[shop_id]


def known_caller(request: web.Request) -> Caller | None:
    """``require_caller`` without an await, for a header seen recently (nearly every request of a busy shop)."""
    return request.app[SHOPS].known_caller(request.headers.get("Authorization", ""))


async def require_caller(request: web.Request) -> Caller:
    """The caller's claimed shop and key hash; the store check happens in the script the handler runs.

    A request with no Authorization header may be a shop panel session (cookie, and X-CSRF-Token on a change):
    it maps to the user's shop and its current key, so the same scripts authorize and rate-limit it."""
    hit = known_caller(request)
    if hit is not None:
        return hit
    session_auth = request.app.get(SESSION_AUTH)
    if session_auth is not None and "Authorization" not in request.headers:
        caller = await session_auth(request)
        if caller is not None:
            return caller
    return await request.app[SHOPS].caller(request)


class ManagerOnly(Forbidden):
    code = "shop_manager_only"
    title = "Only the shop's owner may do this"


def require_manager(caller: Caller) -> None:
    """Keys, webhooks and users are the owner's (or the API key's): a panel user of the staff role is refused."""
    if caller.role not in (None, "owner"):
        raise ManagerOnly("only the shop's owner (or its API key) may manage API keys, webhooks and users",
                          "مدیریت کلید API، وب‌هوک‌ها و کاربران فقط با مالک فروشگاه است")


async def require_shop(request: web.Request, *, manage: bool = False) -> Shop:
    """Authenticate and rate-limit in one store round trip, for handlers that run no shop script of their own
    (``manage``: the owner's settings, refused to a staff-role panel user)."""
    caller = await require_caller(request)
    await request.app[BOOKING].authorize(caller)
    if manage:
        require_manager(caller)
    return caller.shop
