"""The booking engine: the parcel hash's history read back, and a single booking's lean path."""

from __future__ import annotations

import asyncio

import orjson
import redis.asyncio as aioredis

from booking import service as booking
from booking.service import BookingService, Caller
from booking.shops import Shop
from booking.validation import RequestValidator
from kernel.postal.network import ParcelNetwork
from kernel.postal.s10 import parse_tracking_number
from kernel.postal.tariff import Limits, Tariff
from kernel.store.keys import parcel_history
from tests.conftest import TEHRAN_SENDER, shipment_body


def test_history_is_ordered_by_occurrence_then_by_sequence_number():
    parcel = {
        b"doc": b"{}", b"seq": b"11", b"scan:a": b"evt_X_3|accepted|2000",
        b"h:1000:1": b"booked", b"h:2000:3": b"accepted", b"h:1500:2": b"late",
        b"h:3000:10": b"tenth", b"h:3000:9": b"ninth", b"h:999:11": b"sent-from-a-fast-clock",
    }
    assert parcel_history(parcel) == [b"sent-from-a-fast-clock", b"booked", b"late", b"accepted", b"ninth", b"tenth"]


class CapturingBatcher:
    """Records what a booking would send the store, and answers as a store that accepted it."""

    def __init__(self) -> None:
        self.sent: list[tuple] = []

    def _accepted(self, evalsha: tuple, commands) -> asyncio.Future:
        self.sent.append((evalsha, list(commands)))
        fut = asyncio.get_running_loop().create_future()
        fut.set_result([[b"OK"], *[b"OK"] * len(commands)])
        return fut

    def group(self, script, keys, args, commands) -> asyncio.Future:
        return self._accepted(("EVALSHA", script.sha, len(keys), *keys, *args), commands)

    def script_and(self, script, evalsha, commands) -> asyncio.Future:
        return self._accepted(evalsha, commands)


async def test_a_single_booking_sends_the_store_exactly_what_a_one_item_batch_sends(store_url, monkeypatch):
    redis = aioredis.Redis.from_url(store_url)
    batcher = CapturingBatcher()
    service = BookingService(redis, batcher, Limits.load(), Tariff.load(), ParcelNetwork(), default_rate=10.0,
                             default_burst=20, idempotency_ttl_s=3600, serial_block=10)
    validator = RequestValidator(Limits.load())
    caller = Caller(Shop(7, "shop", "active", "h" * 64, TEHRAN_SENDER), "h" * 64)
    monkeypatch.setattr(booking.time, "time", lambda: 1_795_881_053.2049)  # both booked in the same millisecond

    def request():
        return validator.shipment(shipment_body(), TEHRAN_SENDER)[0]

    try:
        assert await service.book_one(caller, request()) is None  # no serial at hand yet: book() takes a block
        assert batcher.sent == []
        views, replay = await service.book(caller, [request()], idempotency_key=None, request_fp="", render=None)
        one = await service.book_one(caller, request())  # the next serial of that block
    finally:
        await redis.aclose()
    assert replay is None and one is not None
    first, second = orjson.loads(views[0])["tracking_number"], orjson.loads(one)["tracking_number"]
    assert parse_tracking_number(second)[1] == parse_tracking_number(first)[1] + 1
    assert one.replace(second.encode(), first.encode()) == views[0]
    assert repr(batcher.sent[1]).replace(second, first) == repr(batcher.sent[0])
