"""``GET /v1/manifests``: the shop's manifests, newest first, each with its facts and PDF link (not its parcel
rows: ``GET /v1/manifests/{id}`` has those). Read from the shop's index (one sorted set in the shop's partition,
written by the create script), never by SCAN."""

from __future__ import annotations

import orjson
from aiohttp import web

from booking.app_keys import BOOKING
from booking.auth import require_caller
from kernel.app_keys import CONFIG, REDIS
from kernel.errors import FieldError, validation_failed
from kernel.http import json_response

from . import manifests

LIMIT_MAX = 100


async def list_manifests(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    await request.app[BOOKING].authorize(caller)
    limit = request.query.get("limit", "50")
    if not limit.isdigit() or not 1 <= int(limit) <= LIMIT_MAX:
        raise validation_failed([FieldError("limit", "out_of_range", f"Must be an integer from 1 to {LIMIT_MAX}.",
                                            f"باید عددی صحیح از ۱ تا {LIMIT_MAX} باشد.")])
    redis, shop_id = request.app[REDIS], caller.shop.id
    ids = [i.decode() for i in await redis.zrevrange(manifests.shop_manifests_key(shop_id), 0, int(limit) - 1)]
    records = await redis.mget([manifests.manifest_key(shop_id, i) for i in ids]) if ids else []
    base = request.app[CONFIG].public_url or str(request.url.origin()).rstrip("/")  # as handover.web's links
    return json_response({"data": [manifests.summary(orjson.loads(raw), base) for raw in records if raw is not None]})
