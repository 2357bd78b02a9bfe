"""Seeding a system for a run: shops (store), one staff member per office (store), one webhook endpoint per shop
pointing at the loopback receiver (API), and a pool of parcels booked through the API so staff have work at
once. Everything the Locust workers need goes into one JSON file."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import redis.asyncio as aioredis

from booking.shops import ShopRegistry
from kernel.postal.offices import load_registry
from money.accounts import example_bank
from tracking.staff import create_staff

from .bodies import party, shipment

SENDER_OFFICES = ("THR-06", "THR-02", "THR-12", "IFN-01", "MHD-01", "SYZ-01", "TBZ-01", "KRJ-01")


async def _store_side(redis_url: str, shops: int, rng: random.Random) -> tuple[list[dict], dict[str, str]]:
    registry = load_registry()
    redis = aioredis.Redis.from_url(redis_url)
    try:
        made = []
        for i in range(shops):
            office = SENDER_OFFICES[i % len(SENDER_OFFICES)]
            sender = {**party(rng, registry, office), "name": f"فروشگاه آزمایشی {i + 1}"}
            # Rate limits are not what this test measures: a shop's limit is far above the offered load.
            shop, key = await ShopRegistry(redis).create(f"loadtest-{i + 1}", sender=sender, rate_per_s=1e6,
                                                         rate_burst=10**6, bank=example_bank())
            made.append({"id": shop.id, "key": key, "origin": office})
        staff = {}
        for code in registry.offices:
            staff[code] = (await create_staff(redis, registry, code, f"کارمند {code}"))["token"]
        return made, staff
    finally:
        await redis.aclose()


async def _api_side(base: str, shops: list[dict], receiver_url: str, parcels: int, rng: random.Random) -> list:
    registry = load_registry()
    pool = []
    async with aiohttp.ClientSession(base) as http:
        for shop in shops:
            auth = {"Authorization": f"Bearer {shop['key']}"}
            async with http.post("/v1/webhooks", json={"url": f"{receiver_url}/hook/{shop['id']}", "events": ["*"]},
                                 headers=auth) as resp:
                data = await resp.json()
                if resp.status != 201:
                    raise RuntimeError(f"webhook registration failed: {resp.status} {data}")
                shop["secret"] = data["secret"]
            for start in range(0, parcels, 100):
                body = {"shipments": [shipment(rng, registry, f"SEED-{shop['id']}-{start + i}")
                                      for i in range(min(100, parcels - start))]}
                async with http.post("/v1/shipments/batch", json=body, headers=auth) as resp:
                    data = await resp.json()
                    if resp.status != 200 or data["rejected"]:
                        raise RuntimeError(f"seed booking failed: {resp.status} {data}")
                pool += [{"shop": shop["id"], "origin": shop["origin"], "doc": r["shipment"]}
                         for r in data["results"]]
    return pool


def seed(base: str, redis_url: str, receiver_url: str, *, shops: int, parcels: int, path: Path,
         seed_value: int = 1404) -> dict[str, Any]:
    """Create everything and write it to ``path``; returns the same dict."""
    rng = random.Random(seed_value)
    made, staff = asyncio.run(_store_side(redis_url, shops, rng))
    pool = asyncio.run(_api_side(base, made, receiver_url, parcels, rng))
    data = {"shops": made, "staff": staff, "pool": pool}
    path.write_bytes(orjson.dumps(data))
    return data
