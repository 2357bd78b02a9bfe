"""Shared fixtures: one real Redis-protocol server per test session, real aiohttp over loopback.

With REDIS_URL set the tests use that server (each test works in its own fresh shops, so nothing is flushed);
otherwise an embedded server is started in a temporary directory, exactly as the gateway starts it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from booking.shops import ShopRegistry
from gateway.web_app import create_app
from kernel.settings import Config
from kernel.store import keys
from kernel.store.client import EmbeddedStore
from money.accounts import example_bank

DATA = Path(__file__).parent / "data"

TEHRAN_SENDER = {
    "name": "فروشگاه نمونه", "phone": "09121234567", "postal_code": "1458973311", "province": "تهران",
    "city": "تهران", "address": "تهران، خیابان آزادی، پلاک ۱۰",
}
# Test shops have a verified payout account, as the money policy requires of a shop that books COD.
VERIFIED_BANK = {"bank": example_bank()}


async def stored_parcels(redis: aioredis.Redis, shop_id: int) -> int:
    """How many parcels the shop's indexes hold: every parcel is in exactly one status index."""
    return sum([await redis.zcard(keys.shop_status_index(shop_id, st)) for st in keys.STATUSES])


def shipment_body(**overrides) -> dict:
    """A valid COD booking from Tehran to Isfahan; keyword arguments replace top-level fields.

    Tests book this same order again and again, so it says it is another parcel of its order (a second live
    parcel with one client_order_id is refused otherwise): tests of that rule pass another_parcel_of_order=None.
    """
    body = {
        "client_order_id": "ORD-1001",
        "another_parcel_of_order": True,
        "service": "pishtaz",
        "payment": {"type": "cod", "goods_value": 12_000_000},
        "receiver": {
            "name": "علی رضایی", "phone": "۰۹۱۳ ۱۲۳ ۴۵۶۷", "postal_code": "۸۱۳۸۶-۳۴۵۶۱", "province": "اصفهان",
            "city": "اصفهان", "address": "خیابان چهارباغ، کوچه ۵",
        },
        "parcel": {"weight_g": 1200, "declared_value": 5_000_000, "contents": "کتاب"},
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


@pytest.fixture(scope="session")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    store = EmbeddedStore(tmp_path_factory.mktemp("store"))
    url = store.start()
    try:
        yield url
    finally:
        store.stop()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """A real three-node Redis Cluster (started only for the tests that ask for it)."""
    from tests.cluster import LocalCluster

    for attempt in range(3):  # a random port can be taken between the probe and the bind
        c = LocalCluster(tmp_path_factory.mktemp("cluster"))
        try:
            c.start()
            break
        except RuntimeError:
            c.stop()
            if attempt == 2:
                raise
    yield c
    c.stop()


@pytest.fixture
async def redis(store_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(store_url)
    yield client
    await client.aclose()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(data_dir=tmp_path, access_log=False)


@pytest.fixture
async def app_client(aiohttp_client, config: Config, store_url: str):
    """A test client of the real app on a real loopback port."""
    return await aiohttp_client(create_app(config, store_url))


class ShopHandle:
    def __init__(self, shop, api_key: str) -> None:
        self.shop = shop
        self.id = shop.id
        self.api_key = api_key
        self.headers = {"Authorization": f"Bearer {api_key}"}


@pytest.fixture
def make_shop(redis: aioredis.Redis):
    async def make(name: str = "shop", **kwargs) -> ShopHandle:
        kwargs.setdefault("sender", TEHRAN_SENDER)
        kwargs.setdefault("bank", VERIFIED_BANK["bank"])  # COD bookings need a verified payout account
        shop, key = await ShopRegistry(redis).create(name, **kwargs)
        return ShopHandle(shop, key)

    return make


@pytest.fixture
async def shop(make_shop) -> ShopHandle:
    return await make_shop("Digikala-test")
