"""Shop panel users: an owner or staff member of one shop, who signs in with a mobile number and a password.

Passwords are kept only as argon2id hashes (argon2-cffi, its default parameters: memory-hard, so a stolen
store does not give the passwords away cheaply). Hashing runs in a worker thread: it is deliberately slow and
must not hold the event loop. A mobile number names one account; the users of a shop are a small set listed
whole.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import redis.asyncio as aioredis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kernel.errors import Conflict, FieldError, NotFound, validation_failed
from kernel.postal.text import PostalError, normalize_mobile
from kernel.postal.timeutil import iso_ms
from kernel.store import keys

ROLES = ("owner", "staff")
PASSWORD_MIN = 10
PASSWORD_MAX = 128

_hasher = PasswordHasher()
# Verified against when the mobile has no account, so a wrong mobile costs as long as a wrong password and the
# answer time does not tell which mobiles have accounts.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class PanelUserExists(Conflict):
    code = "panel_user_exists"
    title = "This mobile number already has a panel account"


class PanelUserNotFound(NotFound):
    code = "panel_user_not_found"
    title = "No such panel user in this shop"


def new_password() -> str:
    """A one-time password to hand over (the user may keep it; it is as strong as a chosen one)."""
    return secrets.token_urlsafe(12)


def _checked(mobile: Any, role: Any, password: Any) -> tuple[str, str]:
    errors: list[FieldError] = []
    try:
        mobile = normalize_mobile(mobile)
    except PostalError as exc:
        errors.append(FieldError("mobile", exc.code, exc.message, exc.message_fa))
    if role not in ROLES:
        errors.append(FieldError("role", "enum", "Must be owner or staff.", "نقش باید مالک (owner) یا کارمند (staff) باشد."))
    if password is not None and (not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= PASSWORD_MAX):
        errors.append(FieldError("password", "password_length", f"Must be {PASSWORD_MIN} to {PASSWORD_MAX} characters.",
                                 f"گذرواژه باید دست‌کم {PASSWORD_MIN} و حداکثر {PASSWORD_MAX} نویسه باشد."))
    if errors:
        raise validation_failed(errors)
    return mobile, role


class Accounts:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def add(self, shop_id: int, mobile: Any, role: Any, password: str | None = None,
                  invited_by: str | None = None) -> dict[str, Any]:
        """A new user of ``shop_id``; without ``password`` a one-time one is made and returned (only here)."""
        mobile, role = _checked(mobile, role, password)
        given = password is not None
        password = password if given else new_password()
        pw_hash = await asyncio.to_thread(_hasher.hash, password)
        # The mobile is claimed first (one account per mobile, across shops): two invitations race safely.
        if not await self.redis.set(keys.panel_mobile(mobile), shop_id, nx=True):
            raise PanelUserExists(f"{mobile} already has a panel account",
                                  f"شمارهٔ همراه {mobile} پیش‌تر حساب پنل دارد")
        created = iso_ms(time.time())
        record = {"role": role, "pw": pw_hash, "created_at": created, "invited_by": invited_by or ""}
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(keys.panel_user(shop_id, mobile), mapping=record)
        pipe.sadd(keys.panel_users(shop_id), mobile)
        await pipe.execute()
        out = {"shop_id": shop_id, "mobile": mobile, "role": role, "created_at": created}
        if not given:
            out["one_time_password"] = password
        return out

    async def list(self, shop_id: int) -> list[dict[str, Any]]:
        mobiles = sorted(m.decode() for m in await self.redis.smembers(keys.panel_users(shop_id)))
        pipe = self.redis.pipeline(transaction=False)
        for m in mobiles:
            pipe.hmget(keys.panel_user(shop_id, m), "role", "created_at", "invited_by")
        out = []
        for m, (role, created, invited_by) in zip(mobiles, await pipe.execute()):
            if role is not None:
                out.append({"mobile": m, "role": role.decode(), "created_at": created.decode(),
                            "invited_by": (invited_by or b"").decode() or None})
        return out

    async def remove(self, shop_id: int, mobile: Any) -> None:
        """The user goes, and every session of theirs ends now."""
        try:
            mobile = normalize_mobile(mobile)
        except PostalError:
            raise PanelUserNotFound("no such panel user", "چنین کاربری در پنل این فروشگاه نیست") from None
        user = keys.panel_user(shop_id, mobile)
        if not await self.redis.exists(user):
            raise PanelUserNotFound(f"{mobile} is not a panel user of this shop",
                                    f"شمارهٔ {mobile} کاربر پنل این فروشگاه نیست")
        sessions = keys.panel_user_sessions(shop_id, mobile)
        hashes = [h.decode() for h in await self.redis.smembers(sessions)]
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(user, sessions, *(keys.panel_session(shop_id, h) for h in hashes))
        pipe.srem(keys.panel_users(shop_id), mobile)
        await pipe.execute()
        await self.redis.delete(keys.panel_mobile(mobile))

    async def verify(self, mobile: str, password: str) -> tuple[int, str, str] | None:
        """(shop id, mobile, role) when the password is this mobile's; None otherwise, in about the same time."""
        try:
            mobile = normalize_mobile(mobile)
        except PostalError:
            mobile = ""
        shop = await self.redis.get(keys.panel_mobile(mobile)) if mobile else None
        record = await self.redis.hmget(keys.panel_user(int(shop), mobile), "role", "pw") if shop else [None, None]
        role, pw_hash = record
        try:
            await asyncio.to_thread(_hasher.verify, (pw_hash or _DUMMY_HASH.encode()).decode(), password)
        except (VerificationError, InvalidHashError):
            return None
        if pw_hash is None or role is None:
            return None
        if _hasher.check_needs_rehash(pw_hash.decode()):  # the library's parameters grew since it was hashed
            await self.redis.hset(keys.panel_user(int(shop), mobile), "pw",
                                  await asyncio.to_thread(_hasher.hash, password))
        return int(shop), mobile, role.decode()
