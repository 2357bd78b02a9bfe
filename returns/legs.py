"""Return parcels: a parcel's way back to its shop as a parcel of its own, linked to the original both ways.

Two kinds, one shape (``kind`` in the document and the ``return_kind`` field of the parcel hash):

* ``return_to_sender``: a failed-delivery case that ends in a return (the shop's or the deadline's
  ``return_to_sender``, the last allowed attempt, a reason that sends the parcel back at once) turns the original
  to ``returning`` and makes its *leg* in the same script (``returns.cases``): a parcel from the office that holds
  it to the shop's address, already in the post's hands (its first event is ``accepted`` there, status
  ``in_transit``), prepaid, priced at zero. It is planned and scanned like any parcel; when it is delivered to the
  shop, ``FINISH`` turns the original to ``returned`` with the original's one ``returned_to_sender`` event, on
  which the ledger posts the return fee (``Tariff.return_fee`` of the booking's price, money.rules).
* ``buyer_return`` (``returns.buyer``): a buyer sends a delivered parcel back; the return parcel starts
  ``pre_transit`` (``booked``) at the buyer's office and carries its fee, charged when the post accepts it.

The original's hash gets ``return_leg`` (the return parcel's number), the return parcel's ``return_of`` (the
original's); both show in ``GET /v1/shipments/{tracking_number}``. The original gets an event naming its return
(``return_started`` or ``return_requested``), the return parcel its first event, on the feed and the outbox in
one entry each. All keys are of the shop's partition; the tracking-number index and the delivering office's
to-do list (keys outside it) are written around the script: the index before it (a dangling entry names no
parcel and is harmless), the to-do list after it (the planner drops what is not there).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import redis.asyncio as aioredis

from kernel.postal.network import IRAN_TIME, ParcelNetwork
from kernel.postal.s10 import format_tracking_number
from kernel.postal.tariff import Limits, Tariff, zone_of
from kernel.postal.timeutil import iso_ms
from kernel.store import keys
from kernel.store.serials import SerialAllocator

KINDS = ("return_to_sender", "buyer_return")
ZERO_PRICE = {"base": 0, "cod_fee": 0, "insurance": 0, "vat": 0, "total": 0, "currency": "IRR"}
SERIAL_BLOCK = 20  # returns are few: a small block wastes few numbers when a process stops


def shop_returns(shop_id: int) -> str:
    """Zset (score 0, members ``keys.index_member(created_ms, tn)``) of the shop's return parcels, both kinds."""
    return f"{keys.tag(shop_id)}:returns:{shop_id}"


# Makes a return parcel for an original, once: nothing when the original already has one (its number is returned)
# or is itself a return. Needs no other function; writes the outbox and the feed with XADDs of its own.
# ``live_key`` (the shop's live orders, or nil): a return that can be cancelled (a buyer's, before it is handed
# in) counts as a live parcel of the original's order, as a booking does, so its cancellation (cancel.lua) counts
# it out again and leaves the original's count as it was.
NEW_RETURN = r"""
local function new_return(orig_key, leg_key, index_key, returns_key, outbox, feed, shop, orig_tn, leg_tn, doc, kind,
                          first_type, office, now_ms, now_iso, feed_max, orig_type, orig_status, orig_data, leg_data,
                          live_key)
  local o = redis.call('HMGET', orig_key, 'return_leg', 'return_of', 'seq')
  if o[1] then return o[1], false end
  if o[2] or not o[3] then return nil, false end
  local office_json = (office ~= '') and ('"' .. office .. '"') or 'null'
  local oseq = tostring(redis.call('HINCRBY', orig_key, 'seq', 1))
  local oe = '{"id":"evt_' .. orig_tn .. '_' .. oseq .. '","type":"' .. orig_type .. '","tracking_number":"' .. orig_tn
    .. '","shop_id":' .. shop .. ',"status":"' .. orig_status .. '","occurred_at":"' .. now_iso .. '","recorded_at":"'
    .. now_iso .. '","office":' .. office_json .. ',"data":' .. orig_data .. '}'
  redis.call('HSET', orig_key, 'return_leg', leg_tn, 'updated_at', now_iso, '""" + keys.PARCEL_HISTORY_FIELD + r"""'
             .. now_ms .. ':' .. oseq, oe)
  -- from now on the original is scanned as its leg (tracking.scans refuses it); a buyer's return leaves the
  -- delivered original as it is (its COD may still be recorded)
  if kind == 'return_to_sender' then redis.call('HSET', orig_key, 'return_leg_ms', now_ms) end
  local status = (first_type == 'accepted') and 'in_transit' or 'pre_transit'
  local le = '{"id":"evt_' .. leg_tn .. '_1","type":"' .. first_type .. '","tracking_number":"' .. leg_tn
    .. '","shop_id":' .. shop .. ',"status":"' .. status .. '","occurred_at":"' .. now_iso .. '","recorded_at":"'
    .. now_iso .. '","office":' .. ((first_type == 'accepted') and office_json or 'null') .. ',"data":' .. leg_data
    .. '}'
  local h = {'doc', doc, 'status', status, 'status_at', now_iso, 'updated_at', now_iso, 'seq', 1,
             'created_ms', now_ms, 'return_of', orig_tn, 'return_kind', kind,
             '""" + keys.PARCEL_HISTORY_FIELD + r"""' .. now_ms .. ':1', le}
  if first_type == 'accepted' then
    h[#h + 1] = 'accepted_ms'; h[#h + 1] = now_ms; h[#h + 1] = 'status_ms'; h[#h + 1] = now_ms
  end
  redis.call('HSET', leg_key, unpack(h))
  if live_key then
    local oid = cjson.decode(doc)['client_order_id']
    if oid then redis.call('HINCRBY', live_key, oid, 1) end
  end
  local member = string.format('%013d', tonumber(now_ms)) .. ':' .. leg_tn  -- keys.index_member
  redis.call('ZADD', index_key, 0, member)
  redis.call('ZADD', returns_key, 0, member)
  redis.call('XADD', outbox, '*', 's', shop, 't', orig_tn, 'e', oe, 't', leg_tn, 'e', le)
  redis.call('XADD', feed, 'MAXLEN', '~', feed_max, '*', 'e', oe .. '\n' .. le)
  return leg_tn, true
end
"""

# A delivered return leg brings its original home. KEYS 1 outbox, 2 feed, 3 leg, 4 original, 5-12 the shop's
# status indexes (keys.STATUSES). ARGV 1 shop, 2 leg tn, 3 delivered at ISO, 4 delivered ms, 5 now ISO,
# 6 feed max. -> 'RETURNED' | 'DONE' (already final) | 'SKIP' (not a delivered leg)
FINISH = "local SLOT = {" + ", ".join(f"{s} = {i}" for i, s in enumerate(keys.STATUSES)) + "}\n" + r"""
local TERMINAL = {delivered = true, returned = true, cancelled = true}
local l = redis.call('HMGET', KEYS[3], 'return_of', 'return_kind', 'status', 'doc')
if l[2] ~= 'return_to_sender' or l[3] ~= 'delivered' then return 'SKIP' end
local o = redis.call('HMGET', KEYS[4], 'status', 'created_ms', 'return_leg')
if not o[1] or o[3] ~= ARGV[2] then return 'SKIP' end
if TERMINAL[o[1]] then return 'DONE' end
local orig_tn = l[1]
local office = cjson.decode(l[4])['delivering_office']
local seq = tostring(redis.call('HINCRBY', KEYS[4], 'seq', 1))
local e = '{"id":"evt_' .. orig_tn .. '_' .. seq .. '","type":"returned_to_sender","tracking_number":"' .. orig_tn
  .. '","shop_id":' .. ARGV[1] .. ',"status":"returned","occurred_at":"' .. ARGV[3] .. '","recorded_at":"' .. ARGV[5]
  .. '","office":"' .. office .. '","data":{"return_leg":"' .. ARGV[2] .. '","by":"return_leg_delivered"}}'
redis.call('HSET', KEYS[4], 'status', 'returned', 'status_at', ARGV[3], 'status_ms', ARGV[4], 'updated_at', ARGV[5],
           '""" + keys.PARCEL_HISTORY_FIELD + r"""' .. ARGV[4] .. ':' .. seq, e)
local created = o[2] or '0'
if #created ~= 13 then created = string.format('%013d', tonumber(created)) end  -- keys.index_member
local member = created .. ':' .. orig_tn
redis.call('ZREM', KEYS[5 + SLOT[o[1]]], member)
redis.call('ZADD', KEYS[5 + SLOT['returned']], 0, member)
redis.call('XADD', KEYS[1], '*', 's', ARGV[1], 't', orig_tn, 'e', e)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'e', e)
return 'RETURNED'
"""


class Legs:
    """Numbers and documents of return parcels (the scripts that write them are the callers')."""

    def __init__(self, redis: aioredis.Redis, network: ParcelNetwork, tariff: Tariff | None = None,
                 limits: Limits | None = None) -> None:
        self.redis = redis
        self.network = network
        self.tariff = tariff or Tariff.load()
        limits = limits or Limits.load()
        self._indicators = {name: svc.s10_indicator for name, svc in limits.services.items()}
        self._serials = {name: SerialAllocator(redis, svc.s10_indicator, SERIAL_BLOCK)
                         for name, svc in limits.services.items()}

    async def new_number(self, service: str) -> str:
        """A fresh S10 number of the original's service, from the store's serials (never one a booking got)."""
        [serial] = await self._serials[service].take(1)
        return format_tracking_number(self._indicators[service], serial)

    def document(self, original: dict[str, Any], tn: str, kind: str, start_office: str | None,
                 now: float, reason: str | None = None, buyer: dict[str, Any] | None = None) -> dict[str, Any]:
        """The return parcel's document: from the buyer (the original's receiver, as corrected on its case) to the
        shop's address the original was sent from, through the hubs as any booking; prepaid, priced at zero (the
        fee is ``return_fee``, posted by the ledger on the original's return or on the return's acceptance)."""
        service = original["service"]
        sender = buyer or original["receiver"]
        shop_address = original["sender"]
        origin = start_office or self.network.office_for(sender).code
        dest = self.network.office_for(shop_address).code
        registry = self.network.registry
        booked = datetime.fromtimestamp(now, IRAN_TIME).replace(tzinfo=None)
        zone = zone_of(sender, shop_address)
        if kind == "buyer_return":  # priced as a booking from the buyer to the shop, without COD or insurance
            fee = self.tariff.return_fee(self.tariff.price(service, original["parcel"]["weight_g"], zone))
        else:
            fee = self.tariff.return_fee(original.get("price") or {})
        doc: dict[str, Any] = {
            "tracking_number": tn, "shop_id": original["shop_id"], "client_order_id": original.get("client_order_id"),
            "service": service, "payment": {"type": "prepaid"}, "sender": sender, "receiver": shop_address,
            "parcel": original["parcel"], "zone": zone, "price": dict(ZERO_PRICE), "created_at": iso_ms(now),
            "origin_office": origin, "delivering_office": dest, "route": list(registry.route(origin, dest)),
            "expected_delivery": registry.expected_delivery(service, origin, dest, booked).isoformat(),
            "delivery_verification": "none", "kind": kind, "return_of": original["tracking_number"],
            "return_fee": fee,
        }
        if reason is not None:
            doc["return_reason"] = reason
        return doc

    @staticmethod
    def current_receiver(original: dict[str, Any], corrected: bytes | None) -> dict[str, Any]:
        """The original's receiver with the address its case corrected (``receiver_address``), if any."""
        if not corrected:
            return original["receiver"]
        out = dict(original["receiver"])
        out.pop("location", None)
        out.update(orjson.loads(corrected))
        return out

    async def index_outside(self, shop_id: int, doc: dict[str, Any]) -> None:
        """The tracking-number index: before the script, so the new parcel is findable the moment it exists."""
        await self.redis.set(keys.tracking_index(doc["tracking_number"]), shop_id)

    async def due_outside(self, doc: dict[str, Any], original_office: str | None, original_tn: str) -> None:
        """After the script: the return parcel on its delivering office's to-do list; the original (on its way
        back as the leg) off its own."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(keys.office_due(doc["delivering_office"]),
                  {doc["tracking_number"]: int(doc["expected_delivery"].replace("-", ""))})
        if original_office:
            pipe.zrem(keys.office_due(original_office), original_tn)
        await pipe.execute()

    async def origin(self, shop_id: int, tn: str) -> str:
        """The original of the return parcel ``tn``."""
        return (await self.redis.hget(keys.parcel(shop_id, tn), "return_of") or b"").decode()

    async def for_original(self, shop_id: int, tn: str, office: str | None, now: float) -> dict[str, Any] | None:
        """A return leg's document for the original ``tn``, starting at ``office`` (else where the original is
        delivered from), its number already in the index; None when it has one already or is a return itself."""
        doc, leg, of, corrected, moved = await self.redis.hmget(
            keys.parcel(shop_id, tn), "doc", "return_leg", "return_of", "receiver_address", "delivery_office")
        if doc is None or leg is not None or of is not None:
            return None
        original = orjson.loads(doc)
        start = office or (moved.decode() if moved else original["delivering_office"])
        out = self.document(original, await self.new_number(original["service"]), "return_to_sender", start, now,
                            buyer=self.current_receiver(original, corrected))
        await self.index_outside(shop_id, out)
        return out

    async def after(self, shop_id: int, tn: str, leg: dict[str, Any], office: str | None) -> bool:
        """After the script that may have made ``leg``: its side writes if it did (``office``: the original's, whose
        to-do list it leaves), its number let go if not."""
        made = await self.redis.hget(keys.parcel(shop_id, tn), "return_leg")
        if made is not None and made.decode() == leg["tracking_number"]:
            await self.due_outside(leg, office, tn)
            return True
        await self.redis.delete(keys.tracking_index(leg["tracking_number"]))  # another call made it first
        return False
