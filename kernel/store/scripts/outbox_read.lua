-- Raw outbox entries for the caller's consumer: first those of a consumer that died (idle past ARGV 3), else new
-- ones. KEYS 1 outbox; ARGV 1 group, 2 consumer, 3 min idle ms, 4 count. A script, so the reply is the server's
-- own (redis-py would fold an entry's repeated fields into a dict: tracking.events.OUTBOX_RANGE).
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], '0-0', 'COUNT', ARGV[4])
if #claimed[2] > 0 then return claimed[2] end
local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[4], 'STREAMS', KEYS[1], '>')
if not r then return {} end
return r[1][2]
