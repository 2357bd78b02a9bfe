"""Staff app sign-in: one-time codes a supervisor issues, then a session kept on the device until revoked.

A code is eight digits, lives ``staff_code_ttl_s``, is kept only as a salted hash, and dies on use or after
``CODE_ATTEMPTS`` wrong tries; failed sign-ins also count per client address. A session is a random secret in
an HttpOnly cookie; the store keeps only its SHA-256 (the key name), with the staff id, the office and the
session's CSRF token. Every request reads the session and the staff record (no cache), so revoking the session,
or the staff member (``tracking.staff.revoke_staff``), takes effect at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from kernel.errors import Forbidden, NotFound, RateLimited, Unauthorized
from kernel.postal.offices import Registry
from kernel.postal.text import fa_digits
from kernel.postal.timeutil import iso_ms
from kernel.store import keys
from kernel.store.batcher import Batcher, Script
from tracking.staff import Staff, StaffNotFound

CODE_DIGITS = 8
CODE_ATTEMPTS = 5  # wrong tries before a code is destroyed: 5 guesses in 10^8 per issued code
FAILURE_WINDOW_S = 900
COOKIE = "barid_staff"
ROLES = ("staff", "supervisor")

# KEYS: 1 the staff member's code. ARGV: 1 the code typed, 2 the tries allowed. One key: cluster-safe.
# Returns ok (and the code is gone), wrong, burnt (too many tries: gone) or none (no live code).
CONSUME_CODE = Script(r"""
local h = redis.call('HMGET', KEYS[1], 'code_hash', 'salt')
if not h[1] then return 'none' end
if redis.sha1hex(h[2] .. ARGV[1]) == h[1] then redis.call('DEL', KEYS[1]) return 'ok' end
local n = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if n >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) return 'burnt' end
return 'wrong'
""")


class SignInCodeInvalid(Unauthorized):
    code = "sign_in_code_invalid"
    title = "Sign-in code is wrong, used or expired"


class SignInRateLimited(RateLimited):
    code = "staff_sign_in_rate_limited"
    title = "Too many failed sign-ins from this address"


class StaffSessionInvalid(Unauthorized):
    code = "staff_session_invalid"
    title = "No valid staff session"


class CsrfTokenInvalid(Forbidden):
    code = "csrf_token_invalid"
    title = "Missing or wrong X-CSRF-Token"


class NotSupervisor(Forbidden):
    code = "not_office_supervisor"
    title = "Only a supervisor of this office may do this"


class StaffSessionNotFound(NotFound):
    code = "staff_session_not_found"
    title = "Staff session not found"


@dataclass(frozen=True, slots=True)
class Session:
    staff: Staff
    csrf: str
    session_hash: str


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _client(remote: str | None) -> str:
    # Hashed: the store keeps no list of who signed in from where.
    return hashlib.blake2b((remote or "unknown").encode(), digest_size=12).hexdigest()


async def staff_record(redis: aioredis.Redis, staff_id: int) -> dict[str, str]:
    raw = await redis.hgetall(keys.staff(staff_id))
    if not raw:
        raise StaffNotFound(f"staff {staff_id} does not exist", f"کارمند {fa_digits(staff_id)} وجود ندارد")
    return {k.decode(): v.decode() for k, v in raw.items()}


async def set_role(redis: aioredis.Redis, staff_id: int, role: str) -> dict[str, Any]:
    """Make a staff member a supervisor of their office (or back to plain staff)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    record = await staff_record(redis, staff_id)
    await redis.hset(keys.staff(staff_id), "role", role)
    return {"staff_id": staff_id, "office": record["office"], "role": role}


async def require_supervisor(redis: aioredis.Redis, caller: Staff, office: str) -> None:
    """``caller`` must be an active supervisor of ``office``."""
    if caller.office != office or await redis.hget(keys.staff(caller.id), "role") != b"supervisor":
        raise NotSupervisor(f"staff {caller.id} is not a supervisor of {office}",
                            f"فقط سرپرست ادارهٔ {office} می‌تواند کد ورود صادر کند یا نشست‌ها را ببیند و باطل کند")


async def issue_code(redis: aioredis.Redis, registry: Registry, office: str, staff_id: int,
                     ttl_s: int) -> dict[str, Any]:
    """A fresh sign-in code for ``staff_id`` of ``office`` (replacing any earlier one), shown this once."""
    record = await staff_record(redis, staff_id)
    if record["office"] != office or office not in registry.offices:
        raise StaffNotFound(f"staff {staff_id} is not of office {office}",
                            f"کارمند {fa_digits(staff_id)} در ادارهٔ {office} کار نمی‌کند")
    if record.get("status") != "active":
        raise StaffNotFound(f"staff {staff_id} is revoked", f"کارمند {fa_digits(staff_id)} غیرفعال شده است",
                            code="staff_revoked_for_sign_in")
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    salt = secrets.token_hex(16)
    key = keys.staff_sign_in_code(staff_id)
    pipe = redis.pipeline(transaction=True)
    pipe.delete(key)
    pipe.hset(key, mapping={"code_hash": hashlib.sha1((salt + code).encode()).hexdigest(), "salt": salt,
                            "attempts": 0})
    pipe.expire(key, ttl_s)
    await pipe.execute()
    return {"staff_id": staff_id, "office": office, "code": code, "expires_at": iso_ms(time.time() + ttl_s)}


async def sign_in(redis: aioredis.Redis, batcher: Batcher, staff_id: Any, code: Any, remote: str | None, *,
                  failures_allowed: int, session_ttl_s: int, device: str = "") -> tuple[str, Session]:
    """(cookie secret, session) for a right code; SignInCodeInvalid or SignInRateLimited otherwise."""
    rate_key = keys.staff_sign_in_rate(_client(remote))
    failures = int(await redis.get(rate_key) or 0)
    if failures >= failures_allowed:
        wait = max(1, int(await redis.ttl(rate_key)))
        raise SignInRateLimited(f"too many failed sign-ins from this address; retry in {wait} s",
                                f"تلاش‌های ناموفق ورود از این نشانی بیش از حد مجاز است؛ {fa_digits(wait)} ثانیهٔ دیگر "
                                "دوباره تلاش کنید", headers={"Retry-After": str(wait)})
    code = "".join(str(code).split()) if isinstance(code, (str, int)) else ""
    valid_shape = type(staff_id) is int and 0 < staff_id < 10**12 and code.isdigit() and len(code) == CODE_DIGITS
    verdict = (await batcher.evalsha(CONSUME_CODE, [keys.staff_sign_in_code(staff_id)], [code, CODE_ATTEMPTS])
               if valid_shape else b"none")
    if verdict != b"ok":
        pipe = redis.pipeline(transaction=True)
        pipe.incr(rate_key)
        pipe.expire(rate_key, FAILURE_WINDOW_S, nx=True)
        await pipe.execute()
        raise SignInCodeInvalid("the sign-in code is wrong, used or expired; ask your supervisor for a new one",
                                "کد ورود نادرست، استفاده‌شده یا منقضی است؛ از سرپرست اداره کد تازه بگیرید")
    record = await staff_record(redis, staff_id)  # type: ignore[arg-type]
    if record.get("status") != "active":
        raise SignInCodeInvalid("this staff member was revoked", "حساب این کارمند باطل شده است")
    secret = secrets.token_urlsafe(32)
    session_hash = _sha256(secret)
    csrf = secrets.token_urlsafe(24)
    await redis.hset(keys.staff_session(session_hash), mapping={
        "staff_id": staff_id, "office": record["office"], "csrf": csrf, "created_at": iso_ms(time.time()),
        "device": device[:200]})
    await redis.expire(keys.staff_session(session_hash), session_ttl_s)
    await redis.sadd(keys.staff_sessions(staff_id), session_hash)  # type: ignore[arg-type]
    staff = Staff(staff_id, record["office"], record["name"], record.get("role") or "staff")  # type: ignore[arg-type]
    return secret, Session(staff, csrf, session_hash)


async def session_of(batcher: Batcher, secret: str, session_ttl_s: int) -> Session:
    """The live session behind a cookie secret, its staff member still active; StaffSessionInvalid if none.
    Each use renews the session's life, so a device used daily stays signed in until revoked."""
    if not secret or len(secret) > 100:
        raise StaffSessionInvalid("no staff session; sign in with a code from your supervisor",
                                  "وارد نشده‌اید؛ با کد یکبارمصرفی که سرپرست اداره می‌دهد وارد شوید")
    session_hash = _sha256(secret)
    staff_id, office, csrf = await batcher.command("HMGET", keys.staff_session(session_hash), "staff_id", "office",
                                                   "csrf")
    if staff_id is None:
        raise StaffSessionInvalid("the staff session ended or was revoked; sign in again",
                                  "نشست شما پایان یافته یا باطل شده است؛ دوباره با کد یکبارمصرف وارد شوید")
    sid = int(staff_id)
    rec_office, name, status, role = await batcher.command("HMGET", keys.staff(sid), "office", "name", "status",
                                                           "role")
    if status != b"active" or rec_office != office:
        raise StaffSessionInvalid("this staff member was revoked or moved office; sign in again",
                                  "حساب کارمند باطل یا به ادارهٔ دیگری منتقل شده است؛ دوباره وارد شوید")
    await batcher.command("EXPIRE", keys.staff_session(session_hash), session_ttl_s)
    # the role travels with the session's staff member: the app shows a supervisor their screen, and what the role
    # allows elsewhere (pod's supervisor resolutions) holds for the app's session as for a bearer token
    return Session(Staff(sid, office.decode(), name.decode(), role.decode() if role else "staff"), csrf.decode(),
                   session_hash)


def check_csrf(session: Session, header: str | None) -> None:
    if not header or not hmac.compare_digest(header.encode(), session.csrf.encode()):
        raise CsrfTokenInvalid("state-changing calls of a session need its X-CSRF-Token header",
                               "درخواست بدون توکن CSRF درست پذیرفته نمی‌شود؛ برنامه را دوباره باز کنید")


async def end_session(redis: aioredis.Redis, session: Session) -> None:
    await redis.delete(keys.staff_session(session.session_hash))
    await redis.srem(keys.staff_sessions(session.staff.id), session.session_hash)


async def list_sessions(redis: aioredis.Redis, staff_ids: list[int]) -> list[dict[str, Any]]:
    """Live sessions of these staff members (the public id is the first half of the stored hash)."""
    out = []
    for sid in staff_ids:
        for h in sorted(await redis.smembers(keys.staff_sessions(sid))):
            created, device = await redis.hmget(keys.staff_session(h.decode()), "created_at", "device")
            if created is None:  # expired: forget it
                await redis.srem(keys.staff_sessions(sid), h)
                continue
            out.append({"session_id": h.decode()[:32], "staff_id": sid, "created_at": created.decode(),
                        "device": (device or b"").decode()})
    return out


async def revoke_sessions(redis: aioredis.Redis, staff_id: int, session_id: str | None = None) -> int:
    """End one session of ``staff_id`` (by its public id) or all of them; how many ended."""
    ended = 0
    for h in await redis.smembers(keys.staff_sessions(staff_id)):
        if session_id is None or (len(session_id) == 32 and h.decode().startswith(session_id)):
            ended += await redis.delete(keys.staff_session(h.decode()))
            await redis.srem(keys.staff_sessions(staff_id), h)
    if session_id is not None and not ended:
        raise StaffSessionNotFound(f"no live session {session_id[:40]!r} of staff {staff_id}",
                                   "چنین نشستی برای این کارمند وجود ندارد یا پیش‌تر پایان یافته است")
    return ended
