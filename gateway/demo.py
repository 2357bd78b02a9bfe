"""Demo data for a fresh system: a shop with a key, and a few parcels booked through the real booking path.

Runs only when the store has no shop yet, so it never touches a configured system. The demo key is written to
``<data_dir>/demo.json`` (it is shown only once otherwise).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis

from booking.service import BookingService, Caller
from booking.shops import ShopRegistry, hash_key
from booking.validation import RequestValidator
from kernel.postal.network import ParcelNetwork
from kernel.postal.offices import load_registry
from kernel.postal.tariff import Limits, Tariff
from kernel.settings import Config
from kernel.store import keys
from kernel.store.batcher import Batcher
from money.accounts import example_bank
from tracking.staff import create_staff

DEMO_SENDER = {
    "name": "فروشگاه برید", "phone": "09121234567", "postal_code": "1458973311", "province": "تهران",
    "city": "تهران", "address": "تهران، خیابان آزادی، پلاک ۱۲",
}

DEMO_RECEIVERS = [
    ("مریم احمدی", "09123456789", "1916753411", "تهران", "تهران", "خیابان ولیعصر، کوچه بهار، پلاک ۴"),
    ("رضا کریمی", "09351234567", "8174673151", "اصفهان", "اصفهان", "خیابان چهارباغ عباسی، پلاک ۱۸"),
    ("زهرا موسوی", "09151112233", "9178934561", "خراسان رضوی", "مشهد", "بلوار وکیل‌آباد، پلاک ۷"),
    ("حسین رحیمی", "09171234567", "7134873411", "فارس", "شیراز", "خیابان زند، کوچه ۱۲"),
    ("فاطمه نوری", "09141234567", "5166715331", "آذربایجان شرقی", "تبریز", "خیابان امام، پلاک ۳۳"),
    ("علی حسینی", "09161234567", "6135733911", "خوزستان", "اهواز", "کیانپارس، خیابان ۵"),
]


def demo_bodies(n: int, seed: int = 1404) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    bodies = []
    for i in range(n):
        name, phone, postal, province, city, address = DEMO_RECEIVERS[i % len(DEMO_RECEIVERS)]
        cod = rng.random() < 0.6
        bodies.append({
            "client_order_id": f"DEMO-{1000 + i}",
            "service": rng.choice(("pishtaz", "sefareshi")),
            "payment": {"type": "cod", "goods_value": rng.randrange(50, 500) * 100_000} if cod else {"type": "prepaid"},
            "receiver": {"name": name, "phone": phone, "postal_code": postal, "province": province, "city": city,
                         "address": address},
            "parcel": {"weight_g": rng.randrange(200, 8000), "contents": "کالای نمونه"},
        })
    return bodies


async def seed_demo(redis: aioredis.Redis, config: Config, parcels: int = 12) -> dict[str, Any] | None:
    """Create the demo shop and book ``parcels`` for it, unless the store already has shops."""
    if await redis.scard(keys.SHOPS_ALL):
        return None
    shop, api_key = await ShopRegistry(redis).create("فروشگاه نمونه برید", sender=DEMO_SENDER,
                                                     enamad_id="DEMO-ENAMAD",
                                                     bank=example_bank())
    limits = Limits.load(config.limits_path)
    tariff = Tariff.load(config.tariff_path, limits)
    booking = BookingService(redis, Batcher(redis), limits, tariff, ParcelNetwork(), default_rate=config.rate_per_s,
                             default_burst=config.rate_burst, idempotency_ttl_s=config.idempotency_ttl_s,
                             serial_block=config.serial_block)
    validator = RequestValidator(limits)
    reqs = []
    for body in demo_bodies(parcels):
        req, errs = validator.shipment(body, shop.sender)
        assert not errs, errs.items  # the demo data is ours: a failure here is a bug
        reqs.append(req)
    views, _ = await booking.book(Caller(shop, hash_key(api_key)), reqs, idempotency_key=None, request_fp="",
                                  render=None)
    staff = await create_staff(redis, load_registry(), "THR-06", "کارمند نمونه")
    info = {"shop_id": shop.id, "api_key": api_key, "tracking_numbers": [orjson.loads(v)["tracking_number"] for v in views],
            "staff": {"office": "THR-06", "token": staff["token"]}}
    path = Path(config.data_dir) / "demo.json"
    path.write_bytes(orjson.dumps(info, option=orjson.OPT_INDENT_2))
    path.chmod(0o600)
    return info
