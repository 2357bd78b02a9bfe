"""Proof of delivery outside the scan: the shop's view of it, a supervisor's unlock, the shop's setting, and the
buyer's code for the SMS sender (docs/pod.md)."""

from __future__ import annotations

import time
from typing import Any

import orjson
import redis.asyncio as aioredis

from kernel.errors import Conflict, Forbidden, NotFound
from kernel.postal.timeutil import iso_ms
from kernel.store import keys
from kernel.store.batcher import Batcher, Script
from kernel.store.keys import FEED_MAXLEN
from tracking.scans import RUNS
from tracking.staff import Staff

from .policy import FIELD, METHOD_FA, POLICY, Policy
from .scan import LOCKED_FIELD, RECORD_FIELD, UNLOCKS_FIELD, VERIFIED_FIELD, WRONG_FIELD, code_key
from .storage import Storage


class PodNotFound(NotFound):
    code = "pod_not_found"
    title = "No proof of delivery for this parcel"


class SupervisorRequired(Forbidden):
    code = "supervisor_required"
    title = "Only a supervisor may do this"


class UnlockOfficeNotResponsible(Forbidden):
    code = "unlock_office_not_responsible"
    title = "Only the parcel's delivering office may unlock it"


class DeliveryNotLocked(Conflict):
    code = "delivery_not_locked"
    title = "The parcel's delivery is not locked"


# A supervisor's unlock: the wrong codes are forgiven (the buyer's code stays), the unlock is kept on the parcel and
# told to the shop (a ``delivery_unlocked`` event). KEYS 1 outbox, 2 feed, 3 parcel.
# ARGV 1 shop, 2 tn, 3 staff office, 4 staff id, 5 now ISO, 6 feed max -> {verdict, detail, event id}
UNLOCK = RUNS + r"""
local shop, tn, office = ARGV[1], ARGV[2], ARGV[3]
local p = redis.call('HMGET', KEYS[3], 'status', '""" + LOCKED_FIELD + "', '" + WRONG_FIELD + r"""', 'delivery_office',
                     'doc', '""" + UNLOCKS_FIELD + r"""')
if not p[1] then return {'NOT_FOUND', '', ''} end
local responsible = p[4] or cjson.decode(p[5])['delivering_office']
if responsible ~= office then return {'NOT_RESPONSIBLE', responsible, ''} end
if not p[2] then return {'NOT_LOCKED', '', ''} end
local seq = tostring(redis.call('HINCRBY', KEYS[3], 'seq', 1))
local eid = 'evt_' .. tn .. '_' .. seq
local audit = cjson.encode({at = ARGV[5], staff_id = tonumber(ARGV[4]), office = office, locked_at = p[2],
                            wrong_codes = tonumber(p[3] or '0'), event_id = eid})
redis.call('HDEL', KEYS[3], '""" + LOCKED_FIELD + r"""')
redis.call('HSET', KEYS[3], '""" + WRONG_FIELD + r"""', 0, '""" + UNLOCKS_FIELD + r"""',
           p[6] and (p[6] .. '\n' .. audit) or audit)
local e = '{"id":"' .. eid .. '","type":"delivery_unlocked","tracking_number":"' .. tn .. '","shop_id":' .. shop
  .. ',"status":"' .. p[1] .. '","occurred_at":"' .. ARGV[5] .. '","recorded_at":"' .. ARGV[5] .. '","office":"'
  .. office .. '","data":' .. audit .. '}'
outbox_add(KEYS[1], shop, tn, e)
feed_add(KEYS[2], e)
feed_flush(KEYS[2])
redis.call('XTRIM', KEYS[2], 'MAXLEN', '~', ARGV[6])
outbox_flush(KEYS[1], shop)
return {'OK', p[3] or '0', eid}
"""


async def delivery_code(store: aioredis.Redis, tracking_number: str) -> str | None:
    """The buyer's current delivery code of ``tracking_number``, for the out-for-delivery SMS; None when the parcel
    needs none, has none yet, or its text has expired. Only the buyer gets it: no shop or staff route shows it."""
    shop = await store.get(keys.tracking_index(tracking_number))
    if shop is None:
        return None
    code = await store.get(code_key(int(shop), tracking_number))
    return code.decode() if code is not None else None


class PodService:
    def __init__(self, redis: aioredis.Redis, batcher: Batcher, storage: Storage, policy: Policy = POLICY) -> None:
        self.redis = redis
        self.batcher = batcher
        self.storage = storage
        self.policy = policy
        self._unlock = Script(UNLOCK)

    async def view(self, shop_id: int, tn: str, now: float | None = None) -> dict[str, Any]:
        """The proof of delivery as its shop sees it, with signed image links that expire."""
        got = await self.redis.hmget(keys.parcel(shop_id, tn), "status", RECORD_FIELD, VERIFIED_FIELD,
                                     UNLOCKS_FIELD)
        status, record, verified, unlocks = got
        if status is None or record is None:
            raise PodNotFound(f"parcel {tn} of this shop has no proof of delivery",
                              f"برای مرسولهٔ {tn} در این فروشگاه رسید تحویل ثبت نشده است")
        r = orjson.loads(record)
        now = time.time() if now is None else now
        ttl = self.policy.link_ttl_s
        method = (verified or b"none").decode()
        relation = r.get("receiver_relation")
        return {
            "tracking_number": tn, "status": status.decode(), "delivered_at": r["delivered_at"],
            "delivered_by": {"office": r["office"], "staff_id": r["staff_id"], "staff_name": r["staff_name"]},
            "received_by": {"name": r["receiver_name"], "relation": relation,
                            "relation_fa": self.policy.relation_fa(relation) if relation else None},
            "verification": method, "verification_fa": METHOD_FA.get(method, method),
            "location": r.get("location"),
            "photo_url": self.storage.signed_url(r["photo"], ttl, now) if r.get("photo") else None,
            "signature_url": self.storage.signed_url(r["signature"], ttl, now) if r.get("signature") else None,
            "links_expire_at": iso_ms(now + ttl),
            "scan_id": r["scan_id"],
            "unlocks": [orjson.loads(u) for u in unlocks.split(b"\n")] if unlocks else [],
        }

    async def unlock(self, staff: Staff, shop_id: int, tn: str) -> dict[str, Any]:
        """A supervisor of the parcel's delivering office forgives its wrong codes."""
        if staff.role != "supervisor":
            raise SupervisorRequired("only a supervisor of the delivering office may unlock a delivery",
                                     "فقط سرپرست ادارهٔ توزیع‌کننده می‌تواند قفل تحویل مرسوله را باز کند")
        now = time.time()
        res = await self.batcher.evalsha(
            self._unlock, [keys.partition_events(keys.partition_of(shop_id)), keys.shop_feed(shop_id),
                           keys.parcel(shop_id, tn)],
            [shop_id, tn, staff.office, staff.id, iso_ms(now), FEED_MAXLEN])
        verdict, detail, eid = (x.decode() for x in res)
        if verdict == "NOT_FOUND":
            raise PodNotFound(f"no parcel {tn}", f"مرسوله‌ای با کد رهگیری {tn} وجود ندارد", code="parcel_not_found")
        if verdict == "NOT_RESPONSIBLE":
            raise UnlockOfficeNotResponsible(
                f"{tn} is delivered by {detail}; only its supervisor may unlock it, not {staff.office}'s",
                f"قفل مرسولهٔ {tn} را فقط سرپرست ادارهٔ توزیع‌کنندهٔ آن ({detail}) می‌تواند باز کند",
                extra={"responsible_office": detail})
        if verdict == "NOT_LOCKED":
            raise DeliveryNotLocked(f"the delivery of {tn} is not locked", f"تحویل مرسولهٔ {tn} قفل نیست")
        return {"tracking_number": tn, "unlocked": True, "wrong_codes_forgiven": int(detail), "event_id": eid,
                "office": staff.office, "staff_id": staff.id}

    async def set_shop_setting(self, shop_id: int, method: str | None) -> None:
        """The shop's own verification for its parcels (None: the data's default)."""
        if method is None:
            await self.redis.hdel(keys.shop(shop_id), FIELD)
        else:
            await self.redis.hset(keys.shop(shop_id), FIELD, method)
