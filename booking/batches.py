"""A booking batch remembered by its id, so a shop can act on the batch as one (print its labels in one job).

``POST /v1/shipments/batch`` answers with a ``batch_id``; the tracking numbers the batch booked are kept under it
for ``TTL_S`` in the shop's hash-tag partition: ``{pN}:batch:<shop>:<id>`` (JSON array). Another shop's batch id
finds nothing: the key carries the caller's shop.
"""

from __future__ import annotations

import secrets

import orjson
import redis.asyncio as aioredis

from kernel.store import keys

TTL_S = 30 * 24 * 3600  # a month to print a batch's labels again


def new_batch_id() -> str:
    return f"B{secrets.token_hex(6).upper()}"


def batch_key(shop_id: int, batch_id: str) -> str:
    return f"{keys.tag(shop_id)}:batch:{shop_id}:{batch_id}"


async def remember(redis: aioredis.Redis, shop_id: int, batch_id: str, tracking_numbers: list[str]) -> None:
    if tracking_numbers:
        await redis.set(batch_key(shop_id, batch_id), orjson.dumps(tracking_numbers), ex=TTL_S)


async def parcels(redis: aioredis.Redis, shop_id: int, batch_id: str) -> list[str] | None:
    """The tracking numbers the shop's batch booked, in its order; None for no such batch of this shop."""
    if not batch_id or len(batch_id) > 40:
        return None
    raw = await redis.get(batch_key(shop_id, batch_id))
    return orjson.loads(raw) if raw else None
