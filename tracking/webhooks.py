"""Storefront webhook endpoints and Standard Webhooks signing.

A shop's endpoints are one JSON object in the partition hash ``keys.webhook_endpoints`` (field = shop id), so
the dispatcher's fan-out script reads them inside the partition without naming per-shop keys. Changes are
compare-and-set on that field. Secrets are ``whsec_`` + base64 of 24 random bytes; after a rotation the old
secret signs alongside the new one (``webhook-signature`` carries both) until it expires.

Signing follows https://www.standardwebhooks.com: ``v1,`` + base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>")).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

import orjson
import redis.asyncio as aioredis

from kernel.errors import Conflict, FieldError, NotFound, ValidationFailed
from kernel.postal.text import strip_controls
from kernel.postal.timeutil import iso_ms, parse_iso
from kernel.settings import TrackingConfig
from kernel.store import keys

from .events import FEATURE_EVENTS, RULES
from .ssrf import validate_webhook_url

SECRET_PREFIX = "whsec_"


class EndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    title = "Webhook endpoint not found"


class TooManyEndpoints(Conflict):
    code = "too_many_webhook_endpoints"
    title = "Too many webhook endpoints"


# CAS on one shop's field: KEYS 1 endpoints hash; ARGV 1 shop id, 2 expected JSON ('' = absent), 3 new ('' = delete)
_CAS = r"""
local cur = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if cur ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return 1
"""

# Shared by the scripts that add an event to a delivery queue (fan-out, replay): a queue is one hash field of
# newline-joined events, head first; a new queue is also put in the ready set, due at ``due``. Returns whether
# the queue is new (its head is then this event).
ENQUEUE = r"""
local function enqueue(queues, ready, member, event, due)
  local q = redis.call('HGET', queues, member)
  if q then
    redis.call('HSET', queues, member, q .. '\n' .. event)
    return false
  end
  redis.call('HSET', queues, member, event)
  redis.call('ZADD', ready, due, member)
  return true
end
"""

# Dead letters of one endpoint within a time range go back to the tail of their parcels' delivery queues.
# KEYS 1 dead, 2 queues, 3 ready; ARGV 1 "<shop>|<endpoint>|", 2 from ms, 3 to ms, 4 now ms
_REPLAY = ENQUEUE + r"""
local prefix = ARGV[1]
local n = 0
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], ARGV[3])) do
  if string.sub(m, 1, #prefix) == prefix then
    local rest = string.sub(m, #prefix + 1)  -- <tracking number>|<why>|<event JSON>
    local bar = string.find(rest, '|', 1, true)
    local why_end = string.find(rest, '|', bar + 1, true)
    local member, e = prefix .. string.sub(rest, 1, bar - 1), string.sub(rest, why_end + 1)
    enqueue(KEYS[2], KEYS[3], member, e, ARGV[4])
    redis.call('ZREM', KEYS[1], m)
    n = n + 1
  end
end
return n
"""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(keys_: list[bytes], msg_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header value: one ``v1,<sig>`` per live secret, space-separated."""
    signed = b"%s.%d.%s" % (msg_id.encode(), timestamp, body)
    return " ".join("v1," + base64.b64encode(hmac.new(k, signed, hashlib.sha256).digest()).decode() for k in keys_)


def live_keys(doc: dict[str, Any], now_ms: int) -> list[bytes]:
    return [secret_key(s["secret"]) for s in doc["secrets"] if s["expires_ms"] is None or s["expires_ms"] > now_ms]


def public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc[k] for k in ("id", "url", "events", "status", "description", "created_at", "disabled_reason")}


def _events(raw: Any) -> list[str] | None:
    if raw is None:
        return ["*"]
    if isinstance(raw, list) and raw and all(isinstance(e, str) for e in raw):
        if raw == ["*"] or all(e in RULES or e in FEATURE_EVENTS for e in raw):
            return sorted(set(raw))
    return None


class WebhookRegistry:
    def __init__(self, redis: aioredis.Redis, config: TrackingConfig) -> None:
        self.redis = redis
        self.config = config
        self._cas = redis.register_script(_CAS)
        self._replay = redis.register_script(_REPLAY)

    async def _load(self, shop_id: int) -> tuple[bytes, dict[str, dict[str, Any]]]:
        raw = await self.redis.hget(keys.webhook_endpoints(keys.partition_of(shop_id)), str(shop_id))
        return (raw or b""), (orjson.loads(raw) if raw else {})

    async def _update(self, shop_id: int, change: Any) -> Any:
        """Apply ``change(endpoints) -> result`` atomically (compare-and-set, retried on a race)."""
        while True:
            raw, eps = await self._load(shop_id)
            result = change(eps)
            new = orjson.dumps(eps) if eps else b""
            if await self._cas(keys=[keys.webhook_endpoints(keys.partition_of(shop_id))],
                               args=[str(shop_id), raw, new]):
                return result

    async def endpoints(self, shop_id: int) -> dict[str, dict[str, Any]]:
        """Endpoint id -> full doc (secrets included): for the dispatcher."""
        return (await self._load(shop_id))[1]

    async def list(self, shop_id: int) -> list[dict[str, Any]]:
        _, eps = await self._load(shop_id)
        return [public(d) for d in sorted(eps.values(), key=lambda d: d["created_at"])]

    async def get(self, shop_id: int, endpoint_id: str) -> dict[str, Any]:
        _, eps = await self._load(shop_id)
        return public(_find(eps, endpoint_id))

    async def create(self, shop_id: int, body: Any) -> dict[str, Any]:
        errs: list[FieldError] = []
        if not isinstance(body, dict):
            raise ValidationFailed(errors=[FieldError("body", "object_expected", "must be a JSON object",
                                                      "بدنه باید یک شیء JSON باشد")])
        url = body.get("url")
        if not isinstance(url, str):
            errs.append(FieldError("url", "url_invalid", "must be an http(s) URL", "نشانی لازم است"))
        events = _events(body.get("events"))
        if events is None:
            errs.append(FieldError("events", "events_invalid",
                                   f"a non-empty list of event names ({', '.join(RULES)}) or [\"*\"]",
                                   "فهرست رویدادها نامعتبر است"))
        description = body.get("description", "")
        if not isinstance(description, str) or len(description) > 200:
            errs.append(FieldError("description", "text_invalid", "at most 200 characters", "حداکثر ۲۰۰ نویسه"))
        if errs:
            raise ValidationFailed(errors=errs)
        description = strip_controls(description).strip()  # free text: no control characters, as elsewhere
        url = await validate_webhook_url(url, self.config.webhook_allow_hosts)
        secret = new_secret()
        doc = {"id": "ep_" + secrets.token_hex(8), "url": url, "events": events, "status": "active",
               "description": description, "created_at": iso_ms(time.time()), "disabled_reason": None,
               "secrets": [{"secret": secret, "expires_ms": None}]}

        def add(eps: dict[str, Any]) -> None:
            if len(eps) >= self.config.max_endpoints_per_shop:
                raise TooManyEndpoints(f"a shop may have at most {self.config.max_endpoints_per_shop} endpoints",
                                       "تعداد نشانی‌های وب‌هوک بیش از حد مجاز است")
            eps[doc["id"]] = doc

        await self._update(shop_id, add)
        return {**public(doc), "secret": secret}

    async def delete(self, shop_id: int, endpoint_id: str) -> None:
        await self._update(shop_id, lambda eps: eps.pop(_find(eps, endpoint_id)["id"]))

    async def set_status(self, shop_id: int, endpoint_id: str, status: str, reason: str | None = None
                         ) -> dict[str, Any]:
        """active (resume, also re-enables a disabled endpoint), paused, or disabled (by a 410)."""

        def change(eps: dict[str, Any]) -> dict[str, Any]:
            doc = _find(eps, endpoint_id)
            doc["status"], doc["disabled_reason"] = status, reason
            return public(doc)

        return await self._update(shop_id, change)

    async def rotate_secret(self, shop_id: int, endpoint_id: str) -> dict[str, Any]:
        secret = new_secret()
        now_ms = int(time.time() * 1000)
        expires = now_ms + int(self.config.secret_overlap_s * 1000)

        def change(eps: dict[str, Any]) -> dict[str, Any]:
            doc = _find(eps, endpoint_id)
            old = [s for s in doc["secrets"] if s["expires_ms"] is None or s["expires_ms"] > now_ms]
            for s in old:
                s["expires_ms"] = min(s["expires_ms"] or expires, expires)
            doc["secrets"] = [{"secret": secret, "expires_ms": None}, *old]
            return {**public(doc), "secret": secret, "previous_secret_expires_at": iso_ms(expires / 1000)}

        return await self._update(shop_id, change)

    async def replay(self, shop_id: int, endpoint_id: str, body: Any) -> dict[str, Any]:
        await self.get(shop_id, endpoint_id)
        body = body if isinstance(body, dict) else {}
        bounds: list[int] = []
        errs = []
        for name, default in (("from", 0.0), ("to", time.time())):
            value = body.get(name)
            try:
                bounds.append(int((parse_iso(value) if value is not None else default) * 1000))
            except (TypeError, ValueError, AttributeError):
                errs.append(FieldError(name, "timestamp_invalid", "must be an ISO 8601 timestamp with a zone",
                                       "زمان باید به قالب ISO 8601 باشد"))
        if errs:
            raise ValidationFailed(errors=errs)
        p = keys.partition_of(shop_id)
        n = await self._replay(keys=[keys.webhook_dead(p), keys.webhook_queues(p), keys.webhook_ready(p)],
                               args=[f"{shop_id}|{endpoint_id}|", bounds[0], bounds[1], int(time.time() * 1000)])
        return {"replayed": int(n)}


def _find(eps: dict[str, Any], endpoint_id: str) -> dict[str, Any]:
    doc = eps.get(endpoint_id)
    if doc is None:
        raise EndpointNotFound(f"no webhook endpoint {endpoint_id}", "نشانی وب‌هوک یافت نشد")
    return doc
