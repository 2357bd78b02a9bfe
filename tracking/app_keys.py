"""The tracking feature's services as the app holds them: what other features' routes may use (manifests scan
parcels through ``Tracking.scans``) without importing tracking's HTTP layer."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from aiohttp import web

from kernel.postal.offices import Registry
from kernel.settings import TrackingConfig

from .scans import ScanService
from .webhooks import WebhookRegistry


@dataclass
class Tracking:
    config: TrackingConfig
    offices: Registry
    redis: aioredis.Redis
    blocking: aioredis.Redis  # for XREAD BLOCK of SSE streams
    scans: ScanService
    webhooks: WebhookRegistry


TRACKING = web.AppKey("tracking", Tracking)
