"""API key rotation with an overlap: both keys work until it ends (by time or by the operator), keys stay hashed."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from booking.shops import ShopRegistry
from kernel.settings import Config
from kernel.store import keys
from tests.conftest import shipment_body

ROOT = Path(__file__).resolve().parents[2]


def bearer(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


async def test_both_keys_work_during_the_overlap_and_the_old_stops_when_it_ends(app_client, shop, redis):
    registry = ShopRegistry(redis)
    new_key = await registry.rotate_key(shop.id, overlap_s=1.5)
    for headers in (shop.headers, bearer(new_key)):
        assert (await app_client.get("/v1/shipments", headers=headers)).status == 200
        assert (await app_client.post("/v1/shipments", json=shipment_body(), headers=headers)).status == 201
    assert "previous_key_valid_until" in (await registry.get(shop.id)).public()
    await asyncio.sleep(1.6)
    old = await app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)
    assert old.status == 401 and (await old.json())["code"] == "invalid_api_key"
    assert (await app_client.get("/v1/shipments", headers=shop.headers)).status == 401
    assert (await app_client.get("/v1/shipments", headers=bearer(new_key))).status == 200


async def test_the_default_overlap_is_a_day_and_ending_it_early_stops_the_old_key(app_client, shop, redis):
    registry = ShopRegistry(redis)
    assert Config().key_rotation_overlap_s == 86400
    new_key = await registry.rotate_key(shop.id)
    until = int(await redis.hget(keys.shop(shop.id), "prev_key_until"))
    now_ms = int((await redis.time())[0]) * 1000
    assert 86395_000 < until - now_ms <= 86401_000
    assert (await app_client.get("/v1/shipments", headers=shop.headers)).status == 200
    await registry.end_rotation(shop.id)
    # At once, though the gateway cached the old key's profile a moment ago: the store decides.
    assert (await app_client.get("/v1/shipments", headers=shop.headers)).status == 401
    assert (await app_client.post("/v1/shipments", json=shipment_body(), headers=shop.headers)).status == 401
    assert (await app_client.get("/v1/shipments", headers=bearer(new_key))).status == 200


async def test_a_second_rotation_retires_the_first_key(app_client, shop, redis):
    registry = ShopRegistry(redis)
    second = await registry.rotate_key(shop.id)
    third = await registry.rotate_key(shop.id)
    assert (await app_client.get("/v1/shipments", headers=shop.headers)).status == 401
    assert (await app_client.get("/v1/shipments", headers=bearer(second))).status == 200
    assert (await app_client.get("/v1/shipments", headers=bearer(third))).status == 200


async def test_rotated_keys_are_stored_only_as_hashes(shop, redis):
    new_key = await ShopRegistry(redis).rotate_key(shop.id)
    stored = await redis.hgetall(keys.shop(shop.id))
    for secret in (shop.api_key, new_key):
        assert all(secret.encode() not in v for v in stored.values())
    assert len(stored[b"key_hash"]) == len(stored[b"prev_key_hash"]) == 64


def test_the_cli_rotates_with_an_overlap_and_ends_it(store_url, tmp_path):
    env = {**os.environ, "REDIS_URL": store_url, "BARID_DATA": str(tmp_path)}

    def cli(*args: str) -> dict:
        out = subprocess.run([sys.executable, "-m", "gateway", *args], env=env, cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    shop = cli("shops", "create", "--name", "rotating")
    rotated = cli("shops", "rotate-key", "--shop", str(shop["shop_id"]))
    assert rotated["api_key"] != shop["api_key"] and "previous_key_valid_until" in rotated
    ended = cli("shops", "end-rotation", "--shop", str(shop["shop_id"]))
    assert "previous_key_valid_until" not in ended
    at_once = cli("shops", "rotate-key", "--shop", str(shop["shop_id"]), "--overlap", "0")
    assert "previous_key_valid_until" not in at_once
