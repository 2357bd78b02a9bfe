"""Buyers' returns: a shop sends a delivered parcel back from its buyer (``POST /v1/returns``), within a window.

The return parcel (``returns.legs``, kind ``buyer_return``) has its own tracking number and label, goes from the
buyer's address to the shop's, and starts ``pre_transit`` (``booked``) until the buyer hands it in at a counter.
Its fee (``Tariff.return_fee`` of a quote from the buyer to the shop) is in its document and charged only when
the post accepts it (money.rules posts it on its first ``accepted`` event). One script checks everything the
request depends on (the parcel is the shop's, delivered, within the window, without a return yet, not a return
itself) and makes the return, or changes nothing.
"""

from __future__ import annotations

import time
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis

from booking.service import VIEW_FIELDS, ShipmentNotFound, shipment_view
from kernel.errors import Conflict
from kernel.postal.timeutil import iso_ms
from kernel.store import keys
from kernel.store.batcher import Batcher, Script

from .legs import NEW_RETURN, Legs, shop_returns

POLICY_PATH = Path(__file__).with_name("data") / "returns.toml"
REASONS = {
    "wrong_size": "اندازه مناسب نبود",
    "damaged": "کالا آسیب دیده بود",
    "not_as_described": "کالا با توضیحات فروشگاه یکسان نبود",
    "changed_mind": "خریدار از خرید منصرف شد",
}
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class ReturnPolicy:
    window_days: int = 7
    list_max: int = 100


@lru_cache(maxsize=4)
def load_policy(path: str | Path | None = None) -> ReturnPolicy:
    raw = tomllib.loads(Path(path or POLICY_PATH).read_text(encoding="utf-8"))
    policy = ReturnPolicy(window_days=int(raw["window_days"]), list_max=int(raw["list_max"]))
    if policy.window_days < 1 or policy.list_max < 1:
        raise ValueError(f"{POLICY_PATH.name}: window_days and list_max must be positive")
    return policy


class ReturnNotDelivered(Conflict):
    code = "return_not_delivered"
    title = "Only a delivered parcel can be returned by its buyer"


class ReturnWindowClosed(Conflict):
    code = "return_window_closed"
    title = "The return window of this parcel has closed"


class ReturnExists(Conflict):
    code = "return_exists"
    title = "This parcel already has a return"


class ReturnOfReturn(Conflict):
    code = "return_of_return"
    title = "A return parcel cannot be returned"


# KEYS 1 outbox, 2 feed, 3 original, 4 return parcel, 5 the shop's pre_transit index, 6 the shop's returns,
#      7 the shop's live orders, 8 the original's earlier return (its parcel key; the new one's when it has none).
# ARGV 1 shop, 2 original tn, 3 return tn, 4 its document, 5 now ms, 6 now ISO, 7 feed max, 8 the earliest
#      delivery (ms) the window allows, 9 the return's first event data (JSON), 10 the original's event data (JSON)
# -> {'OK', tn} | {'NOT_FOUND'} | {'IS_RETURN', original} | {'EXISTS', tn} | {'NOT_DELIVERED', status} |
#    {'WINDOW', delivered ms}
CREATE = NEW_RETURN + r"""
local o = redis.call('HMGET', KEYS[3], 'status', 'delivered_ms', 'return_leg', 'return_of')
if not o[1] then return {'NOT_FOUND'} end
if o[4] then return {'IS_RETURN', o[4]} end
if o[3] then  -- a return cancelled before the buyer handed it in makes room for another
  if KEYS[8]:sub(-#o[3]) ~= o[3] or redis.call('HGET', KEYS[8], 'status') ~= 'cancelled' then
    return {'EXISTS', o[3]}
  end
  redis.call('HDEL', KEYS[3], 'return_leg')
end
if o[1] ~= 'delivered' then return {'NOT_DELIVERED', o[1]} end
if tonumber(o[2] or '0') < tonumber(ARGV[8]) then return {'WINDOW', o[2] or '0'} end
local tn = new_return(KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4],
  'buyer_return', 'booked', '', ARGV[5], ARGV[6], ARGV[7], 'return_requested', 'delivered', ARGV[10], ARGV[9], KEYS[7])
return {'OK', tn}
"""


class BuyerReturns:
    def __init__(self, redis: aioredis.Redis, batcher: Batcher, legs: Legs, policy: ReturnPolicy) -> None:
        self.redis, self.batcher, self.legs, self.policy = redis, batcher, legs, policy
        self._create = Script(CREATE)

    async def create(self, shop_id: int, tn: str, reason: str, now: float | None = None) -> dict[str, Any]:
        """The return parcel of the shop's delivered parcel ``tn`` as ``GET /v1/shipments`` shows it, or the
        refusal (nothing written). ``now``: the clock (tests move it past the window)."""
        now = time.time() if now is None else now
        now_ms = int(now * 1000)
        earliest = now_ms - self.policy.window_days * DAY_MS
        h = dict(zip(("doc", "status", "delivered_ms", "return_leg", "return_of", "receiver_address"),
                     await self.redis.hmget(keys.parcel(shop_id, tn), "doc", "status", "delivered_ms", "return_leg",
                                            "return_of", "receiver_address")))
        earlier = None  # a return cancelled before it was handed in leaves room for another
        if h["return_leg"] is not None and await self.redis.hget(
                keys.parcel(shop_id, h["return_leg"].decode()), "status") == b"cancelled":
            earlier, h["return_leg"] = h["return_leg"].decode(), None
        # Refused before a number is taken; the script checks the same again, atomically with the writing.
        self._raise(tn, self._verdict(h, earliest))
        original = orjson.loads(h["doc"])  # type: ignore[arg-type]
        doc = self.legs.document(original, await self.legs.new_number(original["service"]), "buyer_return", None,
                                 now, reason=reason, buyer=Legs.current_receiver(original, h["receiver_address"]))
        ret = doc["tracking_number"]
        await self.legs.index_outside(shop_id, doc)
        p = keys.partition_of(shop_id)
        res = await self.batcher.evalsha(self._create, [
            keys.partition_events(p), keys.shop_feed(shop_id), keys.parcel(shop_id, tn), keys.parcel(shop_id, ret),
            keys.shop_status_index(shop_id, "pre_transit"), shop_returns(shop_id), keys.shop_live_orders(shop_id),
            keys.parcel(shop_id, earlier or ret)], [
            shop_id, tn, ret, orjson.dumps(doc), now_ms, iso_ms(now), keys.FEED_MAXLEN, earliest,
            orjson.dumps({"return_of": tn, "kind": "buyer_return", "reason": reason, "service": doc["service"],
                          "delivering_office": doc["delivering_office"], "expected_delivery": doc["expected_delivery"]}),
            orjson.dumps({"return_parcel": ret, "kind": "buyer_return", "reason": reason})])
        verdict = [x.decode() for x in res]
        if not await self.legs.after(shop_id, tn, doc, None):
            self._raise(tn, verdict)
        return await self.view(shop_id, ret)

    def _verdict(self, h: dict[str, bytes | None], earliest: int) -> list[str]:
        if h["status"] is None:
            return ["NOT_FOUND"]
        if h["return_of"] is not None:
            return ["IS_RETURN", h["return_of"].decode()]
        if h["return_leg"] is not None:
            return ["EXISTS", h["return_leg"].decode()]
        if h["status"] != b"delivered":
            return ["NOT_DELIVERED", h["status"].decode()]
        if int(h["delivered_ms"] or 0) < earliest:
            return ["WINDOW", (h["delivered_ms"] or b"0").decode()]
        return ["OK"]

    def _raise(self, tn: str, verdict: list[str]) -> None:
        what = verdict[0]
        if what == "OK":
            return
        if what == "NOT_FOUND":
            raise ShipmentNotFound(f"no shipment {tn} in this shop", f"مرسوله {tn} در این فروشگاه یافت نشد")
        if what == "IS_RETURN":
            raise ReturnOfReturn(f"{tn} is the return of {verdict[1]}; a return is not returned again",
                                 f"مرسوله {tn} خود بازگشت مرسوله {verdict[1]} است و دوباره بازگردانده نمی‌شود",
                                 extra={"return_of": verdict[1]})
        if what == "EXISTS":
            raise ReturnExists(f"{tn} already has the return {verdict[1]}",
                               f"برای مرسوله {tn} پیش‌تر بازگشت {verdict[1]} ثبت شده است",
                               extra={"return_parcel": verdict[1]})
        if what == "NOT_DELIVERED":
            raise ReturnNotDelivered(f"{tn} is {verdict[1]}; a buyer can only return a delivered parcel",
                                     f"مرسوله {tn} هنوز به خریدار تحویل نشده است؛ فقط مرسولهٔ تحویل‌شده بازگردانده "
                                     "می‌شود", extra={"parcel_status": verdict[1]})
        days = self.policy.window_days
        delivered = iso_ms(int(verdict[1]) / 1000)
        raise ReturnWindowClosed(f"{tn} was delivered at {delivered}; returns are accepted within {days} days of "
                                 "delivery", f"مهلت {days} روزهٔ بازگشت مرسوله {tn} پس از تحویل آن به پایان رسیده "
                                 "است", extra={"delivered_at": delivered, "window_days": days})

    async def view(self, shop_id: int, tn: str) -> dict[str, Any]:
        values = await self.redis.hmget(keys.parcel(shop_id, tn), VIEW_FIELDS)
        return shipment_view(dict(zip(VIEW_FIELDS, values)))

    async def list(self, shop_id: int, *, kind: str | None, after: str | None, limit: int) -> dict[str, Any]:
        """The shop's return parcels (both kinds), newest first; ``next_after`` continues the listing."""
        out: list[dict[str, Any]] = []
        start = f"({after}" if after else "+"
        cursor, more = after, False
        while len(out) < limit:
            members = await self.redis.zrevrangebylex(shop_returns(shop_id), start, "-", start=0, num=limit + 1)
            if not members:
                break
            pipe = self.redis.pipeline(transaction=False)
            for m in members:
                pipe.hmget(keys.parcel(shop_id, m.decode().partition(":")[2]), VIEW_FIELDS)
            for m, values in zip(members, await pipe.execute()):
                h = dict(zip(VIEW_FIELDS, values))
                if h[b"doc"] is None:
                    continue
                view = shipment_view(h)
                if kind is not None and view.get("kind") != kind:
                    cursor = m.decode()
                    continue
                if len(out) == limit:
                    more = True
                    break
                out.append(view)
                cursor = m.decode()
            if more or len(members) <= limit:
                break
            start = "(" + members[-1].decode()
        return {"data": out, "next_after": cursor if more else None, "has_more": more}
