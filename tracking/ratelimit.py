"""The public tracking rate limit: GCRA per client address, in the store, limits from ``limits.toml``.

The buyers' routes (``/v1/track/{tn}``, ``/track/{tn}``) need no key, and tracking numbers are sequential, so
without a limit anyone can walk the whole parcel base. Each client address (an IPv4 address, or the /64 of an
IPv6 one, which is what one subscriber holds) has one key of its own: the GCRA theoretical arrival time, which
expires as soon as the address owes nothing, so idle addresses cost the store nothing. The address is hashed
into the key name: the store holds no list of who looked parcels up.

The address is the TCP peer's. Behind a reverse proxy every buyer has the proxy's address, so a deployment
behind one must pass the real client address through (e.g. aiohttp's forwarded-header handling) or raise the
limits.
"""

from __future__ import annotations

import hashlib
import ipaddress

from kernel.errors import RateLimited
from kernel.postal.text import fa_digits
from kernel.settings import TrackLimits
from kernel.store import keys
from kernel.store.batcher import Batcher, Script

# KEYS: 1 the address's key. ARGV: 1 ms between lookups (1000 / rate), 2 the tolerance in ms (interval x burst).
# Returns 0 (allowed, counted) or the ms to wait before the next lookup is allowed (nothing counted).
TRACK_LIMIT = Script(r"""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - tolerance > now then return math.ceil(new_tat - tolerance - now) end
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.ceil(new_tat - now) + 1)
return 0
""")


class TrackRateLimited(RateLimited):
    code = "track_rate_limited"
    title = "Too many tracking lookups from this address"


def client_key(remote: str | None) -> str:
    """The store key of a client address: an IPv4 address, or the /64 an IPv6 address belongs to."""
    try:
        ip = ipaddress.ip_address(remote or "")
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        client = str(ip) if ip.version == 4 else str(ipaddress.ip_network(f"{ip}/64", strict=False))
    except ValueError:
        client = remote or "unknown"  # a Unix socket has no address: all its clients share one budget
    return keys.track_rate(hashlib.blake2b(client.encode(), digest_size=12).hexdigest())


async def check(batcher: Batcher, limits: TrackLimits, remote: str | None) -> None:
    """Count one public lookup by ``remote``; RateLimited (429 with Retry-After) when its budget is spent."""
    interval = 1000.0 / limits.rate_per_s
    wait_ms = await batcher.evalsha(TRACK_LIMIT, [client_key(remote)], [repr(interval), repr(interval * limits.burst)])
    if wait_ms:
        seconds = max(1, -(-int(wait_ms) // 1000))
        raise TrackRateLimited(
            f"too many tracking lookups from this address; retry in {seconds} s",
            f"درخواست‌های رهگیری از این نشانی بیش از حد مجاز است؛ {fa_digits(seconds)} ثانیهٔ دیگر "
            "دوباره تلاش کنید", headers={"Retry-After": str(seconds)})
