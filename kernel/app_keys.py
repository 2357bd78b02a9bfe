"""Typed keys (aiohttp AppKey) of the shared services the gateway builds once and every feature's routes read.

A feature's own services have keys in its own package (``booking.app_keys``); the gateway's composition root
(``gateway/web_app.py``) is the one place that fills them in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from aiohttp import web

from kernel.settings import Config

if TYPE_CHECKING:  # the AppKeys below name these types as strings, for type checkers; no import cycle at run time
    from kernel.postal.tariff import Limits, Tariff  # noqa: F401
    from kernel.store.batcher import Batcher  # noqa: F401

CONFIG = web.AppKey("config", Config)
STORE_URL = web.AppKey("store_url", str)
REDIS = web.AppKey("redis", aioredis.Redis)
BATCHER = web.AppKey("batcher", "Batcher")
LIMITS = web.AppKey("limits", "Limits")
TARIFF = web.AppKey("tariff", "Tariff")
# The gateway's request and booking counters (gateway.metrics.Metrics); named by string, so the kernel does not
# import the gateway.
METRICS = web.AppKey("metrics", "Metrics")
