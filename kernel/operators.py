"""The post's operators: who holds an operator token (``op_...`` whose SHA-256 is in BARID_OPERATOR_TOKEN_SHA256).

One check for every route an operator may call (planning, remittances, disputes); each route decides what a
missing or foreign credential answers.
"""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

from .app_keys import CONFIG


def operator_of(request: web.Request) -> str | None:
    """``operator:<first hex digits of the token's hash>`` for a valid operator token, else None."""
    allowed = request.app[CONFIG].operator_token_sha256 if CONFIG in request.app else ()
    header = request.headers.get("Authorization", "")
    if not allowed or not header.startswith("Bearer op_"):
        return None
    digest = hashlib.sha256(header[7:].strip().encode()).hexdigest()
    return f"operator:{digest[:12]}" if any(hmac.compare_digest(digest, h) for h in allowed) else None
