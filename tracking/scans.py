"""Staff scans: validation, and the atomic script that records a run of them.

``SCAN`` runs on the shop's partition and does, per scan, everything the scan changes, or nothing: dedupe by
``scan_id``, the rules of ``tracking.events`` (scan authority and terminal statuses among them, docs/scans.md), the history entry (a field of the parcel hash), the status and its
index, the per-parcel ``seq`` (the event id is ``evt_<TN>_<seq>``) and the event in the partition outbox and the
shop's feed.
A batch validates every item first, applies them oldest ``occurred_at`` first (an offline device's upload is
in any order) and sends all scripts in pipelined round trips through the shared micro-batcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import redis.asyncio as aioredis

from kernel.errors import BaridError, Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from kernel.postal.offices import Registry
from kernel.postal.s10 import check_digit
from kernel.postal.timeutil import iso_ms
from kernel.settings import TrackingConfig
from kernel.store import keys
from kernel.store.batcher import Batcher, Script
from kernel.store.keys import FEED_MAXLEN, STATUSES
from pod import scan as pod_scan

from .events import (
    AFTER_TERMINAL,
    COD_METHODS,
    DELIVERY_SIDE,
    FAILURE_REASONS,
    RULES,
    SORTING,
    STAFF_EVENTS,
    STATUS_FA,
)
from .staff import RECORD_FIELDS, Staff, parse_token, staff_from


class ParcelNotFound(NotFound):
    code = "parcel_not_found"
    title = "No parcel with this tracking number"


class ScanOutOfSequence(Conflict):
    code = "scan_out_of_sequence"
    title = "Scan makes no sense at this point of the parcel's life"


class ParcelCancelled(Conflict):
    code = "parcel_cancelled"
    title = "Parcel was cancelled"


class ScanIdReused(Conflict):
    code = "scan_id_reused"
    title = "scan_id was already used for a different scan"


class CodAmountMismatch(BaridError):
    code = "cod_amount_mismatch"
    title = "COD amount differs from the booked one"


class OfficeNotAllowed(Forbidden):
    code = "office_not_allowed"
    title = "Staff may only scan for their own office"


class ScanOfficeNotResponsible(Forbidden):
    code = "scan_office_not_responsible"
    title = "Only the parcel's delivering office may record this event"


class CodNotOnReturn(Conflict):
    code = "cod_not_on_return"
    title = "No COD is collected on a parcel going back to its shop"


class ParcelOnReturnLeg(Conflict):
    code = "parcel_on_return_leg"
    title = "The parcel is on its way back on a return leg: scan the leg"


class ParcelTerminal(Conflict):
    code = "parcel_terminal"
    title = "Parcel has reached a final status"


# The parcel hash fields that, once set (by a redirect), override the booking document's ``delivering_office``
# and ``route`` (comma-separated office codes): the scan script reads the responsible office and the path here.
OFFICE_FIELD = "delivery_office"
ROUTE_FIELD = "route"


_TN = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}", re.ASCII)
_SCAN_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,64}", re.ASCII)
_RRN = re.compile(r"[0-9]{12}", re.ASCII)
_POSTMAN = re.compile(r"[A-Za-z0-9_.-]{1,32}", re.ASCII)

# Appends the call's events to the shop feed and the partition outbox in runs (entry formats: keys.shop_feed,
# keys.partition_events): one XADD, with its AOF record, per keys.FEED_RUN or keys.OUTBOX_RUN events instead of
# one per scan in each (together 18 % of a scan's cost in the store, counted with bench/store_cost.py).
# feed_add and outbox_add after each event, feed_flush and outbox_flush once they are all added.
RUNS = r"""
local feed_run, feed_n = {}, 0
local function feed_flush(stream)
  if feed_n > 0 then
    redis.call('XADD', stream, '*', 'e', table.concat(feed_run, '\n', 1, feed_n))
    feed_n = 0
  end
end
local function feed_add(stream, e)
  feed_n = feed_n + 1
  feed_run[feed_n] = e
  if feed_n >= """ + str(keys.FEED_RUN) + r""" then feed_flush(stream) end
end
local outbox_run, outbox_n = {}, 0
local function outbox_flush(stream, shop)
  if outbox_n > 0 then
    redis.call('XADD', stream, '*', 's', shop, unpack(outbox_run, 1, outbox_n))
    outbox_n = 0  -- the table is reused: growing a fresh one for every run costs more
  end
end
local function outbox_add(stream, shop, tn, e)
  local n = outbox_n
  outbox_run[n + 1] = 't'; outbox_run[n + 2] = tn; outbox_run[n + 3] = 'e'; outbox_run[n + 4] = e
  outbox_n = n + 4
  if outbox_n >= """ + str(4 * keys.OUTBOX_RUN) + r""" then outbox_flush(stream, shop) end
end
"""

# One call records a run of scans of one shop, in order (each scan sees the effects of those before it).
# KEYS: 1 partition outbox, 2 shop feed, 3-10 the shop's status indexes (STATUSES order), then per scan its
#       parcel hash.
# ARGV: 1 shop id, 2 recorded_at ISO, 3 feed max length, 4 failed attempts that send a parcel back, 5 how far (ms)
#       a device clock may put a scan before the booking, then per scan one row (``_row``; every argument costs
#       the store an allocation or two):
#       "<tracking number>|<scan_id>|<event>|<occurred ms>|<occurred_at ISO>|<extra>|<event JSON tail>", extra
#       being the COD amount, or '1' when the failure reason sends the parcel back, and the tail the event's
#       JSON from the office on.
# Returns three values per scan, '|'-joined into one string (none holds a '|'): verdict, and two details (the new
# seq and status when recorded).
# Every write is a command the AOF gets too, so what can be written once per call is: the status indexes move
# each parcel from its status before the call to its status after it, the feed is trimmed once, and the
# feed and the outbox get the events in runs (keys.FEED_RUN, keys.OUTBOX_RUN).
SCAN = (
    RUNS
    + "local SLOT = {" + ", ".join(f"{s} = {i}" for i, s in enumerate(STATUSES)) + "}\n"
    + "local RULE = {" + ", ".join(f"{r.name} = {{'{r.status}', {'true' if r.terminal else 'false'}, '{r.requires}'}}"
                                   for r in RULES.values()) + "}\n"
    + "local DELIVERY_SIDE = {" + ", ".join(f"{e} = true" for e in sorted(DELIVERY_SIDE)) + "}\n"
    + "local SORTING = {" + ", ".join(f"{e} = true" for e in sorted(SORTING)) + "}\n"
    + "local AFTER_TERMINAL = {" + ", ".join(
        f"{st} = {{{', '.join(f'{e} = true' for e in sorted(evs))}}}" for st, evs in sorted(AFTER_TERMINAL.items()))
    + "}\n"
    + r"""
local TERMINAL = {delivered = true, returned = true, cancelled = true}
local shop, recorded, feed_max, max_attempts, skew = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local was, now = {}, {}  -- index member -> status before this call, and after the latest scan
local find, sub = string.find, string.sub

-- a < b for millisecond timestamps as the parcel hash keeps them (decimal, no leading zeros), compared as text:
-- turning a string into a number (strtod) costs the store more than the rest of the comparison.
local function before(a, b)
  local la, lb = #a, #b
  if la ~= lb then return la < lb end
  return a < b
end

-- The text of a string field, or the inside of a list field, of the booking document as orjson wrote it. Every
-- key in it is the gateway's own (validation rebuilds each nested object from known fields) and a quote inside a
-- value is escaped, so '"<name>":' occurs once: a plain find costs a fraction of decoding the document.
local function doc_field(kp, name)
  local doc = redis.call('HGET', kp, 'doc')
  local key = '"' .. name .. '":'
  local a = find(doc, key, 1, true)
  if not a then return nil end
  a = a + #key
  local open = sub(doc, a, a)
  local close = (open == '"' and '"') or (open == '[' and ']')
  if not close then return nil end
  return sub(doc, a + 1, find(doc, close, a + 1, true) - 1)
end

local function one(kp, row)
  -- The first six fields never hold a '|' (validated); plain finds cost a third of a pattern match.
  local b1 = find(row, '|', 1, true)
  local b2 = find(row, '|', b1 + 1, true)
  local b3 = find(row, '|', b2 + 1, true)
  local b4 = find(row, '|', b3 + 1, true)
  local b5 = find(row, '|', b4 + 1, true)
  local b6 = find(row, '|', b5 + 1, true)
  local tn, sid, ev = sub(row, 1, b1 - 1), sub(row, b1 + 1, b2 - 1), sub(row, b2 + 1, b3 - 1)
  local occ_s, occ_iso = sub(row, b3 + 1, b4 - 1), sub(row, b4 + 1, b5 - 1)
  local extra, tail = sub(row, b5 + 1, b6 - 1), sub(row, b6 + 1)
  local field = '""" + keys.PARCEL_SCAN_FIELD + r"""' .. sid
  local p = redis.call('HMGET', kp, 'status', 'seq', 'status_ms', 'accepted_ms', 'delivered_ms', 'attempts',
                       'returning', 'created_ms', 'cod_ms', field, '""" + OFFICE_FIELD + r"""',
                       '""" + ROUTE_FIELD + r"""', 'return_leg_ms', 'return_leg')
  if not p[1] then return 'NOT_FOUND', '', '' end
  if p[10] then  -- a replay answers what the scan got the first time, whatever happened since
    local eid, pev, ms = string.match(p[10], '^([^|]*)|([^|]*)|(.*)$')
    if pev ~= ev or ms ~= occ_s then return 'SCAN_ID_REUSED', eid, '' end
    return 'DUPLICATE', eid, p[1]
  end
  -- On its way home as a return leg of its own (returns.legs): what happens from then on is scanned on the leg;
  -- what happened before (a device's late upload) is still history.
  if p[13] and not before(occ_s, p[13]) then return 'ON_RETURN_LEG', p[14], '' end
  local status, occ, rule = p[1], tonumber(occ_s), RULE[ev]
  -- Scan authority, before anything about the parcel's state is told: delivery-side events come from the
  -- responsible office only, which the parcel record names (a redirect sets its own field; the booking document
  -- is read only when it has not). A sorting scan at a hub off the route is a real missort: recorded, flagged.
  local missort = false
  if DELIVERY_SIDE[ev] or SORTING[ev] or ev == 'returned_to_sender' then
    local office = sub(tail, 13, find(tail, '"', 13, true) - 1)  -- tail: '","office":"<code>",...'
    if DELIVERY_SIDE[ev] then
      local responsible = p[11] or doc_field(kp, 'delivering_office')
      if responsible ~= office then return 'NOT_RESPONSIBLE', tostring(responsible), '' end
    elseif ev == 'returned_to_sender' then  -- handed back to the shop by the office that took it in
      local origin = doc_field(kp, 'origin_office')
      if origin ~= office then return 'NOT_RESPONSIBLE', tostring(origin), '' end
    elseif p[12] then
      missort = not find(',' .. p[12] .. ',', ',' .. office .. ',', 1, true)
    else
      missort = not find(doc_field(kp, 'route') or '', '"' .. office .. '"', 1, true)
    end
  end
  if status == 'cancelled' then return 'CANCELLED', '', '' end
  -- Nothing happens to a parcel before its tracking number exists, beyond a device clock's skew.
  if occ < tonumber(p[8] or '0') - skew then return 'BEFORE_BOOKED', p[8], '' end
  -- Terminal means terminal: only what AFTER_TERMINAL allows, or the late upload of a non-terminal event that
  -- happened before the terminal one (recorded in place, under the terminal status).
  if TERMINAL[status] and not AFTER_TERMINAL[status][ev] and (rule[2] or not p[3] or not before(occ_s, p[3])) then
    return 'TERMINAL', status, p[3] or ''
  end
  if rule[3] == 'accepted' then
    if not p[4] then return 'NOT_ACCEPTED', '', '' end
    if before(occ_s, p[4]) then return 'BEFORE_ACCEPTED', p[4], '' end
  elseif rule[3] == 'delivered' then
    if not p[5] then return 'NOT_DELIVERED', '', '' end
    if before(occ_s, p[5]) then return 'BEFORE_DELIVERED', p[5], '' end
  end
  local pod, verified  -- proof of delivery (pod.scan): what a delivered scan must carry, and what it records
""" + pod_scan.CHECK + r"""
  local seq = tostring(tonumber(p[2]) + 1)  -- a string once: Lua formats a number anew for every concatenation
  local eid = 'evt_' .. tn .. '_' .. seq
  local h = {'seq', seq, 'updated_at', recorded, field, eid .. '|' .. ev .. '|' .. occ_s}
  if ev == 'cod_collected' then
    if p[9] then return 'COD_COLLECTED', '', '' end
    local d = cjson.decode(redis.call('HGET', kp, 'doc'))
    if d['return_of'] then return 'RETURN_NO_COD', d['return_of'], '' end  -- a way back (returns.legs)
    local pay = d['payment'] or {}
    if pay['type'] ~= 'cod' then return 'NOT_COD', '', '' end
    if tonumber(pay['goods_value']) ~= tonumber(extra) then return 'COD_MISMATCH', tostring(pay['goods_value']), '' end
    h[#h + 1] = 'cod_ms'; h[#h + 1] = occ_s
  elseif ev == 'accepted' then
    if not p[4] or before(occ_s, p[4]) then h[#h + 1] = 'accepted_ms'; h[#h + 1] = occ_s end
  elseif ev == 'delivered' then
    if not p[5] or before(occ_s, p[5]) then h[#h + 1] = 'delivered_ms'; h[#h + 1] = occ_s end
  end
  local returning = p[7] == '1'
  if ev == 'delivery_failed' then
    local attempts = tonumber(p[6] or '0') + 1
    h[#h + 1] = 'attempts'; h[#h + 1] = attempts
    if not returning and (extra == '1' or attempts >= max_attempts) then
      returning = true
      h[#h + 1] = 'returning'; h[#h + 1] = '1'
    end
  end
  local target = rule[1]
  if returning and (target == 'in_transit' or target == 'out_for_delivery' or target == 'failed_attempt') then
    target = 'returning'
  end
  local new_status = status
  if not TERMINAL[status] then
    if rule[2] or not p[3] or not before(occ_s, p[3]) then
      new_status = target
      h[#h + 1] = 'status_at'; h[#h + 1] = occ_iso
      h[#h + 1] = 'status_ms'; h[#h + 1] = occ_s
    elseif returning and status ~= 'returning' and status ~= 'pre_transit' then
      new_status = 'returning'  -- a late failed attempt that turned the parcel back
    end
  end
""" + pod_scan.WRITE + r"""
  if missort then tail = '","missort":true' .. sub(tail, 2) end
  local e = '{"id":"' .. eid .. '","type":"' .. ev .. '","tracking_number":"' .. tn .. '","shop_id":' .. shop
    .. ',"status":"' .. new_status .. '","occurred_at":"' .. occ_iso .. '","recorded_at":"' .. recorded .. tail
  h[#h + 1] = '""" + keys.PARCEL_HISTORY_FIELD + r"""' .. occ_s .. ':' .. seq; h[#h + 1] = e
  if new_status ~= status then
    h[#h + 1] = 'status'; h[#h + 1] = new_status
    local created = p[8] or '0'
    if #created ~= 13 then created = string.format('%013d', tonumber(created)) end  -- keys.index_member
    local member = created .. ':' .. tn
    if not was[member] then was[member] = status end
    now[member] = new_status
  end
  redis.call('HSET', kp, unpack(h))
  outbox_add(KEYS[1], shop, tn, e)
  feed_add(KEYS[2], e)
  return missort and 'MISSORT' or 'OK', seq, new_status
end

local out, fed = {}, false
-- A script's writes are never rolled back, so the once-per-call writes below must follow the scans applied
-- before one that fails (corrupt data): the loop runs protected and its error is raised after them.
local ok, err = pcall(function()
  for i = 6, #ARGV do
    local v, x, y = one(KEYS[i + 5], ARGV[i])
    out[#out + 1] = v; out[#out + 1] = x; out[#out + 1] = y
    fed = fed or v == 'OK' or v == 'MISSORT' or y == 'now'  -- 'now': a delivery locked (an event)
  end
end)
local gone, came = {}, {}
for member, from in pairs(was) do
  local to = now[member]
  if to ~= from then
    local g, c = gone[from], came[to]
    if not g then g = {}; gone[from] = g end
    if not c then c = {}; came[to] = c end
    g[#g + 1] = member
    c[#c + 1] = 0; c[#c + 1] = member
  end
end
for st, members in pairs(gone) do redis.call('ZREM', KEYS[3 + SLOT[st]], unpack(members)) end
for st, members in pairs(came) do redis.call('ZADD', KEYS[3 + SLOT[st]], unpack(members)) end
feed_flush(KEYS[2])
if fed then redis.call('XTRIM', KEYS[2], 'MAXLEN', '~', feed_max) end
outbox_flush(KEYS[1], shop)
if not ok then error(err, 0) end
return table.concat(out, '|')  -- one string, not three replies per scan, each of which the store converts
""")
CHUNK = 200  # scans per script call: a call holds the store for about 5 ms at most
# An upload this big is sent to the store as soon as it is validated (Batcher.flush), not at the end of the loop
# turn: when many uploads arrive together, each holds the loop ~20 ms validating its 1,000 scans, and the store
# otherwise sat idle until all of them were done (~160 ms at the start of every ingest wave, tracking_bench).
FLUSH_NOW = 100


@dataclass(slots=True)
class Scan:
    tracking_number: str
    event: str
    office: str
    occurred_ms: int
    occurred_at: str
    scan_id: str
    data: dict[str, Any]
    pod: pod_scan.Delivery | None = None  # what a delivered scan carries for its proof of delivery


def _err(field: str, code: str, en: str, fa: str) -> FieldError:
    return FieldError(field, code, en, fa)


def parse_scan(raw: Any, registry: Registry, config: TrackingConfig, now: float,
               prefix: str = "") -> Scan | list[FieldError]:
    """A valid Scan, or every field error at once."""
    if not isinstance(raw, dict):
        return [_err(prefix.rstrip(".") or "body", "object_expected", "must be a JSON object", "باید یک شیء JSON باشد")]
    errs: list[FieldError] = []
    tn = raw.get("tracking_number")
    if not isinstance(tn, str) or not _TN.fullmatch(tn) or check_digit(int(tn[2:10])) != int(tn[10]):
        errs.append(_err(prefix + "tracking_number", "tracking_number_invalid",
                         "must be an S10 tracking number like EP123456785IR with a valid check digit",
                         "کد رهگیری باید به شکل EP123456785IR و با رقم کنترل درست باشد"))
    event = raw.get("event")
    rule = RULES.get(event) if isinstance(event, str) else None
    if rule is None or not rule.staff:
        errs.append(_err(prefix + "event", "event_invalid", f"must be one of {', '.join(STAFF_EVENTS)}",
                         "نوع رویداد نامعتبر است"))
    office_code = raw.get("office")
    office = registry.offices.get(office_code) if isinstance(office_code, str) else None
    if office is None:
        errs.append(_err(prefix + "office", "unknown_office", "must be a post-office code from the registry",
                         "کد اداره پست نامعتبر است"))
    elif rule is not None and rule.office_kind and office.kind != rule.office_kind:
        errs.append(_err(prefix + "office", "wrong_office_kind",
                         f"'{event}' is scanned at a {'sorting hub' if rule.office_kind == 'hub' else 'post office'}",
                         "این رویداد در این نوع مرکز ثبت نمی‌شود"))
    occurred_ms = 0
    occurred_at = raw.get("occurred_at")
    try:
        dt = datetime.fromisoformat(occurred_at)  # type: ignore[arg-type]
        if dt.tzinfo is None:
            raise ValueError
        occurred_ms = int(dt.timestamp() * 1000)
        if occurred_ms > (now + config.max_clock_skew_s) * 1000:
            errs.append(_err(prefix + "occurred_at", "occurred_in_future", "lies in the future",
                             "زمان رویداد در آینده است"))
        elif occurred_ms < (now - config.max_scan_age_s) * 1000:
            errs.append(_err(prefix + "occurred_at", "occurred_too_long_ago",
                             f"is older than {config.max_scan_age_s / 86400:g} days; no device holds scans that long",
                             "زمان رویداد بیش از حد قدیمی است"))
    except (TypeError, ValueError, OverflowError):
        errs.append(_err(prefix + "occurred_at", "timestamp_invalid",
                         "must be an ISO 8601 timestamp with a zone, e.g. 2025-01-01T10:00:00Z",
                         "زمان باید به قالب ISO 8601 همراه با منطقهٔ زمانی باشد"))
    scan_id = raw.get("scan_id")
    if not isinstance(scan_id, str) or not _SCAN_ID.fullmatch(scan_id):
        errs.append(_err(prefix + "scan_id", "scan_id_invalid", "must be 1-64 characters of A-Z a-z 0-9 _ . : -",
                         "شناسهٔ اسکن نامعتبر است"))
    data: dict[str, Any] = {"scan_id": scan_id, "emsevt": rule.emsevt if rule else None}
    pod = None
    if event == "delivery_failed":
        reason = raw.get("reason")
        if not isinstance(reason, str) or reason not in FAILURE_REASONS:
            errs.append(_err(prefix + "reason", "reason_invalid", f"must be one of {', '.join(FAILURE_REASONS)}",
                             "علت تحویل ناموفق نامعتبر است"))
        data["reason"] = reason
    elif event == "delivered":
        name = raw.get("receiver_name")
        name = " ".join(name.split()) if isinstance(name, str) else ""
        if not 0 < len(name) <= 100:
            errs.append(_err(prefix + "receiver_name", "receiver_name_invalid",
                             "the name of who took the parcel, 1-100 characters", "نام تحویل‌گیرنده لازم است"))
        data["receiver_name"] = name
        pod = pod_scan.parse_delivery(raw, prefix, errs, data)
    elif event == "cod_collected":
        amount, method, rrn = raw.get("amount"), raw.get("method"), raw.get("rrn")
        if type(amount) is not int or amount <= 0:
            errs.append(_err(prefix + "amount", "amount_invalid", "must be a positive whole number of rials",
                             "مبلغ باید عددی مثبت به ریال باشد"))
        if method not in COD_METHODS:
            errs.append(_err(prefix + "method", "method_invalid", "must be cash or card",
                             "روش پرداخت باید cash یا card باشد"))
        if method == "card" and not (isinstance(rrn, str) and _RRN.fullmatch(rrn)):
            errs.append(_err(prefix + "rrn", "rrn_invalid", "card payments need the 12-digit Shaparak RRN",
                             "پرداخت کارتی به شمارهٔ مرجع ۱۲ رقمی شاپرک نیاز دارد"))
        # Who took the money (the ledger books cash to his account, and his cash close expects it): optional, so
        # devices that do not send it keep working; their cash is booked to the office.
        postman = raw.get("postman")
        if postman is not None and not (isinstance(postman, str) and _POSTMAN.fullmatch(postman)):
            errs.append(_err(prefix + "postman", "postman_invalid", "the postman's id: 1-32 of A-Z a-z 0-9 _ . -",
                             "شناسهٔ نامه‌رسان نامعتبر است؛ ۱ تا ۳۲ نویسه از حروف لاتین، رقم و _ . -"))
        data.update(amount=amount, method=method)
        if method == "card":
            data["rrn"] = rrn
        if postman is not None:
            data["postman"] = postman
    if errs:
        return errs
    return Scan(tn, event, office_code, occurred_ms, iso_ms(occurred_ms / 1000), scan_id, data,  # type: ignore[arg-type]
                pod)


class ScanService:
    def __init__(self, redis: aioredis.Redis, registry: Registry, config: TrackingConfig,
                 batcher: Batcher | None = None, lookups: Batcher | None = None,
                 pod: pod_scan.PodScans | None = None) -> None:
        self.redis = redis
        self.pod = pod  # proof of delivery: codes and images (None: parcels that need one cannot be delivered)
        self.registry = registry
        self.config = config
        self.batcher = batcher or Batcher(redis, max_batch=1000)
        # Owners' lookups on a connection of their own: on the shared one they would wait behind every script
        # this process has already sent, while the upload that needs them waits its turn.
        self.lookups = lookups or self.batcher
        self._script = Script(SCAN)
        # Tracking number -> shop id is immutable once written, so it is cached for the process' life.
        self._owners: dict[str, int] = {}
        self._upload_gate = asyncio.Lock()

    async def authenticate(self, token: str) -> Staff:
        """The staff member behind ``token``; their record is read through the micro-batcher, in the same round
        trip as every other request's store calls of this loop turn."""
        staff_id = parse_token(token)
        return staff_from(staff_id, token, await self.batcher.command("HMGET", keys.staff(staff_id), *RECORD_FIELDS))

    async def owners(self, tracking_numbers: list[str]) -> dict[str, int]:
        """Tracking number -> shop id, for those that exist: a map of this call's own, as another call may reset
        the cache while this one waits for the store."""
        cache = self._owners
        known: dict[str, int] = {}
        missing = []
        for tn in tracking_numbers:
            shop = cache.get(tn)
            if shop is None:
                missing.append(tn)
            else:
                known[tn] = shop
        if missing:
            missing = list(dict.fromkeys(missing))
            if len(cache) > 1_000_000:
                cache.clear()
            found = self.lookups.many([("GET", keys.tracking_index(tn)) for tn in missing])
            if len(missing) >= FLUSH_NOW:
                self.lookups.flush()
            for tn, shop in zip(missing, await found):
                if isinstance(shop, BaseException):
                    raise shop
                if shop is not None:
                    known[tn] = cache[tn] = int(shop)
        return known

    async def record(self, staff: Staff, scans: list[Scan]) -> list[dict[str, Any] | BaridError]:
        """One result per scan, in the given order: {event_id, status, duplicate} or the error.

        Scans are applied oldest ``occurred_at`` first, in one script call per shop and CHUNK scans.
        """
        owners = await self.owners([s.tracking_number for s in scans])
        if self.pod is not None and not self.pod.secret:
            await self.pod.ready()
        images = await self._store_images(staff, scans, owners)
        results = await self._submit(staff, scans, owners)
        if images:
            await self._drop_refused_images(scans, images, results)
        return results

    async def record_upload(self, staff: Staff, body: Any) -> tuple[list[Scan | list[FieldError]],
                                                                     list[dict[str, Any] | BaridError]]:
        """A batch upload: each item parsed (a Scan or its field errors), and the results of the valid ones.

        Big uploads are prepared (validated, their owners looked up, their scripts queued) one at a time per
        process and sent as soon as they are, so the store works on one while the next is validated. Uploads
        that arrive together otherwise all wake in the same loop turn and are all validated before the loop reads
        a reply: the store sat idle until every one of them was.
        """
        items = body.get("scans") if isinstance(body, dict) else None
        big = isinstance(items, list) and len(items) >= FLUSH_NOW
        async with self._upload_gate if big else contextlib.nullcontext():
            parsed = validate_batch(body, self.registry, self.config)
            valid = [s for s in parsed if type(s) is Scan]
            owners = await self.owners([s.tracking_number for s in valid])
            if self.pod is not None and not self.pod.secret:
                await self.pod.ready()
            images = await self._store_images(staff, valid, owners)
            collect = self._submit(staff, valid, owners)
        results = await collect
        if images:
            await self._drop_refused_images(valid, images, results)
        return parsed, results

    async def _store_images(self, staff: Staff, scans: list[Scan], owners: dict[str, int]) -> list[int]:
        """Stores the images of delivered scans before the script that names them runs; their indexes."""
        stored = []
        for i, s in enumerate(scans):
            d = s.pod
            if d is not None and (d.photo or d.signature) and self.pod is not None and s.office == staff.office:
                shop_id = owners.get(s.tracking_number)
                if shop_id is not None:
                    await self.pod.store_images(shop_id, s.tracking_number, s.scan_id, d)
                    stored.append(i)
        return stored

    async def _drop_refused_images(self, scans: list[Scan], stored: list[int], results: list) -> None:
        """A refused scan changes nothing: its images go (a replay's are the original's, so they stay)."""
        for i in stored:
            r = results[i]
            if isinstance(r, BaridError) and not isinstance(r, ScanIdReused) and self.pod is not None:
                await self.pod.drop_images(scans[i].pod)  # type: ignore[arg-type]

    def _submit(self, staff: Staff, scans: list[Scan], owners: dict[str, int]) -> Coroutine[Any, Any, list]:
        """Queue the scripts that record ``scans``; returns what awaits their results."""
        recorded_at = iso_ms(time.time())
        results: list[Any] = [None] * len(scans)
        by_shop: dict[int, list[int]] = {}
        for i in sorted(range(len(scans)), key=lambda i: scans[i].occurred_ms):
            s = scans[i]
            shop_id = owners.get(s.tracking_number)
            if s.office != staff.office:
                results[i] = OfficeNotAllowed(f"staff of {staff.office} cannot scan at {s.office}",
                                              "کارمند فقط برای ادارهٔ خود می‌تواند اسکن کند")
            elif shop_id is None:
                results[i] = _not_found(s.tracking_number)
            else:
                by_shop.setdefault(shop_id, []).append(i)
        calls = []
        for shop_id, idx in by_shop.items():
            head_keys = [keys.partition_events(keys.partition_of(shop_id)), keys.shop_feed(shop_id),
                         *(keys.shop_status_index(shop_id, st) for st in STATUSES)]
            head_args = [shop_id, recorded_at, FEED_MAXLEN, self.config.max_delivery_attempts,
                         int(self.config.max_clock_skew_s * 1000)]
            for start in range(0, len(idx), CHUNK):
                chunk = idx[start:start + CHUNK]
                script_keys, args = list(head_keys), list(head_args)
                codes = []
                for i in chunk:
                    s = scans[i]
                    script_keys.append(keys.parcel(shop_id, s.tracking_number))
                    if s.event == "delivered" or s.event == "out_for_delivery":
                        codes.append(len(args))
                        args.append(s)
                    else:
                        args.append(_row(s))
                for pos in codes:  # proof of delivery (pod.scan): code keys follow every parcel key of the call
                    s = args[pos]
                    if s.event == "delivered":
                        args[pos] = self._delivered_row(staff, s)
                    elif self.pod is not None:
                        script_keys.append(pod_scan.code_key(shop_id, s.tracking_number))
                        code_hash, code = self.pod.issue(s.tracking_number)
                        args[pos] = _row(s, f"{code_hash}:{code}:{len(script_keys)}")
                    else:
                        args[pos] = _row(s)
                calls.append((chunk, self.batcher.evalsha(self._script, script_keys, args)))
        if len(scans) >= FLUSH_NOW:
            self.batcher.flush()
        return _collect(calls, scans, results)

    def _delivered_row(self, staff: Staff, s: Scan) -> str:
        """A delivered scan's row: its code's hash and signature flag, and its proof of delivery after the event."""
        extra = self.pod.delivered_extra(s.tracking_number, s.pod) if self.pod is not None else ":0"
        record = pod_scan.record_json(s.pod, scan_id=s.scan_id, occurred_at=s.occurred_at, office=s.office,
                                      staff_id=staff.id, staff_name=staff.name,
                                      receiver_name=s.data.get("receiver_name", ""))
        return _row(s, extra, record)


async def _collect(calls: list[tuple[list[int], asyncio.Future]], scans: list[Scan], results: list) -> list:
    for chunk, reply in calls:
        res = (await reply).split(b"|")
        for n, i in enumerate(chunk):
            results[i] = _result(res[3 * n:3 * n + 3], scans[i])
    return results


def _row(s: Scan, extra: str | None = None, pod: bytes = b"") -> str:
    """The scan as one SCAN argument (``extra`` and ``pod``: proof of delivery, pod.scan)."""
    if extra is None:
        if s.event == "cod_collected":
            extra = s.data["amount"]
        elif s.event == "delivery_failed":
            extra = "1" if FAILURE_REASONS[s.data["reason"]][0] else "0"
        else:
            extra = ""
    return (f'{s.tracking_number}|{s.scan_id}|{s.event}|{s.occurred_ms}|{s.occurred_at}|{extra}|'
            f'","office":"{s.office}","data":{orjson.dumps(s.data).decode()}}}'
            + ("\n" + pod.decode() if pod else ""))


def _not_found(tn: str) -> ParcelNotFound:
    return ParcelNotFound(f"no parcel {tn}", f"مرسوله‌ای با کد رهگیری {tn} وجود ندارد")


def _result(res: list[bytes], s: Scan) -> dict[str, Any] | BaridError:
    verdict = res[0]
    if verdict[:4] == b"POD_":
        return pod_scan.result(verdict, res[1], res[2], s.tracking_number)
    if verdict == b"OK":
        return {"event_id": f"evt_{s.tracking_number}_{res[1].decode()}", "status": res[2].decode(),
                "duplicate": False}
    if verdict == b"MISSORT":
        return {"event_id": f"evt_{s.tracking_number}_{res[1].decode()}", "status": res[2].decode(),
                "duplicate": False, "missort": True}
    if verdict == b"NOT_RESPONSIBLE":
        office = res[1].decode()
        return ScanOfficeNotResponsible(
            f"'{s.event}' of {s.tracking_number} may only be scanned by its responsible office {office}, "
            f"not {s.office}",
            f"ثبت رویداد «{RULES[s.event].label_fa}» برای این مرسوله فقط در ادارهٔ مسئول آن ({office}) "
            f"مجاز است، نه در {s.office}", extra={"responsible_office": office})
    if verdict == b"TERMINAL":
        status = res[1].decode()
        allowed = sorted(AFTER_TERMINAL[status])
        return ParcelTerminal(
            f"the parcel is {status}, a final status; '{s.event}' cannot follow it"
            + (f" (only {', '.join(allowed)} can)" if allowed else ""),
            f"وضعیت این مرسوله «{STATUS_FA[status]}» و نهایی است و رویداد «{RULES[s.event].label_fa}» پس از آن "
            "ثبت نمی‌شود", extra={"parcel_status": status})
    if verdict == b"DUPLICATE":
        return {"event_id": res[1].decode(), "status": res[2].decode(), "duplicate": True}
    if verdict == b"NOT_FOUND":
        return _not_found(s.tracking_number)
    if verdict == b"SCAN_ID_REUSED":
        return ScanIdReused(f"scan_id {s.scan_id} already recorded {res[1].decode()}, a different scan",
                            "این شناسهٔ اسکن پیش‌تر برای اسکن دیگری به کار رفته است")
    if verdict == b"CANCELLED":
        return ParcelCancelled("the parcel was cancelled before it entered the post", "این مرسوله لغو شده است")
    if verdict == b"NOT_ACCEPTED":
        return ScanOutOfSequence(f"'{s.event}' before the parcel was ever accepted at a post office",
                                 "این مرسوله هنوز در اداره پست پذیرش نشده است")
    if verdict in (b"BEFORE_BOOKED", b"BEFORE_ACCEPTED", b"BEFORE_DELIVERED"):
        what = {b"BEFORE_BOOKED": "booked", b"BEFORE_ACCEPTED": "accepted"}.get(verdict, "delivered")
        return ScanOutOfSequence(
            f"'{s.event}' at {s.occurred_at} is earlier than the parcel was {what} "
            f"({iso_ms(int(res[1]) / 1000)})", "زمان این رویداد پیش از زمان ثبت، پذیرش یا تحویل مرسوله است")
    if verdict == b"NOT_DELIVERED":
        return ScanOutOfSequence("COD is collected on delivery; this parcel is not delivered",
                                 "وجه در محل پس از تحویل مرسوله دریافت می‌شود")
    if verdict == b"COD_COLLECTED":
        return ScanOutOfSequence("COD was already collected for this parcel", "وجه این مرسوله پیش‌تر دریافت شده است")
    if verdict == b"ON_RETURN_LEG":
        leg = res[1].decode()
        return ParcelOnReturnLeg(
            f"{s.tracking_number} is going back to its shop as the return leg {leg}; scan {leg} instead",
            f"مرسوله {s.tracking_number} با مرسولهٔ بازگشتی {leg} به فروشگاه برمی‌گردد؛ به جای آن {leg} را اسکن کنید",
            extra={"return_leg": leg})
    if verdict == b"RETURN_NO_COD":
        original = res[1].decode()
        return CodNotOnReturn(
            f"{s.tracking_number} is the return of {original} to its shop; COD is never collected on a return",
            f"مرسوله {s.tracking_number} بازگشت مرسوله {original} به فروشگاه است و در بازگشت وجهی در محل دریافت "
            "نمی‌شود", extra={"return_of": original})
    if verdict == b"NOT_COD":
        return ScanOutOfSequence("this parcel is prepaid; there is no COD to collect",
                                 "این مرسوله پیش‌کرایه است و وجهی در محل دریافت نمی‌شود")
    if verdict == b"COD_MISMATCH":
        return CodAmountMismatch(f"collected {s.data['amount']} rials but the booked COD amount is "
                                 f"{res[1].decode()}", "مبلغ دریافتی با مبلغ ثبت‌شده در محل برابر نیست",
                                 extra={"expected_amount": int(res[1])})
    raise RuntimeError(f"unexpected scan script reply {res!r}")


def validate_batch(body: Any, registry: Registry, config: TrackingConfig) -> list[Scan | list[FieldError]]:
    items = body.get("scans") if isinstance(body, dict) else None
    if not isinstance(items, list) or not 0 < len(items) <= config.max_batch_scans:
        raise ValidationFailed(errors=[_err("scans", "scans_invalid",
                                            f"must be a list of 1-{config.max_batch_scans} scans",
                                            f"فهرست scans باید ۱ تا {config.max_batch_scans} اسکن داشته باشد")])
    now = time.time()
    return [parse_scan(item, registry, config, now, f"scans[{i}].") for i, item in enumerate(items)]


def problem_of(exc: BaridError) -> dict[str, Any]:
    """The per-item error of a batch answer: the problem body without the type URL."""
    return {k: v for k, v in exc.to_problem().items() if k != "type"}
