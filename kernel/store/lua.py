"""Lua sources of the store-side scripts. Each touches only the keys of one shop partition ({pN})."""

from kernel.store.keys import PARCEL_HISTORY_FIELD

# Shared by every script a shop's request runs: the key must match, the shop must be active, and the request
# must fit the shop's rate (GCRA: a token bucket without a timer; the state is one number, the shop hash's
# `tat` field: a key of its own, with an expiry, cost the store about 10,000 instructions more per request).
# Sets `now`. Expects KEYS[1] = shop hash; ARGV[1] key hash, ARGV[2]/[3] default rate/burst, ARGV[4] cost
# (requests or booked items). After a rotation the previous key's hash stays valid until `prev_key_until` (ms).
# A cost above the whole burst could never be admitted, however long the client waited: refused as such.
GUARD = r"""
local shop = redis.call('HMGET', KEYS[1], 'key_hash', 'status', 'rate', 'burst', 'tat', 'prev_key_hash',
                        'prev_key_until')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if shop[1] ~= ARGV[1] and not (shop[6] == ARGV[1] and (tonumber(shop[7]) or 0) > now) then
  return {'AUTH'}
end
if shop[2] ~= 'active' then return {'DISABLED'} end
local burst = tonumber(shop[4] or ARGV[3])
if tonumber(ARGV[4]) > burst then return {'BURST', tostring(burst)} end
local interval = 1000 / tonumber(shop[3] or ARGV[2])
local tolerance = interval * burst
local tat = tonumber(shop[5] or '0')
if tat < now then tat = now end
local new_tat = tat + interval * tonumber(ARGV[4])
if new_tat - tolerance > now then
  return {'RATE', tostring(math.ceil(new_tat - tolerance - now))}
end
"""

GUARD_COMMIT = r"""
redis.call('HSET', KEYS[1], 'tat', string.format('%.3f', new_tat))
"""

AUTH = GUARD + GUARD_COMMIT + "return {'OK'}\n"

# KEYS: 1 shop, 2 idempotency record (the shop key when there is none), 3 pre_transit index, 4 partition outbox,
#       5 shop feed, 6 shop's live orders (keys.shop_live_orders); then per item: parcel, order index.
# ARGV: 1-4 guard, 5 idempotency flag ('' or '1'), 6 idempotency TTL s, 7 idempotency record, 8 item count,
#       9 shop id, 10 feed max length; then per item: tracking number, created ms, index member, doc, event,
#       created_at, client_order_id, another-parcel flag ('' or '1').
# An item whose order already has a live parcel (in the store or earlier in the same call) and is not marked as
# another parcel of it books nothing at all: the reply {'ORDER', item index, ...} names every such item (from 0),
# and the caller books the rest again without them. KEYS[6] counts each order's live parcels.
BOOK = GUARD + r"""
if ARGV[5] ~= '' then
  local prev = redis.call('GET', KEYS[2])
  if prev then return {'REPLAY', prev} end
end
local n = tonumber(ARGV[8])
local live = {}
local clash = {}
for i = 0, n - 1 do
  local a = 11 + i * 8
  local oid = ARGV[a+6]
  local count = live[oid]
  if count == nil then count = tonumber(redis.call('HGET', KEYS[6], oid) or '0') end
  if count > 0 and ARGV[a+7] == '' then clash[#clash+1] = tostring(i) end
  live[oid] = count + 1
end
if #clash > 0 then
  table.insert(clash, 1, 'ORDER')
  return clash
end
""" + GUARD_COMMIT + r"""
for i = 0, n - 1 do
  local a = 11 + i * 8
  local k = 7 + i * 2
  local tn, created_ms, member, doc, ev, created_at = ARGV[a], ARGV[a+1], ARGV[a+2], ARGV[a+3], ARGV[a+4], ARGV[a+5]
  redis.call('HSET', KEYS[k], 'doc', doc, 'status', 'pre_transit', 'status_at', created_at,
             'updated_at', created_at, 'seq', 1, 'created_ms', created_ms,
             '""" + PARCEL_HISTORY_FIELD + r"""' .. created_ms .. ':1', ev)
  redis.call('ZADD', KEYS[k+1], 0, member)
  redis.call('ZADD', KEYS[3], 0, member)
  redis.call('XADD', KEYS[4], '*', 's', ARGV[9], 't', tn, 'e', ev)
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[10], '*', 'e', ev)
end
for oid, count in pairs(live) do
  redis.call('HSET', KEYS[6], oid, count)
end
if ARGV[5] ~= '' then
  redis.call('SET', KEYS[2], ARGV[7], 'EX', ARGV[6])
end
return {'OK'}
"""

# KEYS: 1 shop, 2 parcel, 3 pre_transit index, 4 cancelled index, 5 outbox, 6 feed, 7 shop's live orders
# ARGV: 1-4 guard, 5 tracking number, 6 shop id, 7 now ISO, 8 feed max length, 9 event JSON with "__SEQ__"
#       where the parcel's next sequence number goes, 10 now in ms (the event's place in the history)
CANCEL = GUARD + GUARD_COMMIT + r"""
-- Only an accepted scan moves a parcel out of pre_transit (every other needs one first), so pre_transit is
-- exactly "booked, not yet in the post".
local p = redis.call('HMGET', KEYS[2], 'status', 'seq', 'created_ms')
if not p[1] then return {'NOT_FOUND'} end
if p[1] ~= 'pre_transit' then return {'NOT_CANCELLABLE', p[1]} end
local seq = tonumber(p[2]) + 1
local ev = string.gsub(ARGV[9], '__SEQ__', tostring(seq), 1)
redis.call('HSET', KEYS[2], 'status', 'cancelled', 'status_at', ARGV[7],
           'updated_at', ARGV[7], 'seq', seq, '""" + PARCEL_HISTORY_FIELD + r"""' .. ARGV[10] .. ':' .. seq, ev)
local member = string.format('%013d', tonumber(p[3])) .. ':' .. ARGV[5]
redis.call('ZREM', KEYS[3], member)
redis.call('ZADD', KEYS[4], 0, member)
redis.call('XADD', KEYS[5], '*', 's', ARGV[6], 't', ARGV[5], 'e', ev)
redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[8], '*', 'e', ev)
-- The order id is free again once none of its parcels is live.
local oid = cjson.decode(redis.call('HGET', KEYS[2], 'doc'))['client_order_id']
if redis.call('HINCRBY', KEYS[7], oid, -1) <= 0 then redis.call('HDEL', KEYS[7], oid) end
return {'OK', ev}
"""
