"""Panel sessions: an opaque random id in an HttpOnly, SameSite=Strict cookie, kept in the store only as its
SHA-256, with a sliding expiry; the CSRF token is bound to it; sign-in attempts are rate-limited.

The cookie is ``<shop_id>.<secret>``: the shop id names the partition, so one script reads the session and the
shop record together (one slot). The CSRF token is an HMAC of the session secret, so it needs no storage and
dies with the session; a change (POST/PUT/PATCH/DELETE) made with the cookie must carry it in X-CSRF-Token (or
a form's ``csrf`` field), which a page on another site cannot read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from aiohttp import web

from booking.app_keys import SHOPS
from booking.service import Caller
from kernel.errors import Forbidden, RateLimited, Unauthorized
from kernel.postal.text import fa_digits
from kernel.postal.timeutil import iso_ms
from kernel.settings import PanelConfig
from kernel.store import keys
from kernel.store.batcher import Batcher, Script
from tracking.ratelimit import TRACK_LIMIT, client_key

COOKIE = "barid_panel"
SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
CSRF_HEADER = "X-CSRF-Token"
PANEL_USER = web.RequestKey("panel_user", str)  # the signed-in user's mobile, for what they do (invited_by)

# KEYS: 1 the session, 2 the shop. ARGV: 1 the session's lifetime (s), renewed by each use.
# Returns false (no such session), or {mobile, role, the shop's current key hash, its status}.
SESSION_CHECK = Script(r"""
local s = redis.call('HMGET', KEYS[1], 'mobile', 'role')
if not s[1] then return false end
redis.call('EXPIRE', KEYS[1], ARGV[1])
local shop = redis.call('HMGET', KEYS[2], 'key_hash', 'status')
return {s[1], s[2], shop[1] or '', shop[2] or ''}
""")


class SessionInvalid(Unauthorized):
    code = "panel_session_invalid"
    title = "Panel session has ended"


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    title = "Missing or wrong CSRF token"


# One answer for an unknown mobile and a wrong password (no account enumeration).
LOGIN_FAILED_FA = "شمارهٔ همراه یا گذرواژه نادرست است."


class LoginRateLimited(RateLimited):
    code = "panel_login_rate_limited"
    title = "Too many sign-in attempts"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token(secret: str) -> str:
    return hmac.new(secret.encode(), b"barid-panel-csrf", hashlib.sha256).hexdigest()


def parse_cookie(value: str | None) -> tuple[int, str] | None:
    shop, sep, secret = (value or "").partition(".")
    if not sep or not shop.isdecimal() or len(shop) > 12 or not 20 <= len(secret) <= 64:
        return None
    return int(shop), secret


class Sessions:
    def __init__(self, redis, batcher: Batcher, config: PanelConfig) -> None:
        self.redis = redis
        self.batcher = batcher
        self.config = config

    async def create(self, shop_id: int, mobile: str, role: str) -> str:
        """A new session; returns the cookie value (its secret is never stored)."""
        secret = secrets.token_urlsafe(32)
        token_hash = _hash(secret)
        key = keys.panel_session(shop_id, token_hash)
        index = keys.panel_user_sessions(shop_id, mobile)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(key, mapping={"mobile": mobile, "role": role, "created_at": iso_ms(time.time())})
        pipe.expire(key, self.config.session_ttl_s)
        pipe.sadd(index, token_hash)
        pipe.expire(index, self.config.session_ttl_s * 4)  # an abandoned user's index does not stay for ever
        await pipe.execute()
        return f"{shop_id}.{secret}"

    async def revoke(self, cookie: str | None) -> None:
        parsed = parse_cookie(cookie)
        if parsed is None:
            return
        shop_id, secret = parsed
        key = keys.panel_session(shop_id, _hash(secret))
        mobile = await self.redis.hget(key, "mobile")
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(key)
        if mobile is not None:
            pipe.srem(keys.panel_user_sessions(shop_id, mobile.decode()), _hash(secret))
        await pipe.execute()

    async def lookup(self, request: web.Request) -> tuple[int, str, str, str, str] | None:
        """(shop id, mobile, role, key hash, secret) of the request's live session; None without a cookie; the
        session ended (or a forged cookie): SessionInvalid."""
        raw = request.cookies.get(COOKIE)
        if raw is None:
            return None
        parsed = parse_cookie(raw)
        res = None
        if parsed is not None:
            shop_id, secret = parsed
            res = await self.batcher.evalsha(SESSION_CHECK, [keys.panel_session(shop_id, _hash(secret)),
                                                              keys.shop(shop_id)], [self.config.session_ttl_s])
        if not res or res[3] != b"active":
            raise SessionInvalid("the panel session has ended; sign in again",
                                 "نشست شما در پنل پایان یافته است؛ دوباره وارد شوید")
        return shop_id, res[0].decode(), res[1].decode(), res[2].decode(), secret

    async def caller(self, request: web.Request) -> Caller | None:
        """booking.app_keys.SESSION_AUTH: the session's shop as an API caller, with its current key (so the
        same scripts authorize and rate-limit it) and the user's role; a change needs the CSRF token."""
        found = await self.lookup(request)
        if found is None:
            return None
        shop_id, mobile, role, key_hash, secret = found
        if request.method not in SAFE_METHODS:
            check_csrf(request.headers.get(CSRF_HEADER), secret)
        request[PANEL_USER] = mobile
        shop = await request.app[SHOPS].profile(shop_id, key_hash)
        return Caller(shop, key_hash, role)

    async def limit_login(self, remote: str | None, mobile: str) -> None:
        """Count one sign-in attempt against the address and the mobile; LoginRateLimited when either is spent."""
        interval = self.config.login_period_s * 1000
        address = client_key(remote).rsplit(":", 1)[1]  # the address as tracking's limit hashes it
        who = hashlib.blake2b(mobile.encode(), digest_size=12).hexdigest()
        for key, burst in ((keys.panel_login_rate("ip", address), self.config.login_burst * 10),
                           (keys.panel_login_rate("m", who), self.config.login_burst)):
            wait_ms = await self.batcher.evalsha(TRACK_LIMIT, [key], [repr(interval), repr(interval * burst)])
            if wait_ms:
                seconds = max(1, -(-int(wait_ms) // 1000))
                raise LoginRateLimited(
                    f"too many sign-in attempts; retry in {seconds} s",
                    f"تلاش برای ورود بیش از حد مجاز بود؛ {fa_digits(seconds)} ثانیهٔ دیگر دوباره تلاش کنید",
                    headers={"Retry-After": str(seconds)})


def check_csrf(given: str | None, secret: str) -> None:
    if not given or not hmac.compare_digest(given, csrf_token(secret)):
        raise CsrfFailed("a change made with a panel session needs its CSRF token (X-CSRF-Token)",
                         "درخواست تغییر بدون نشانهٔ امنیتی (CSRF) نشست پذیرفته نیست؛ صفحه را دوباره باز کنید")
