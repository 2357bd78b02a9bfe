"""Typed keys (aiohttp AppKey) of the booking services the gateway builds once (``gateway/web_app.py``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:  # the AppKeys below name these types as strings, for type checkers; no import cycle at run time
    from booking.auth import ShopDirectory  # noqa: F401
    from booking.service import BookingService, Caller  # noqa: F401
    from booking.validation import RequestValidator  # noqa: F401

SHOPS = web.AppKey("shops", "ShopDirectory")
BOOKING = web.AppKey("booking", "BookingService")
VALIDATOR = web.AppKey("validator", "RequestValidator")
# Who a request without an API key is: the shop panel's session authenticator (set at assembly by the gateway;
# absent, only API keys are accepted). It answers None when the request carries no session cookie.
SESSION_AUTH = web.AppKey("session_auth", Callable[[web.Request], Awaitable["Caller | None"]])
