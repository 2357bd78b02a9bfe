"""Typed keys of what the gateway application holds (aiohttp AppKey)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from aiohttp import web

from .config import Config

if TYPE_CHECKING:
    from .auth import ShopDirectory
    from .batcher import Batcher
    from .booking import BookingService
    from .metrics import Metrics
    from .tariff import Limits, Tariff
    from .validation import RequestValidator

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
