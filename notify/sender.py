"""Outbox-driven buyer SMS: events become messages (consumer group ``sms``), due messages go to the provider.

The consumer reads every partition outbox like the case workers of ``returns.cases`` (XAUTOCLAIM takes over the
entries of a consumer that died; applying is idempotent, so reading at least once is enough). For an event a
shop turned on, it writes one message per (event id, receptor), due now or at the end of quiet hours. The sender
claims due messages (a claim moves them one lease ahead, atomically, so two workers never hold one message),
sets the no-duplicate marker with SET NX before calling the provider, and keeps the provider's receipt after.
A provider failure releases the marker and makes the message due again after a backoff; a worker killed between
the marker and the receipt leaves a marker that expires with the lease, and the retry carries the same provider
``localid``, which the provider answers without sending again. Keys and scripts: ``notify.store``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.asyncio as aioredis

from kernel.postal.offices import Registry
from kernel.postal.timeutil import iso_ms
from kernel.store import keys, lua
from kernel.store.batcher import Batcher, Script
from kernel.store.jobs import OutboxReader
from tracking.events import FAILURE_REASONS, outbox_entry

from . import links, store, texts
from .policy import SmsPolicy
from .provider import ProviderError, SmsProvider
from .settings import NotifySettings

log = logging.getLogger("barid.sms")

GROUP = "sms"  # the consumer group of the SMS workers on every partition outbox
CLAIM_IDLE_MS = 30_000
READ_COUNT = 100
SEND_BATCH = 50  # messages one claim takes from a partition
_WANTED = (b'"type":"booked"', b'"type":"out_for_delivery"', b'"type":"delivery_failed"', b'"type":"delivered"',
           b'"action":"hold_at_office"')

DeliveryCode = Callable[[str], Awaitable[str | None]]


async def no_delivery_code(tracking_number: str) -> str | None:
    return None


def _event_name(event: dict[str, Any]) -> str | None:
    typ = event.get("type")
    if typ in ("booked", "out_for_delivery", "delivery_failed", "delivered"):
        return typ
    if typ == "ndr_action" and (event.get("data") or {}).get("action") == "hold_at_office":
        return "held_at_office"
    return None


class SmsService(OutboxReader):
    """The SMS consumer and sender of one store, and the reads and settings the API serves."""

    outbox_group = GROUP

    def __init__(self, redis: aioredis.Redis, batcher: Batcher, registry: Registry, policy: SmsPolicy,
                 settings: NotifySettings, provider: SmsProvider, consumer: str, *,
                 delivery_code: DeliveryCode = no_delivery_code, clock: Callable[[], float] = time.time) -> None:
        self.redis, self.batcher, self.registry = redis, batcher, registry
        self.policy, self.settings, self.provider = policy, settings, provider
        self.consumer = consumer
        self.delivery_code = delivery_code
        self.clock = clock  # tests move it into and out of quiet hours
        self._read, self._enqueue = Script(lua.OUTBOX_READ), Script(store.ENQUEUE)
        self._claim, self._finish, self._retry = Script(store.CLAIM), Script(store.FINISH), Script(store.RETRY)

    # -- shop settings and opt-outs ----------------------------------------------------------------------
    async def shop_events(self, shop_id: int) -> list[str]:
        raw = await self.redis.hget(store.shop_events(keys.partition_of(shop_id)), str(shop_id))
        return orjson.loads(raw) if raw else []

    async def set_shop_events(self, shop_id: int, events: list[str]) -> list[str]:
        events = [e for e in self.policy.events if e in set(events)]  # policy order, no repeats
        name = store.shop_events(keys.partition_of(shop_id))
        pipe = self.redis.pipeline(transaction=False)
        if events:
            pipe.hset(name, str(shop_id), orjson.dumps(events))
            pipe.hset(keys.shop(shop_id), "sms", "1")  # the booking's price reads it with the shop's profile
        else:
            pipe.hdel(name, str(shop_id))
            pipe.hdel(keys.shop(shop_id), "sms")
        await pipe.execute()
        return events

    async def opt_out(self, phone: str) -> bool:
        """True when the number was not opted out before."""
        return bool(await self.redis.sadd(store.OPT_OUTS, store.number_hash(phone)))

    async def opt_in(self, phone: str) -> bool:
        return bool(await self.redis.srem(store.OPT_OUTS, store.number_hash(phone)))

    async def opted_out(self, phone: str) -> bool:
        return bool(await self.redis.sismember(store.OPT_OUTS, store.number_hash(phone)))

    async def receipts(self, shop_id: int, tn: str) -> list[dict[str, Any]]:
        raw = await self.redis.hgetall(store.log(shop_id, tn))
        return sorted((orjson.loads(v) for v in raw.values()), key=lambda r: (r["created_at"], r["id"]))

    # -- the consumer ------------------------------------------------------------------------------------
    async def consume(self) -> int:
        """Turn every outbox entry not yet read into its messages (all partitions); returns entries read."""
        await self.ensure_groups()
        total, busy = 0, list(range(keys.PARTITIONS))
        while busy:
            replies = await asyncio.gather(*(self.batcher.evalsha(
                self._read, [keys.partition_events(p)], [GROUP, self.consumer, CLAIM_IDLE_MS, READ_COUNT])
                for p in busy))
            pairs, busy = list(zip(busy, replies)), []
            for p, entries in pairs:
                if entries:
                    await self._apply_entries(p, entries)
                    total += len(entries)
                    busy.append(p)
        return total

    async def _apply_entries(self, p: int, entries: list) -> None:
        now = self.clock()
        enabled: dict[int, list[str]] = {}
        for _entry_id, fields in entries:
            if not fields:  # trimmed away while pending
                continue
            shop_raw, events = outbox_entry(fields)
            shop_id = int(shop_raw)
            for tn_raw, event_raw in events:
                if not any(w in event_raw for w in _WANTED):
                    continue
                event = orjson.loads(event_raw)
                name = _event_name(event)
                if name is None:
                    continue
                if shop_id not in enabled:
                    enabled[shop_id] = await self.shop_events(shop_id)
                if name in enabled[shop_id]:
                    await self._message_for(shop_id, tn_raw.decode(), name, event, now)
        # An error above leaves the entries pending: a later read takes them over and writes the same messages,
        # which the ENQUEUE script refuses as duplicates.
        await self.batcher.command("XACK", keys.partition_events(p), GROUP, *[e[0] for e in entries])

    async def _message_for(self, shop_id: int, tn: str, name: str, event: dict[str, Any], now: float) -> None:
        parcel = await self.redis.hmget(keys.parcel(shop_id, tn), "doc", "ndr_phone", "returning")
        if parcel[0] is None:
            return
        doc = orjson.loads(parcel[0])
        if doc.get("return_of"):  # a parcel going back to its shop (returns.legs): its receiver is the shop
            return
        receptor = (parcel[1] or b"").decode() or (doc.get("receiver") or {}).get("phone") or ""
        if not receptor:
            return
        text = await self._text(shop_id, tn, name, event, doc, returning=parcel[2] == b"1", now=now)
        message_id = f"{event['id']}|{receptor}"
        p = keys.partition_of(shop_id)
        receipt = {"id": message_id, "event": name, "event_id": event["id"], "receptor": receptor, "text": text,
                   "created_at": iso_ms(now), "tries": 0}
        if await self.opted_out(receptor):
            receipt.update(status="opted_out")
            await self.batcher.evalsha(self._finish, [store.mark(p, message_id), store.due(p), store.jobs(p),
                                                      store.log(shop_id, tn)],
                                       [message_id, "skipped", int(self.policy.keep_s * 1000), orjson.dumps(receipt)])
            return
        when = self.policy.next_allowed(now)
        receipt.update(status="queued" if when <= now else "deferred", due_at=iso_ms(when))
        job = {"id": message_id, "shop_id": shop_id, "tracking_number": tn, "event": name, "event_id": event["id"],
               "receptor": receptor, "text": text, "created_at": receipt["created_at"], "tries": 0}
        await self.batcher.evalsha(self._enqueue, [store.jobs(p), store.due(p), store.mark(p, message_id),
                                                   store.log(shop_id, tn)],
                                   [message_id, orjson.dumps(job), int(when * 1000), orjson.dumps(receipt),
                                    int(self.policy.keep_s * 1000)])

    async def _text(self, shop_id: int, tn: str, name: str, event: dict[str, Any], doc: dict[str, Any], *,
                    returning: bool, now: float) -> str:
        base = self.settings.public_url
        if name == "booked":
            return texts.booked(tn, (doc.get("sender") or {}).get("name") or "", f"{base}/track/{tn}")
        if name == "out_for_delivery":
            window = doc.get("time_window") or doc.get("receiver", {}).get("time_window")
            window = tuple(window) if isinstance(window, list) and len(window) == 2 else self.policy.delivery_window
            return texts.out_for_delivery(tn, window, await self.delivery_code(tn))  # type: ignore[arg-type]
        if name == "delivery_failed":
            reason = (event.get("data") or {}).get("reason") or ""
            sends_back = returning or FAILURE_REASONS.get(reason, (False,))[0]
            link = None if sends_back else f"{base}/s/" + links.sign(
                self.settings.link_secret, shop_id, tn, self.policy.link_ttl_s, now)
            return texts.delivery_failed(tn, reason, link)
        if name == "held_at_office":
            office = (event.get("data") or {}).get("held_at") or event.get("office") or ""
            return texts.held_at_office(tn, office, self.registry, self.policy)
        return texts.delivered(tn)

    # -- the sender ----------------------------------------------------------------------------------------
    async def send_due(self) -> int:
        """Send every message due now (all partitions); returns how many the provider took."""
        now = self.clock()
        lease_ms = int(self.policy.lease_s * 1000)
        claims = await asyncio.gather(*(self.batcher.evalsha(
            self._claim, [store.due(p), store.jobs(p)], [int(now * 1000), lease_ms, SEND_BATCH])
            for p in range(keys.PARTITIONS)))
        jobs = [orjson.loads(raw) for claimed in claims for raw in claimed]
        results = await asyncio.gather(*(self._send(job, now) for job in jobs))
        return sum(results)

    async def _send(self, job: dict[str, Any], now: float) -> bool:
        shop_id, tn, mid = job["shop_id"], job["tracking_number"], job["id"]
        p = keys.partition_of(shop_id)
        keys4 = [store.mark(p, mid), store.due(p), store.jobs(p), store.log(shop_id, tn)]
        keep_ms = int(self.policy.keep_s * 1000)
        receipt = {k: job[k] for k in ("id", "event", "event_id", "receptor", "text", "created_at")}
        if (when := self.policy.next_allowed(now)) > now:  # quiet hours began while it waited: to the morning
            receipt.update(status="deferred", due_at=iso_ms(when), tries=job["tries"])
            await self.batcher.evalsha(self._retry, keys4, [mid, orjson.dumps(job), int(when * 1000),
                                                            orjson.dumps(receipt), keep_ms])
            return False
        if await self.opted_out(job["receptor"]):
            receipt.update(status="opted_out", tries=job["tries"])
            await self.batcher.evalsha(self._finish, keys4, [mid, "skipped", keep_ms, orjson.dumps(receipt)])
            return False
        if not await self.redis.set(keys4[0], "sending", nx=True, px=int(self.policy.lease_s * 1000)):
            final = await self.redis.get(keys4[0])
            if final not in (None, b"sending"):  # sent (or given up) already: only the queue entry was left
                await self.redis.zrem(keys4[1], mid)
                await self.redis.hdel(keys4[2], mid)
            return False  # another worker is sending it: its lease keeps the message off everyone else's claims
        tries = job["tries"] + 1
        try:
            got = await self.provider.send(job["receptor"], job["text"], mid)
        except ProviderError as exc:
            receipt.update(tries=tries, error={"status": exc.status, "message": exc.message})
            if exc.permanent or tries > len(self.policy.retry_schedule):
                receipt.update(status="failed", failed_at=iso_ms(self.clock()))
                await self.batcher.evalsha(self._finish, keys4, [mid, "failed", keep_ms, orjson.dumps(receipt)])
                log.warning("SMS %s to the buyer of %s given up: %s", job["event"], tn, exc)
                return False
            delay = self.policy.retry_schedule[tries - 1] * random.uniform(0.8, 1.2)
            when = self.policy.next_allowed(now + delay)
            receipt.update(status="retrying", due_at=iso_ms(when))
            await self.batcher.evalsha(self._retry, keys4, [mid, orjson.dumps({**job, "tries": tries}),
                                                            int(when * 1000), orjson.dumps(receipt), keep_ms])
            return False
        receipt.update(status="sent", tries=tries, sent_at=iso_ms(self.clock()), provider=got.provider,
                       message_id=got.message_id, provider_status=got.status, provider_status_text=got.status_text,
                       cost=got.cost)
        await self.batcher.evalsha(self._finish, keys4, [mid, "sent", keep_ms, orjson.dumps(receipt)])
        return True

    async def run_once(self) -> int:
        await self.consume()
        return await self.send_due()


async def run_worker(service: SmsService, interval_s: float) -> None:
    """Read new events and send due messages every ``interval_s``, until cancelled."""
    while True:
        try:
            await service.run_once()
        except asyncio.CancelledError:
            raise
        except Exception:  # the store restarting must not end the loop: entries stay pending, retried later
            log.exception("sms worker")
        await asyncio.sleep(interval_s)
