-- KEYS: 1 shop, 2 parcel, 3 pre_transit index, 4 cancelled index, 5 outbox, 6 feed, 7 shop's live orders
-- ARGV: 1-4 guard, 5 tracking number, 6 shop id, 7 now ISO, 8 feed max length, 9 event JSON with "__SEQ__"
--       where the parcel's next sequence number goes, 10 now in ms (the event's place in the history)
-- @include guard
-- @include guard_commit
-- Only an accepted scan moves a parcel out of pre_transit (every other needs one first), so pre_transit is
-- exactly "booked, not yet in the post".
local p = redis.call('HMGET', KEYS[2], 'status', 'seq', 'created_ms')
if not p[1] then return {'NOT_FOUND'} end
if p[1] ~= 'pre_transit' then return {'NOT_CANCELLABLE', p[1]} end
local seq = tonumber(p[2]) + 1
local ev = string.gsub(ARGV[9], '__SEQ__', tostring(seq), 1)
redis.call('HSET', KEYS[2], 'status', 'cancelled', 'status_at', ARGV[7],
           'updated_at', ARGV[7], 'seq', seq, '__PARCEL_HISTORY_FIELD__' .. ARGV[10] .. ':' .. seq, ev)
local member = string.format('%013d', tonumber(p[3])) .. ':' .. ARGV[5]
redis.call('ZREM', KEYS[3], member)
redis.call('ZADD', KEYS[4], 0, member)
redis.call('XADD', KEYS[5], '*', 's', ARGV[6], 't', ARGV[5], 'e', ev)
redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[8], '*', 'e', ev)
-- The order id is free again once none of its parcels is live.
local oid = cjson.decode(redis.call('HGET', KEYS[2], 'doc'))['client_order_id']
if redis.call('HINCRBY', KEYS[7], oid, -1) <= 0 then redis.call('HDEL', KEYS[7], oid) end
return {'OK', ev}
