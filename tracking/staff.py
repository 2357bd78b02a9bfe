"""Post-office staff and their bearer tokens.

A token looks like ``st_<staff id>_<secret>``: the id says which record to read, only the token's SHA-256 is
stored, and revoking flips the record's status, which every request reads (no cache), so it takes effect at
once. A staff member acts for exactly one office or hub of the registry.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web

from kernel.errors import FieldError, NotFound, Unauthorized, ValidationFailed
from kernel.postal.offices import Office, Registry
from kernel.postal.timeutil import iso_ms
from kernel.store import keys


class InvalidStaffToken(Unauthorized):
    code = "invalid_staff_token"
    title = "Missing or invalid staff token"


class StaffNotFound(NotFound):
    code = "staff_not_found"
    title = "Staff member not found"


@dataclass(frozen=True, slots=True)
class Staff:
    id: int
    office: str
    name: str


# Who a staff bearer token belongs to: tracking's authentication, put in the app at assembly (gateway.web_app), so
# the features that act for staff (planning, manifests) do not import tracking's HTTP layer.
StaffAuth = Callable[[web.Request], Awaitable[Staff]]
STAFF_AUTH = web.AppKey("staff_auth", StaffAuth)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_token(token: str) -> int:
    body = token[len(keys.STAFF_TOKEN_PREFIX):] if token.startswith(keys.STAFF_TOKEN_PREFIX) else ""
    staff_part, sep, secret = body.partition("_")
    if not sep or not staff_part.isdigit() or len(staff_part) > 12 or len(secret) < 20:
        raise InvalidStaffToken("staff token is malformed", "توکن کارمند نامعتبر است")
    return int(staff_part)


def _office(registry: Registry, code: str) -> Office:
    office = registry.offices.get(code)
    if office is None:
        raise ValidationFailed(errors=[FieldError("office", "unknown_office", f"no post office with code {code!r}",
                                                  f"اداره پستی با کد {code} وجود ندارد")])
    return office


async def create_staff(redis: aioredis.Redis, registry: Registry, office_code: str, name: str) -> dict[str, Any]:
    """New staff member of one office; the returned dict holds the token, shown this once."""
    office = _office(registry, office_code)
    name = " ".join(str(name).split())
    if not 0 < len(name) <= 100:
        raise ValidationFailed(errors=[FieldError("name", "text_invalid", "name must be 1-100 characters",
                                                  "نام باید ۱ تا ۱۰۰ نویسه باشد")])
    staff_id = int(await redis.incr(keys.STAFF_SEQ))
    token = f"{keys.STAFF_TOKEN_PREFIX}{staff_id}_{secrets.token_urlsafe(32)}"
    created_at = iso_ms(time.time())
    await redis.hset(keys.staff(staff_id), mapping={
        "office": office.code, "name": name, "token_hash": hash_token(token), "status": "active",
        "created_at": created_at})
    await redis.sadd(keys.office_staff(office.code), staff_id)
    return {"staff_id": staff_id, "office": office.code, "office_kind": office.kind, "name": name,
            "status": "active", "created_at": created_at, "token": token}


async def list_staff(redis: aioredis.Redis, office_code: str) -> list[dict[str, Any]]:
    ids = sorted(int(i) for i in await redis.smembers(keys.office_staff(office_code)))
    pipe = redis.pipeline(transaction=False)
    for i in ids:
        pipe.hmget(keys.staff(i), "office", "name", "status", "created_at")
    out = []
    for i, (office, name, status, created) in zip(ids, await pipe.execute()):
        if office is not None:
            out.append({"staff_id": i, "office": office.decode(), "name": name.decode(),
                        "status": status.decode(), "created_at": created.decode()})
    return out


async def revoke_staff(redis: aioredis.Redis, staff_id: int) -> None:
    if not await redis.exists(keys.staff(staff_id)):
        raise StaffNotFound(f"staff {staff_id} does not exist", f"کارمند {staff_id} وجود ندارد")
    await redis.hset(keys.staff(staff_id), "status", "revoked")


RECORD_FIELDS = ("office", "name", "token_hash", "status")  # what staff_from needs of keys.staff(id)


def staff_from(staff_id: int, token: str, record: list) -> Staff:
    """Who ``token`` (of staff ``staff_id``) belongs to, given their record; InvalidStaffToken if nobody now.
    The record is read on every request by the caller, so a revocation takes effect at once."""
    office, name, token_hash, status = record
    if token_hash is None or not hmac.compare_digest(token_hash.decode(), hash_token(token)):
        raise InvalidStaffToken("staff token is not valid", "توکن کارمند معتبر نیست")
    if status != b"active":
        raise InvalidStaffToken("staff token was revoked", "توکن کارمند باطل شده است", code="staff_revoked")
    return Staff(staff_id, office.decode(), name.decode())


def bearer(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidStaffToken("send 'Authorization: Bearer <staff token>'",
                                "سرآیند Authorization با توکن کارمند لازم است")
    return token.strip()
