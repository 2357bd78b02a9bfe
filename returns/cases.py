"""Failed-attempt (NDR) cases: opened from the partition outboxes, decided by the shop or by their deadline.

Keys (all in the shop's hash-tag partition ``{pN}``, so every script touches one slot):

* ``case_key(shop, tn)``: the case, JSON {tracking_number, state, attempts[], actions[], deadline, ...}.
* ``shop_cases(shop)``: zset (score 0) of ``index_member(opened ms, tn)``, the shop's cases newest last, a stable
  pagination cursor (as the shop's status indexes).
* ``deadlines(p)``: zset of ``"<shop>|<tn>"`` scored by the open case's deadline (ms): the deadline worker reads the
  due ones per partition (no KEYS/SCAN).
* Fields of the parcel hash the router reads (``returns.planning``): ``ndr_state``, ``ndr_hold``,
  ``ndr_not_before`` (YYYYMMDD), ``ndr_phone``, ``ndr_notes``.

Cases are opened by a consumer group (``ndr``) on every partition outbox, beside the webhook dispatchers'
group: the scan hot path is untouched. Reading is at least once (XAUTOCLAIM takes over the entries of a consumer
that died before XACK) and applying is idempotent (a case remembers the event ids of its attempts), so a case is
never lost and never counted twice. Each decision appends its event (``ndr_opened``, ``ndr_action``,
``ndr_closed``) to the shop's feed and the partition outbox with tracking's own run writers (``scans.RUNS``), so
the webhooks carry it as they carry scans; its id is ``evt_<TN>_<seq>`` from the parcel's own counter.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timedelta
from typing import Any

import orjson
import redis.asyncio as aioredis

from kernel.errors import Conflict, NotFound
from kernel.postal.network import IRAN_TIME, ParcelNetwork
from kernel.postal.offices import Registry
from kernel.postal.timeutil import iso_ms
from kernel.store import keys, lua
from kernel.store.batcher import Batcher, Script
from kernel.store.jobs import OutboxReader
from kernel.store.keys import FEED_MAXLEN
from tracking.events import FAILURE_REASONS, outbox_entry
from tracking.scans import RUNS

from .legs import FINISH, NEW_RETURN, Legs, shop_returns
from .policy import Policy
from .readdress import redirect

GROUP = "ndr"  # the consumer group of the case workers on every partition outbox
CLAIM_IDLE_MS = 30_000  # an entry read but not acknowledged this long belonged to a consumer that died
READ_COUNT = 100  # outbox entries one read takes

OPEN_STATES = ("open", "reattempt", "rescheduled", "held")
CLOSED_STATES = ("returning", "delivered", "returned")
STATES = OPEN_STATES + CLOSED_STATES
# The scan events a case follows: a failed attempt opens or updates it, the others close it.
CLOSING = {b"delivered": "delivered", b"returned_to_sender": "returned"}
EVENT_TYPES = ("ndr_opened", "ndr_action", "ndr_closed")


def case_key(shop_id: int, tn: str) -> str:
    return f"{keys.tag(shop_id)}:ndr:{shop_id}:{tn}"


def shop_cases(shop_id: int) -> str:
    return f"{keys.tag(shop_id)}:ndr:{shop_id}:cases"


def deadlines(partition: int) -> str:
    return "{p%d}:ndr:due" % partition


# -- errors ----------------------------------------------------------------------------------------------
class CaseNotFound(NotFound):
    code = "ndr_case_not_found"
    title = "No failed-delivery case for this parcel"


class CaseClosed(Conflict):
    code = "ndr_case_closed"
    title = "The failed-delivery case is closed"


class ParcelOutForDelivery(Conflict):
    code = "ndr_parcel_out_for_delivery"
    title = "The parcel is out with a postman"


class ActionNotAllowed(Conflict):
    code = "ndr_action_not_allowed"
    title = "This action does not apply to the case's state"


STATE_FA = {
    "open": "در انتظار تصمیم فروشگاه", "reattempt": "تلاش دوباره برای تحویل", "rescheduled": "تحویل در روز تعیین‌شده",
    "held": "نگه‌داری در اداره برای تحویل حضوری", "returning": "در حال بازگشت به فرستنده",
    "delivered": "تحویل داده شد", "returned": "به فرستنده بازگشت",
}
ACTION_FA = {
    "reattempt": "تلاش دوباره", "reschedule": "تعیین روز تحویل", "update_contact": "اصلاح اطلاعات تماس",
    "hold_at_office": "نگه‌داری در اداره", "return_to_sender": "بازگشت به فرستنده",
}

# Builds one NDR event (the same envelope as tracking's events: id first, so the dispatcher's settle finds it) and
# appends it to the partition outbox and the shop feed. KEYS[1] outbox, KEYS[2] feed; needs RUNS.
EMIT = RUNS + r"""
local function emit(kp, shop, tn, typ, status, now_iso, office, ndr, feed_max)
  local seq = tostring(redis.call('HINCRBY', kp, 'seq', 1))
  local eid = 'evt_' .. tn .. '_' .. seq
  local e = '{"id":"' .. eid .. '","type":"' .. typ .. '","tracking_number":"' .. tn .. '","shop_id":' .. shop
    .. ',"status":"' .. status .. '","occurred_at":"' .. now_iso .. '","recorded_at":"' .. now_iso
    .. '","office":' .. (office and ('"' .. office .. '"') or 'null') .. ',"data":' .. cjson.encode(ndr) .. '}'
  outbox_add(KEYS[1], shop, tn, e)
  feed_add(KEYS[2], e)
  feed_flush(KEYS[2])
  redis.call('XTRIM', KEYS[2], 'MAXLEN', '~', feed_max)
  outbox_flush(KEYS[1], shop)
  return eid
end
local PLAN_FIELDS = {'ndr_hold', 'ndr_not_before'}
"""

# A scan event seen on the outbox. KEYS 1 outbox, 2 feed, 3 case, 4 parcel, 5 shop cases, 6 deadlines, and with a
# return leg (returns.legs) 7 the leg's parcel, 8 the shop's in_transit index, 9 the shop's returns.
# ARGV 1 shop, 2 tn, 3 type, 4 event id, 5 reason, 6 office, 7 occurred_at ISO, 8 deadline ms, 9 deadline ISO,
#      10 default action, 11 now ISO, 12 feed max, 13 index member, 14 reason sends back ('1'|'0'), and with a leg
#      15 its tracking number, 16 its document, 17 now ms
# -> 'OPENED' | 'RETURNING' | 'CLOSED' | 'DUP' | 'SKIP' | 'LEG' (a return leg delivered: returns.legs.FINISH)
APPLY_EVENT = EMIT + NEW_RETURN + r"""
local shop, tn, typ = ARGV[1], ARGV[2], ARGV[3]
local member = shop .. '|' .. tn
local raw = redis.call('GET', KEYS[3])
local case = raw and cjson.decode(raw) or nil
local p = redis.call('HMGET', KEYS[4], 'status', 'returning', 'attempts', 'return_kind')
if not p[1] then return 'SKIP' end
if typ ~= 'delivery_failed' then
  local leg = typ == 'delivered' and p[4] == 'return_to_sender'
  if not case or case['state'] == 'delivered' or case['state'] == 'returned' then return leg and 'LEG' or 'SKIP' end
  case['state'] = (typ == 'delivered') and 'delivered' or 'returned'
  case['deadline'] = nil; case['deadline_ms'] = nil
  case['closed_at'] = ARGV[7]; case['updated_at'] = ARGV[11]
  redis.call('ZREM', KEYS[6], member)
  redis.call('HDEL', KEYS[4], unpack(PLAN_FIELDS))
  redis.call('HSET', KEYS[4], 'ndr_state', case['state'])
  local last = case['attempts'][#case['attempts']]
  emit(KEYS[4], shop, tn, 'ndr_closed', p[1], ARGV[11], ARGV[6] ~= '' and ARGV[6] or (last and last['office']),
       {state = case['state'], by = typ}, ARGV[12])
  redis.call('SET', KEYS[3], cjson.encode(case))
  return leg and 'LEG' or 'CLOSED'
end
if case then
  for _, a in ipairs(case['attempts']) do
    if a['event_id'] == ARGV[4] then return 'DUP' end
  end
else
  case = {tracking_number = tn, opened_at = ARGV[7], attempts = {}, actions = {}}
  redis.call('ZADD', KEYS[5], 0, ARGV[13])
end
local n = #case['attempts'] + 1
case['attempts'][n] = {n = n, event_id = ARGV[4], reason = ARGV[5], office = ARGV[6], occurred_at = ARGV[7]}
case['updated_at'] = ARGV[11]
case['scheduled_for'] = nil; case['held_at'] = nil
local status = p[1]
local verdict = 'OPENED'
if status == 'delivered' or status == 'returned' then
  -- a late upload of an attempt made before the parcel's end: recorded, nothing to decide
  case['state'] = (status == 'delivered') and 'delivered' or 'returned'
  verdict = 'SKIP'
elseif p[2] == '1' then
  case['state'] = 'returning'
  case['deadline'] = nil; case['deadline_ms'] = nil
  case['returned_by'] = (ARGV[14] == '1') and 'reason' or 'max_attempts'
  redis.call('ZREM', KEYS[6], member)
  verdict = 'RETURNING'
else
  case['state'] = 'open'
  case['deadline'] = ARGV[9]; case['deadline_ms'] = ARGV[8]
  case['default_action'] = ARGV[10]
  redis.call('ZADD', KEYS[6], ARGV[8], member)
end
redis.call('HDEL', KEYS[4], unpack(PLAN_FIELDS))
redis.call('HSET', KEYS[4], 'ndr_state', case['state'])
if verdict ~= 'SKIP' then
  local ndr = {state = case['state'], attempt = n, reason = ARGV[5], office = ARGV[6]}
  if case['deadline'] then ndr['deadline'] = case['deadline']; ndr['default_action'] = ARGV[10] end
  if verdict == 'RETURNING' and ARGV[15] then  -- the way back, as a parcel of its own (returns.legs)
    local leg = new_return(KEYS[4], KEYS[7], KEYS[8], KEYS[9], KEYS[1], KEYS[2], shop, tn, ARGV[15], ARGV[16],
      'return_to_sender', 'accepted', ARGV[6], ARGV[17], ARGV[11], ARGV[12], 'return_started', 'returning',
      cjson.encode({return_leg = ARGV[15], kind = 'return_to_sender', by = case['returned_by']}),
      cjson.encode({return_of = tn, kind = 'return_to_sender'}))
    if leg then case['return_leg'] = leg; ndr['return_leg'] = leg end
  end
  emit(KEYS[4], shop, tn, 'ndr_opened', status, ARGV[11], ARGV[6], ndr, ARGV[12])
end
redis.call('SET', KEYS[3], cjson.encode(case))
return verdict
"""

# A decision. KEYS 1 outbox, 2 feed, 3 case, 4 parcel, 5 deadlines, 6-13 the shop's status indexes (STATUSES),
#      and for a return to sender 14 its leg's parcel, 15 the shop's returns (returns.legs).
# ARGV 1 shop, 2 tn, 3 action, 4 params JSON, 5 by (shop|deadline), 6 now ms, 7 now ISO, 8 feed max,
#      9 the date a reattempt goes out (YYYY-MM-DD), and for a return to sender 10 the leg's tracking number,
#      11 its document, 12 the office it starts from
# -> {verdict, detail, event id}: OK state | NO_CASE | NOT_DUE state | CLOSED state | OUT | NOT_ALLOWED state
ACT = EMIT + NEW_RETURN + "local SLOT = {" + ", ".join(f"{s} = {i}" for i, s in enumerate(keys.STATUSES)) + "}\n" + r"""
local shop, tn, action, by = ARGV[1], ARGV[2], ARGV[3], ARGV[5]
local member = shop .. '|' .. tn
local raw = redis.call('GET', KEYS[3])
if not raw then return {'NO_CASE', '', ''} end
local case = cjson.decode(raw)
local state = case['state']
if by == 'deadline' and (state ~= 'open' or tonumber(case['deadline_ms'] or '0') > tonumber(ARGV[6])) then
  if state ~= 'open' then redis.call('ZREM', KEYS[5], member) end
  return {'NOT_DUE', state, ''}
end
if state == 'returning' or state == 'delivered' or state == 'returned' then return {'CLOSED', state, ''} end
local p = redis.call('HMGET', KEYS[4], 'status', 'created_ms', 'return_of')
local status = p[1]
if status == 'delivered' or status == 'returned' or status == 'cancelled' or status == 'returning' then
  return {'CLOSED', status, ''}
end
if status == 'out_for_delivery' then return {'OUT', state, ''} end
if action == 'hold_at_office' and state == 'held' then return {'NOT_ALLOWED', state, ''} end
if action == 'return_to_sender' and p[3] then return {'NOT_ALLOWED', 'return_leg', ''} end  -- a leg has no way back
local params = cjson.decode(ARGV[4])
local record = {action = action, by = by, at = ARGV[7]}
local new = state
if action == 'reattempt' or action == 'reschedule' or (action == 'update_contact' and state == 'open') then
  local day = (action == 'reschedule') and params['date'] or ARGV[9]
  new = (action == 'reschedule') and 'rescheduled' or 'reattempt'
  case['scheduled_for'] = day; case['held_at'] = nil
  redis.call('HDEL', KEYS[4], 'ndr_hold')
  redis.call('HSET', KEYS[4], 'ndr_not_before', (string.gsub(day, '-', '')))
  record['date'] = day
end
if action == 'update_contact' then
  local contact = case['contact'] or {}
  if params['phone'] then
    contact['phone'] = params['phone']; redis.call('HSET', KEYS[4], 'ndr_phone', params['phone'])
  end
  if params['address_notes'] then
    contact['address_notes'] = params['address_notes']
    redis.call('HSET', KEYS[4], 'ndr_notes', params['address_notes'])
  end
  if params['address'] then  -- returns.readdress: the corrected address, and the office that now delivers it
    contact['address'] = params['address']
    redis.call('HSET', KEYS[4], 'receiver_address', cjson.encode(params['address']))
  end
  if params['delivery_office'] then
    redis.call('HSET', KEYS[4], 'delivery_office', params['delivery_office'], 'route', params['route'],
               'expected_delivery', params['expected_delivery'])
    record['delivery_office'] = params['delivery_office']
    record['expected_delivery'] = params['expected_delivery']
  end
  case['contact'] = contact
  record['contact'] = contact
elseif action == 'hold_at_office' then
  new = 'held'
  case['scheduled_for'] = nil
  case['held_at'] = case['attempts'][#case['attempts']]['office']
  redis.call('HDEL', KEYS[4], 'ndr_not_before')
  redis.call('HSET', KEYS[4], 'ndr_hold', '1')
  record['office'] = case['held_at']
elseif action == 'return_to_sender' then
  new = 'returning'
  case['scheduled_for'] = nil; case['held_at'] = nil
  case['returned_by'] = (by == 'deadline') and 'deadline' or 'shop'
  redis.call('HDEL', KEYS[4], unpack(PLAN_FIELDS))
  redis.call('HSET', KEYS[4], 'returning', '1', 'status', 'returning', 'status_at', ARGV[7], 'status_ms', ARGV[6])
  local created = p[2] or '0'
  if #created ~= 13 then created = string.format('%013d', tonumber(created)) end  -- keys.index_member
  local m = created .. ':' .. tn
  redis.call('ZREM', KEYS[6 + SLOT[status]], m)
  redis.call('ZADD', KEYS[6 + SLOT['returning']], 0, m)
  status = 'returning'
  if ARGV[10] then  -- the way back, as a parcel of its own (returns.legs), in this same script
    local leg = new_return(KEYS[4], KEYS[14], KEYS[6 + SLOT['in_transit']], KEYS[15], KEYS[1], KEYS[2], shop, tn,
      ARGV[10], ARGV[11], 'return_to_sender', 'accepted', ARGV[12], ARGV[6], ARGV[7], ARGV[8], 'return_started',
      'returning', cjson.encode({return_leg = ARGV[10], kind = 'return_to_sender', by = case['returned_by']}),
      cjson.encode({return_of = tn, kind = 'return_to_sender'}))
    if leg then case['return_leg'] = leg; record['return_leg'] = leg end
  end
end
case['state'] = new
case['deadline'] = nil; case['deadline_ms'] = nil
case['updated_at'] = ARGV[7]
redis.call('ZREM', KEYS[5], member)
redis.call('HSET', KEYS[4], 'ndr_state', new)
local actions = case['actions']
actions[#actions + 1] = record
local ndr = {state = new, action = action, by = by, attempt = #case['attempts']}
if case['scheduled_for'] then ndr['scheduled_for'] = case['scheduled_for'] end
if case['held_at'] then ndr['held_at'] = case['held_at'] end
if record['return_leg'] then ndr['return_leg'] = record['return_leg'] end
if record['delivery_office'] then
  ndr['delivery_office'] = record['delivery_office']; ndr['expected_delivery'] = record['expected_delivery']
end
local eid = emit(KEYS[4], shop, tn, 'ndr_action', status, ARGV[7], case['attempts'][#case['attempts']]['office'],
                ndr, ARGV[8])
redis.call('SET', KEYS[3], cjson.encode(case))
return {'OK', new, eid}
"""

def next_working_day(registry: Registry, after: date) -> date:
    day = after + timedelta(days=1)
    while not registry.is_business_day(day):
        day += timedelta(days=1)
    return day


def today_iran(now: float | None = None) -> date:
    return datetime.fromtimestamp(time.time() if now is None else now, IRAN_TIME).date()


def allowed_actions(state: str, parcel_status: str) -> list[str]:
    if state not in OPEN_STATES or parcel_status in ("out_for_delivery", "delivered", "returned", "cancelled",
                                                     "returning"):
        return []
    return [a for a in ("reattempt", "reschedule", "update_contact", "hold_at_office", "return_to_sender")
            if not (a == "hold_at_office" and state == "held")]


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []  # cjson writes an empty array as {}


class CaseService(OutboxReader):
    """Cases of one store: the outbox consumer, the deadline worker, the shop's reads and decisions."""

    outbox_group = GROUP

    def __init__(self, redis: aioredis.Redis, batcher: Batcher, registry: Registry, policy: Policy,
                 consumer: str, network: ParcelNetwork | None = None) -> None:
        self.redis = redis
        self.network = network or ParcelNetwork(registry)  # where a corrected address sends a parcel
        self.legs = Legs(redis, self.network)  # numbers and documents of return legs
        self._finish = Script(FINISH)  # a delivered return leg brings its original home
        self.batcher = batcher  # scripts go through the shared micro-batcher, as tracking's do
        self.registry = registry
        self.policy = policy
        self.consumer = consumer
        self._apply, self._act, self._read = Script(APPLY_EVENT), Script(ACT), Script(lua.OUTBOX_READ)

    # -- the consumer ----------------------------------------------------------------------------------
    async def consume(self) -> int:
        """Apply every outbox entry not yet applied (all partitions, until none is left); returns how many."""
        await self.ensure_groups()
        total = 0
        busy = list(range(keys.PARTITIONS))
        while busy:
            replies = await self._read_all(busy)
            busy = []
            for p, entries in replies:
                if entries:
                    await self._apply_entries(p, entries)
                    total += len(entries)
                    busy.append(p)
        return total

    async def _read_all(self, partitions: list[int]) -> list[tuple[int, list]]:
        replies = await asyncio.gather(*(self.batcher.evalsha(
            self._read, [keys.partition_events(p)], [GROUP, self.consumer, CLAIM_IDLE_MS, READ_COUNT])
            for p in partitions))
        return list(zip(partitions, replies))

    async def _apply_entries(self, p: int, entries: list) -> None:
        now = time.time()
        now_iso = iso_ms(now)
        calls = []
        for _entry_id, fields in entries:
            if not fields:  # trimmed away while pending
                continue
            shop_raw, events = outbox_entry(fields)
            shop_id = int(shop_raw)
            for tn_raw, event_raw in events:
                if b'"type":"delivery_failed"' not in event_raw and not any(
                        b'"type":"%s"' % t in event_raw for t in CLOSING):
                    continue
                calls.append(self._apply_one(p, shop_id, tn_raw.decode(), orjson.loads(event_raw), now, now_iso))
        # An error leaves the entries pending: a later read takes them over (XAUTOCLAIM) and applies them again,
        # which changes nothing for the events already applied.
        await asyncio.gather(*calls)
        await self.batcher.command("XACK", keys.partition_events(p), GROUP, *[e[0] for e in entries])

    async def _apply_one(self, p: int, shop_id: int, tn: str, event: dict[str, Any], now: float,
                         now_iso: str) -> None:
        occurred = datetime.fromisoformat(event["occurred_at"])
        occurred_ms = int(occurred.timestamp() * 1000)
        reason = (event.get("data") or {}).get("reason") or ""
        deadline_s = occurred.timestamp() + self.policy.deadline_s
        script_keys = [keys.partition_events(p), keys.shop_feed(shop_id), case_key(shop_id, tn),
                       keys.parcel(shop_id, tn), shop_cases(shop_id), deadlines(p)]
        args = [shop_id, tn, event["type"], event["id"], reason, event.get("office") or "", event["occurred_at"],
                int(deadline_s * 1000), iso_ms(deadline_s), self.policy.default_action, now_iso, FEED_MAXLEN,
                keys.index_member(occurred_ms, tn), "1" if FAILURE_REASONS.get(reason, (False,))[0] else "0"]
        # The scan turned the parcel back (its event says so): the case's script makes its way home as well.
        leg = None
        if event["type"] == "delivery_failed" and event.get("status") == "returning":
            leg = await self.legs.for_original(shop_id, tn, event.get("office"), now)
            if leg is not None:
                script_keys += [keys.parcel(shop_id, leg["tracking_number"]), keys.shop_status_index(shop_id, "in_transit"),
                                shop_returns(shop_id)]
                args += [leg["tracking_number"], orjson.dumps(leg), int(now * 1000)]
        verdict = await self.batcher.evalsha(self._apply, script_keys, args)
        if leg is not None:
            await self.legs.after(shop_id, tn, leg, leg["origin_office"])
        if verdict == b"LEG":  # a return leg delivered to its shop: its original is home
            await self.batcher.evalsha(
                self._finish, [keys.partition_events(p), keys.shop_feed(shop_id), keys.parcel(shop_id, tn),
                               keys.parcel(shop_id, await self.legs.origin(shop_id, tn)),
                               *(keys.shop_status_index(shop_id, st) for st in keys.STATUSES)],
                [shop_id, tn, event["occurred_at"], occurred_ms, now_iso, FEED_MAXLEN])

    # -- deadlines -----------------------------------------------------------------------------------------
    async def apply_deadlines(self, now: float | None = None, limit: int = 100) -> int:
        """Take the default action on every open case whose deadline has passed; returns how many."""
        now = time.time() if now is None else now
        pipe = self.redis.pipeline(transaction=False)
        for p in range(keys.PARTITIONS):
            pipe.zrangebyscore(deadlines(p), "-inf", int(now * 1000), start=0, num=limit)
        done = 0
        for members in await pipe.execute():
            for m in members:
                shop, _, tn = m.decode().partition("|")
                verdict, _, _ = await self._decide(int(shop), tn, self.policy.default_action, {}, "deadline", now)
                done += verdict == "OK"
        return done

    # -- decisions -------------------------------------------------------------------------------------
    async def act(self, shop_id: int, tn: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """Apply a validated action of the shop; the case as it is afterwards, or the error."""
        now = time.time()
        moved = None
        if params.get("address") is not None:
            moved = await self._redirect(shop_id, tn, params["address"], now)
            if moved is not None:
                params = {**params, **moved}
        verdict, detail, event_id = await self._decide(shop_id, tn, action, params, "shop", now)
        if verdict == "OK" and moved is not None:
            # Outside the shop's slot, so after the script: the new office's to-do list gains the parcel first.
            day = int(moved["expected_delivery"].replace("-", ""))
            await self.batcher.command("ZADD", keys.office_due(moved["delivery_office"]), day, tn)
            await self.batcher.command("ZREM", keys.office_due(moved["from_office"]), tn)
        if verdict == "OK":
            case = await self.get(shop_id, tn)
            case["event_id"] = event_id
            return case
        raise _error(verdict, detail, tn, action)

    async def _redirect(self, shop_id: int, tn: str, address: dict[str, Any], now: float) -> dict[str, str] | None:
        """The redirect a corrected address makes (returns.readdress), from the office delivering it now."""
        office, doc = await self.redis.hmget(keys.parcel(shop_id, tn), "delivery_office", "doc")
        if doc is None:
            return None
        booked = orjson.loads(doc)
        current = office.decode() if office else booked["delivering_office"]
        return redirect(self.network, booked["service"], current, address, now)

    async def _decide(self, shop_id: int, tn: str, action: str, params: dict[str, Any], by: str,
                      now: float) -> tuple[str, str, str]:
        reattempt_day = next_working_day(self.registry, today_iran(now)).isoformat()
        script_keys = [keys.partition_events(keys.partition_of(shop_id)), keys.shop_feed(shop_id),
                       case_key(shop_id, tn), keys.parcel(shop_id, tn), deadlines(keys.partition_of(shop_id)),
                       *(keys.shop_status_index(shop_id, st) for st in keys.STATUSES)]
        args = [shop_id, tn, action, orjson.dumps(params), by, int(now * 1000), iso_ms(now), FEED_MAXLEN,
                reattempt_day]
        leg = await self.legs.for_original(shop_id, tn, None, now) if action == "return_to_sender" else None
        if leg is not None:  # made by the same script that decides, or not at all
            script_keys += [keys.parcel(shop_id, leg["tracking_number"]), shop_returns(shop_id)]
            args += [leg["tracking_number"], orjson.dumps(leg), leg["origin_office"]]
        res = await self.batcher.evalsha(self._act, script_keys, args)
        if leg is not None:
            await self.legs.after(shop_id, tn, leg, leg["origin_office"])
        return tuple(x.decode() for x in res)  # type: ignore[return-value]

    # -- reads -----------------------------------------------------------------------------------------
    async def get(self, shop_id: int, tn: str) -> dict[str, Any]:
        raw, status = await self._case_and_status(shop_id, tn)
        if raw is None:
            raise CaseNotFound(f"parcel {tn} has no failed-delivery case in this shop",
                               f"مرسوله {tn} در این فروشگاه پروندهٔ تحویل ناموفق ندارد")
        return self.view(orjson.loads(raw), status)

    async def _case_and_status(self, shop_id: int, tn: str) -> tuple[bytes | None, str]:
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(case_key(shop_id, tn))
        pipe.hget(keys.parcel(shop_id, tn), "status")
        raw, status = await pipe.execute()
        return raw, (status or b"").decode()

    def view(self, case: dict[str, Any], parcel_status: str) -> dict[str, Any]:
        attempts = [{"attempt": a["n"], "event_id": a["event_id"], "reason": a["reason"],
                     "reason_fa": FAILURE_REASONS.get(a["reason"], (False, ""))[1], "office": a["office"],
                     "occurred_at": a["occurred_at"]} for a in _list(case.get("attempts"))]
        state = case["state"]
        last = attempts[-1] if attempts else {}
        return {
            "tracking_number": case["tracking_number"], "status": state, "status_fa": STATE_FA[state],
            "parcel_status": parcel_status, "attempt_count": len(attempts),
            "max_attempts": self.policy.max_attempts, "reason": last.get("reason"), "office": last.get("office"),
            "attempts": attempts, "deadline": case.get("deadline"),
            "default_action": self.policy.default_action if state == "open" else None,
            "scheduled_for": case.get("scheduled_for"), "held_at_office": case.get("held_at"),
            "returned_by": case.get("returned_by"), "return_leg": case.get("return_leg"),
            "contact": case.get("contact") if isinstance(case.get("contact"), dict) and case.get("contact") else None,
            "actions": [{k: v for k, v in a.items()} for a in _list(case.get("actions"))],
            "allowed_actions": allowed_actions(state, parcel_status),
            "opened_at": case.get("opened_at"), "updated_at": case.get("updated_at"),
        }

    async def list(self, shop_id: int, *, status: str | None, reason: str | None, office: str | None,
                   after: str | None, limit: int) -> dict[str, Any]:
        """The shop's cases, newest first, filtered; ``next_after`` continues the listing."""
        index = shop_cases(shop_id)
        start = f"({after}" if after else "+"
        out: list[dict[str, Any]] = []
        cursor = after
        more = False
        while len(out) < limit:
            members = await self.redis.zrevrangebylex(index, start, "-", start=0, num=200)
            if not members:
                break
            pipe = self.redis.pipeline(transaction=False)
            tns = [m.decode().partition(":")[2] for m in members]
            for tn in tns:
                pipe.get(case_key(shop_id, tn))
                pipe.hget(keys.parcel(shop_id, tn), "status")
            got = await pipe.execute()
            for i, m in enumerate(members):
                raw, pstatus = got[2 * i], got[2 * i + 1]
                if raw is None:
                    continue
                if len(out) == limit:
                    more = True
                    break
                cursor = m.decode()
                case = self.view(orjson.loads(raw), (pstatus or b"").decode())
                if (status and case["status"] != status) or (reason and case["reason"] != reason) or (
                        office and case["office"] != office):
                    continue
                out.append(case)
            if more or len(members) < 200:
                break
            start = "(" + members[-1].decode()
        if len(out) == limit and not more:
            # one look past the page says whether anything (matching) follows
            rest = await self.list(shop_id, status=status, reason=reason, office=office, after=cursor, limit=1) \
                if cursor else {"data": []}
            more = bool(rest["data"])
        return {"data": out, "next_after": cursor if more else None, "has_more": more}


def _error(verdict: str, detail: str, tn: str, action: str) -> Exception:
    if verdict == "NO_CASE":
        return CaseNotFound(f"parcel {tn} has no failed-delivery case in this shop",
                            f"مرسوله {tn} در این فروشگاه پروندهٔ تحویل ناموفق ندارد")
    if verdict == "CLOSED":
        return CaseClosed(f"the case of {tn} is closed ({detail}); '{action}' no longer applies",
                          f"پروندهٔ مرسوله {tn} بسته شده است ({STATE_FA.get(detail, detail)}) و «{ACTION_FA[action]}» "
                          "دیگر ممکن نیست", extra={"case_status": detail})
    if verdict == "OUT":
        return ParcelOutForDelivery(f"{tn} is out for delivery now; decide after this attempt",
                                    f"مرسوله {tn} اکنون نزد نامه‌رسان است؛ پس از نتیجهٔ این نوبت تصمیم بگیرید",
                                    extra={"case_status": detail})
    if verdict == "NOT_ALLOWED" and detail == "return_leg":
        return ActionNotAllowed(f"{tn} is itself a parcel on its way back to the shop; it has no return of its own",
                                f"مرسوله {tn} خود در راه بازگشت به فروشگاه است و بازگشت دیگری ندارد",
                                extra={"case_status": detail})
    if verdict == "NOT_ALLOWED":
        return ActionNotAllowed(f"'{action}' does not apply to a case that is {detail}",
                                f"«{ACTION_FA[action]}» برای پرونده‌ای در وضعیت «{STATE_FA.get(detail, detail)}» "
                                "ممکن نیست", extra={"case_status": detail})
    return RuntimeError(f"unexpected case script reply {verdict!r}")
