-- Shared by every script a shop's request runs: the key must match, the shop must be active, and the request
-- must fit the shop's rate (GCRA: a token bucket without a timer; the state is one number, the shop hash's
-- `tat` field: a key of its own, with an expiry, cost the store about 10,000 instructions more per request).
-- Sets `now`. Expects KEYS[1] = shop hash; ARGV[1] key hash, ARGV[2]/[3] default rate/burst, ARGV[4] cost
-- (requests or booked items). After a rotation the previous key's hash stays valid until `prev_key_until` (ms).
-- A cost above the whole burst could never be admitted, however long the client waited: refused as such.
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
