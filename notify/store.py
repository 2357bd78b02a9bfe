"""Where the notifications live in the store, and the scripts that move a message along.

All keys of a parcel's messages share its shop's hash tag ``{pN}`` (one slot per script):

* ``shop_events(p)``: hash, field = shop id, value = JSON list of the events the shop turned on.
* ``jobs(p)``: hash, message id -> the message (JSON) while it waits to be sent.
* ``due(p)``: zset, message id scored by when it may go (ms): quiet hours and retries set it; a claim moves it
  one lease ahead, so a worker that dies mid-send leaves it to another one later (no key scans).
* ``mark(p, id)``: the no-duplicate marker, set (NX) before the provider is called: ``sending`` for a lease,
  then ``sent`` / ``failed`` / ``skipped`` for the keep period, so a replayed event sends nothing.
* ``log(shop, tn)``: hash, message id -> the message's receipt as the shop sees it.

A message id is ``<event id>|<receptor>``: one message per event and number. Opt-outs are one set of hashed
numbers (``OPT_OUTS``), read with one SISMEMBER, never with the partition keys.
"""

from __future__ import annotations

import hashlib

from kernel.store import keys

OPT_OUTS = "barid:sms:optouts"  # set of number_hash(phone): nothing is sent to these numbers


def number_hash(phone: str) -> str:
    # The store keeps no list of who opted out: a keyed-less hash is enough, numbers are not secrets, but the
    # set is not a phone book either.
    return hashlib.blake2b(phone.encode(), digest_size=12, person=b"barid-sms").hexdigest()


def shop_events(p: int) -> str:
    return "{p%d}:sms:shops" % p


def jobs(p: int) -> str:
    return "{p%d}:sms:jobs" % p


def due(p: int) -> str:
    return "{p%d}:sms:due" % p


def mark(p: int, message_id: str) -> str:
    return "{p%d}:sms:mark:%s" % (p, message_id)


def log(shop_id: int, tn: str) -> str:
    return f"{keys.tag(shop_id)}:sms:{shop_id}:{tn}"


# KEYS 1 jobs, 2 due, 3 mark, 4 log; ARGV 1 id, 2 message JSON, 3 due ms, 4 receipt JSON, 5 keep ms -> 1 | 0 (dup)
ENQUEUE = r"""
if redis.call('EXISTS', KEYS[3]) == 1 or redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[4], ARGV[5])
return 1
"""

# The due messages, each moved one lease ahead (claimed). KEYS 1 due, 2 jobs; ARGV 1 now ms, 2 lease ms, 3 count
CLAIM = r"""
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])) do
  local job = redis.call('HGET', KEYS[2], id)
  if job then
    redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), id)
    out[#out + 1] = job
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
"""

# The message's end: marker to its final word, off the queue, receipt kept.
# KEYS 1 mark, 2 due, 3 jobs, 4 log; ARGV 1 id, 2 final (sent|failed|skipped), 3 keep ms, 4 receipt JSON
FINISH = r"""
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[4], ARGV[3])
return 1
"""

# Another try later (a provider failure, or quiet hours began): the marker released, the message due again.
# KEYS 1 mark, 2 due, 3 jobs, 4 log; ARGV 1 id, 2 message JSON, 3 due ms, 4 receipt JSON, 5 keep ms
RETRY = r"""
if redis.call('GET', KEYS[1]) == 'sending' then redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[4], ARGV[5])
return 1
"""
