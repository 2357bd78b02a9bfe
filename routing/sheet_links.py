"""Signed, expiring links to a postman's route sheet, so a phone's browser opens it without a staff token.

A link is the sheet's path with ``exp`` (Unix seconds) and ``sig``: HMAC-SHA256, keyed by the server's sheet
secret, over the office, the plan id, the postman's number and the expiry. Anyone holding the link reads that one
sheet until it expires; changing any part of it, or the secret, makes it fail. The secret comes from
``BARID_SHEET_SECRET`` (``Config.sheet_secret``); without it the first gateway process to need one stores a random
secret in the store, so every process and restart signs alike.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from datetime import date, datetime, timedelta

import redis.asyncio as aioredis

from kernel.errors import Forbidden
from kernel.postal.timeutil import IRAN_TIME

# A sheet is for one working day: its link lasts until noon of the next day (Iran time), a late shift included,
# and never longer than the plan record itself lives.
GRACE_AFTER_DAY_S = 12 * 3600
SECRET_KEY = "barid:sheet:secret"  # the store-held secret when none is configured


class SheetLinkInvalid(Forbidden):
    code = "sheet_link_invalid"
    title = "Route sheet link is not valid"


class SheetLinkExpired(Forbidden):
    code = "sheet_link_expired"
    title = "Route sheet link has expired"


def _mac(secret: bytes, office: str, plan_id: str, postman: int, expires: int) -> str:
    message = f"sheet\n{office}\n{plan_id}\n{postman}\n{expires}".encode()
    return base64.urlsafe_b64encode(hmac.new(secret, message, hashlib.sha256).digest()).rstrip(b"=").decode()


def expires_for(day: date, finished_at: str | None, plan_ttl_s: int) -> int:
    """When a done plan's sheet links expire (Unix seconds): noon after the plan's day, within the plan's life."""
    end_of_day = datetime.combine(day + timedelta(days=1), datetime.min.time(), IRAN_TIME)
    expires = int(end_of_day.timestamp()) + GRACE_AFTER_DAY_S
    if finished_at:
        finished = datetime.fromisoformat(finished_at)
        expires = min(expires, int(finished.timestamp()) + plan_ttl_s)
    return expires


def sheet_path(office: str, plan_id: str, postman: int) -> str:
    return f"/v1/offices/{office}/plans/{plan_id}/postmen/{postman}/sheet"


def signed_url(secret: bytes, office: str, plan_id: str, postman: int, expires: int) -> str:
    return f"{sheet_path(office, plan_id, postman)}?exp={expires}&sig={_mac(secret, office, plan_id, postman, expires)}"


def verify(secret: bytes, office: str, plan_id: str, postman: int, exp: str, sig: str,
           now: float | None = None) -> None:
    """Raise unless ``exp`` and ``sig`` sign this sheet and the link has not expired."""
    if not exp.isascii() or not exp.isdigit() or len(exp) > 12 or len(sig) > 64:
        raise SheetLinkInvalid("the sheet link is malformed", "پیوند برگهٔ مسیر نادرست است")
    expected = _mac(secret, office, plan_id, postman, int(exp))
    # Constant-time: the comparison must not tell how much of a forged signature was right.
    if not hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace")):
        raise SheetLinkInvalid("the sheet link's signature does not match; ask the office for a new link",
                               "امضای پیوند برگهٔ مسیر معتبر نیست؛ پیوند تازه را از اداره بگیرید")
    if int(exp) <= (time.time() if now is None else now):
        raise SheetLinkExpired("the sheet link has expired; ask the office for a new link",
                               "مهلت پیوند برگهٔ مسیر به پایان رسیده است؛ پیوند تازه را از اداره بگیرید")


class SheetSecret:
    """The signing secret: the configured one, else the one held in the store (created once, shared)."""

    def __init__(self, configured: str | None) -> None:
        self._secret = configured.encode() if configured else None

    async def get(self, redis: aioredis.Redis) -> bytes:
        if self._secret is None:
            await redis.set(SECRET_KEY, secrets.token_urlsafe(32), nx=True)
            self._secret = await redis.get(SECRET_KEY)
        return self._secret
