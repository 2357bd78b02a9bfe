"""Typed keys of what the gateway application holds (aiohttp AppKey)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from aiohttp import web

from .config import Config

if TYPE_CHECKING:  # the AppKeys below name these types as strings, for type checkers; no import cycle at run time
    from .auth import ShopDirectory  # noqa: F401
    from kernel.store.batcher import Batcher  # noqa: F401
    from .booking import BookingService  # noqa: F401
    from .metrics import Metrics, MetricsShare  # noqa: F401
    from kernel.postal.tariff import Limits, Tariff  # noqa: F401
    from .validation import RequestValidator  # noqa: F401

CONFIG = web.AppKey("config", Config)
STORE_URL = web.AppKey("store_url", str)
REDIS = web.AppKey("redis", aioredis.Redis)
BATCHER = web.AppKey("batcher", "Batcher")
SHOPS = web.AppKey("shops", "ShopDirectory")
BOOKING = web.AppKey("booking", "BookingService")
VALIDATOR = web.AppKey("validator", "RequestValidator")
LIMITS = web.AppKey("limits", "Limits")
TARIFF = web.AppKey("tariff", "Tariff")
METRICS = web.AppKey("metrics", "Metrics")
METRICS_SHARE = web.AppKey("metrics_share", "MetricsShare")
