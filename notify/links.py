"""Signed, expiring self-service links, and the CSRF token of the page behind one.

A token is ``<tracking number>.<shop id hex>.<expiry hex>.<signature>``: the parcel and the expiry travel in it
(nothing to look up, nothing to store), the signature is the first 16 bytes of HMAC-SHA256 over the rest,
base64url. Short enough for an SMS. The page's CSRF token is an HMAC of the link token under its own label, so
a form is bound to the link it was served for and no cookie is needed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass

_TOKEN = re.compile(r"([A-Z]{2}[0-9]{9}[A-Z]{2})\.([0-9a-f]{1,8})\.([0-9a-f]{1,10})\.([A-Za-z0-9_-]{22})", re.ASCII)


@dataclass(frozen=True, slots=True)
class Link:
    tracking_number: str
    shop_id: int
    expires: int  # epoch seconds
    token: str


def _mac(secret: bytes, label: bytes, text: str) -> str:
    digest = hmac.new(secret, label + b"|" + text.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(secret: bytes, shop_id: int, tracking_number: str, ttl_s: float, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + ttl_s)
    body = f"{tracking_number}.{shop_id:x}.{expires:x}"
    return f"{body}.{_mac(secret, b'link', body)}"


def verify(secret: bytes, token: str, now: float | None = None) -> tuple[Link | None, str]:
    """(the link, '') when genuine and unexpired, else (None, 'forged' | 'expired')."""
    m = _TOKEN.fullmatch(token)
    if m is None:
        return None, "forged"
    body = token[:token.rfind(".")]
    if not hmac.compare_digest(_mac(secret, b"link", body), m.group(4)):
        return None, "forged"
    expires = int(m.group(3), 16)
    if expires <= (time.time() if now is None else now):
        return None, "expired"
    return Link(m.group(1), int(m.group(2), 16), expires, token), ""


def csrf_token(secret: bytes, link_token: str) -> str:
    return _mac(secret, b"csrf", link_token)


def csrf_ok(secret: bytes, link_token: str, given: str) -> bool:
    return hmac.compare_digest(csrf_token(secret, link_token), given or "")
