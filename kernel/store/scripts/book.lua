-- KEYS: 1 shop, 2 idempotency record (the shop key when there is none), 3 pre_transit index, 4 partition outbox,
--       5 shop feed, 6 shop's live orders (keys.shop_live_orders); then per item: parcel, order index.
-- ARGV: 1-4 guard, 5 idempotency flag ('' or '1'), 6 idempotency TTL s, 7 idempotency record, 8 item count,
--       9 shop id, 10 feed max length; then per item: tracking number, created ms, index member, doc, event,
--       created_at, client_order_id, another-parcel flag ('' or '1').
-- An item whose order already has a live parcel (in the store or earlier in the same call) and is not marked as
-- another parcel of it books nothing at all: the reply {'ORDER', item index, ...} names every such item (from 0),
-- and the caller books the rest again without them. KEYS[6] counts each order's live parcels.
-- @include guard

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
-- @include guard_commit
for i = 0, n - 1 do
  local a = 11 + i * 8
  local k = 7 + i * 2
  local tn, created_ms, member, doc, ev, created_at = ARGV[a], ARGV[a+1], ARGV[a+2], ARGV[a+3], ARGV[a+4], ARGV[a+5]
  redis.call('HSET', KEYS[k], 'doc', doc, 'status', 'pre_transit', 'status_at', created_at,
             'updated_at', created_at, 'seq', 1, 'created_ms', created_ms,
             '__PARCEL_HISTORY_FIELD__' .. created_ms .. ':1', ev)
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
