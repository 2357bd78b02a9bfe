"""Booking, reading, listing and cancelling shipments: the gateway's engine.

A booking (or a whole batch of them) is one Lua script on the shop's partition: it re-checks the API key and
the shop's status, applies the rate limit, replays or records the idempotency key, and writes the parcel, its
indexes, its first history entry and the ``booked`` event into the partition outbox and the shop's feed, all
atomically. The tracking-number index (the one key outside the partition) is written in the same round trip,
and the answer waits for both, so a 2xx means every part of the booking is in the store and its append-only
file.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
import redis.asyncio as aioredis

from booking.shops import Shop
from booking.validation import ShipmentRequest
from kernel.errors import BaridError, Conflict, FieldError, NotFound, RateLimited, Unauthorized
from kernel.postal.network import ParcelNetwork
from kernel.postal.s10 import format_tracking_number
from kernel.postal.tariff import Limits, Tariff, zone_of
from kernel.postal.text import fa_digits
from kernel.postal.timeutil import iso_ms
from kernel.store import keys, lua
from kernel.store.batcher import Batcher, Script
from kernel.store.serials import SerialAllocator
from pod.policy import POLICY as POD_POLICY

BOOK_SCRIPT = Script(lua.BOOK)


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "Idempotency-Key was used with a different request"


class ClientOrderIdExists(Conflict):
    code = "client_order_id_exists"
    title = "A live shipment already has this client_order_id"


def order_id_exists(order_id: str, tracking_number: str | None) -> ClientOrderIdExists:
    """``tracking_number`` is None only when the live parcel was cancelled while the refusal was being made."""
    tn = tracking_number or "(just cancelled)"
    return ClientOrderIdExists(
        f"client_order_id {order_id!r} already has the live shipment {tn}; cancel it first, or send "
        f'"another_parcel_of_order": true to book another parcel of the same order',
        f"برای سفارش {order_id} پیش‌تر مرسوله {tn} ثبت شده و لغو نشده است؛ اگر این بسته دیگری از همان"
        " سفارش است، another_parcel_of_order را true بفرستید",
        extra={"tracking_number": tracking_number, "client_order_id": order_id})


@dataclass(frozen=True, slots=True)
class OrderIdTaken:
    """A batch item not booked because its client_order_id already has a live parcel (``tracking_number``)."""

    client_order_id: str
    tracking_number: str | None

    def field_error(self) -> FieldError:
        exc = order_id_exists(self.client_order_id, self.tracking_number)
        return FieldError("client_order_id", exc.code, exc.detail, exc.detail_fa)


class ShipmentNotFound(NotFound):
    code = "shipment_not_found"
    title = "Shipment not found"


class NotCancellable(Conflict):
    code = "not_cancellable"
    title = "Shipment can no longer be cancelled"


class AlreadyCancelled(Conflict):
    code = "already_cancelled"
    title = "Shipment is already cancelled"


class BatchExceedsBurst(BaridError):
    """A batch that costs more than the shop's whole burst: no wait would let it through, so it is not a 429."""

    code = "batch_exceeds_burst"
    title = "Batch is larger than the shop's rate-limit burst"


class ShopDisabled(Unauthorized):
    code = "shop_disabled"
    title = "Shop is disabled"


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated-looking request: which shop it claims to be, and its key's hash.

    The claim is verified inside the store by every script (lua.GUARD), so revocation takes effect at once.
    """

    shop: Shop
    key_hash: str
    # None: the shop's API key (every right). A panel session: its user's role, "owner" or "staff"; staff may
    # not manage the shop's keys, webhooks or users (booking.auth.require_manager).
    role: str | None = None

    def guard_args(self, default_rate: str, default_burst: int, cost: int = 1) -> list[Any]:
        return [self.key_hash, default_rate, default_burst, cost]


@dataclass(slots=True)
class Replay:
    status: int
    body: bytes


def raise_for_guard(res: list) -> None:
    verdict = res[0]
    if verdict == b"AUTH":
        raise Unauthorized("API key is not valid", "کلید API معتبر نیست", code="invalid_api_key")
    if verdict == b"DISABLED":
        raise ShopDisabled("this shop is disabled", "این فروشگاه غیرفعال شده است")
    if verdict == b"BURST":
        burst = int(res[1])
        raise BatchExceedsBurst(
            f"this batch books more shipments than the shop's rate-limit burst ({burst}); split it into batches of"
            f" at most {burst}",
            f"تعداد مرسوله‌های این دسته از سقف درخواست هم‌زمان فروشگاه ({fa_digits(burst)}) بیشتر است؛"
            f" آن را به دسته‌های حداکثر {fa_digits(burst)} تایی تقسیم کنید",
            extra={"burst": burst})
    if verdict == b"RATE":
        retry_ms = int(res[1])
        raise RateLimited(f"rate limit exceeded; retry in {retry_ms} ms", "تعداد درخواست‌ها بیش از حد مجاز است",
                          headers={"Retry-After": str(max(1, -(-retry_ms // 1000)))})


def _booked(res: Any) -> bool:
    """The booking script's reply says it booked (not an error value, a refusal or a replay)."""
    return not isinstance(res, BaseException) and res[0] == b"OK"


def _raise_side_errors(side_replies: list) -> None:
    for reply in side_replies:  # booked but not findable: not acknowledged, so the client retries
        if isinstance(reply, BaseException):
            raise reply


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def request_fingerprint(target: str, parsed: Any) -> str:
    """What an Idempotency-Key's request is compared by: the request's target (method and path) and its parsed
    JSON in a canonical form (keys sorted, no whitespace), so the same request spelled otherwise matches, as
    Stripe compares parameters rather than bytes. Only computed for requests that carry a key."""
    return fingerprint(target.encode() + b"\n" + orjson.dumps(parsed, option=orjson.OPT_SORT_KEYS))


class BookingService:
    def __init__(self, redis: aioredis.Redis, batcher: Batcher, limits: Limits, tariff: Tariff,
                 network: ParcelNetwork, *, default_rate: float, default_burst: int, idempotency_ttl_s: int,
                 serial_block: int) -> None:
        self.redis = redis
        self.network = network
        self.batcher = batcher
        self.limits = limits
        self.tariff = tariff
        # The rate goes to every script as the packer would spell the float, spelled once rather than per call.
        self._rate_arg = repr(float(default_rate))
        self.default_burst = default_burst
        self.idempotency_ttl_s = idempotency_ttl_s
        self._book = BOOK_SCRIPT
        self._cancel = Script(lua.CANCEL)
        self._auth = Script(lua.AUTH)
        self._serials = {
            name: SerialAllocator(redis, svc.s10_indicator, serial_block) for name, svc in limits.services.items()
        }
        self._indicators = {name: svc.s10_indicator for name, svc in limits.services.items()}

    # -- pricing ---------------------------------------------------------------------------------------------
    def price(self, req: ShipmentRequest) -> tuple[str, dict[str, Any]]:
        """Zone and price breakdown (TariffError where only the tariff can refuse); remembered on ``req``."""
        if req.price is None:
            zone = zone_of(req.sender, req.receiver)
            req.price = self.tariff.price(req.service, req.parcel["weight_g"], zone, req.cod_goods_value,
                                          req.parcel.get("declared_value"), req.sms)
            req.zone = zone
        return req.zone, req.price

    # -- booking ---------------------------------------------------------------------------------------------
    async def book(self, caller: Caller, reqs: list[ShipmentRequest | None], *,
                   idempotency_key: str | None, request_fp: str, render: Any,
                   idempotency_scope: str = keys.IDEMPOTENCY_SHIPMENTS, batch: bool = False
                   ) -> tuple[list[bytes | OrderIdTaken | None], Replay | None]:
        """Book every non-None request in one atomic script.

        Returns each booked shipment as the JSON the API shows for it (None where a request was rejected, an
        ``OrderIdTaken`` where its client_order_id already has a live parcel), or the earlier answer when the
        idempotency key was seen before. ``render(views)`` builds the (status, body) the client gets from those;
        it is stored with the idempotency key so a replay answers byte for byte the same (the fingerprint
        ``request_fp`` is only needed with a key). Outside a ``batch``, a single request whose order id is taken
        raises ClientOrderIdExists instead.
        """
        shop_id = caller.shop.id
        shop = _shop_keys(shop_id)
        now = time.time()
        created_ms = int(now * 1000)
        created_at = iso_ms(now)
        views: list[bytes | OrderIdTaken | None] = []
        # Per item to book: its index, keys, arguments and its two side writes.
        items: list[tuple[int, list[str], list[Any], tuple, tuple]] = []
        # The tracking-number index and the delivering office's to-do list live outside the partition, so the
        # script cannot write them. They go out in the same round trip right behind it (a booking costs one
        # trip), are taken back when the script refused the request (bad key, rate limit, replay, a taken order
        # id), and are written again on a replay, in case the first attempt died between the script and them.
        serials = self._reserved_serial(reqs) or await self._take_serials(reqs)
        indicators = self._indicators
        stamp = created_at.encode()
        for i, req in enumerate(reqs):
            if req is None:
                views.append(None)
                continue
            service = req.service
            req.delivery_verification = POD_POLICY.resolve(req.delivery_verification,
                                                           caller.shop.delivery_verification, req.payment)
            tn = format_tracking_number(indicators[service], next(serials[service]))
            view, doc_json, event_json, office, expected = self._records(shop_id, req, tn, now, created_at, stamp)
            views.append(view)
            # Key names come from keys.py; the per-shop part of them is formatted once per shop (_shop_keys).
            items.append((i, lua.book_item_keys(shop.parcel + tn, shop.order + req.client_order_id),
                          lua.book_item_args(tn, created_ms, keys.index_member(created_ms, tn), doc_json, event_json,
                                             created_at, req.client_order_id, req.another_parcel),
                          ("SET", keys.tracking_index(tn), shop_id),
                          ("ZADD", keys.office_due(office), int(expected.replace("-", "")), tn)))
        idem_key = (keys.idempotency(shop_id, idempotency_key, idempotency_scope) if idempotency_key is not None
                    else shop.shop)
        # Each attempt that finds taken order ids books nothing; the next books the rest (fewer every time).
        while True:
            side = [item[3] for item in items] + [item[4] for item in items]
            booked = len(items)
            idem_record = b""
            if idempotency_key is not None:
                status, body = render(views)
                idem_record = orjson.dumps({"fp": request_fp, "status": status, "body": body.decode(),
                                            "side": side})
            script_keys = [*lua.book_head_keys(shop.shop, idem_key, *shop.booking, shop.live_orders)]
            args = [*lua.book_head_args(caller.guard_args(self._rate_arg, self.default_burst, booked or 1),
                                        idempotent=idempotency_key is not None, ttl_s=self.idempotency_ttl_s,
                                        record=idem_record, count=booked, shop_id=shop_id, feed_maxlen=keys.FEED_MAXLEN)]
            for item in items:
                script_keys += item[1]
                args += item[2]
            res, *side_replies = await self.batcher.group(self._book, script_keys, args, side)
            if _booked(res) or isinstance(res, BaseException) or res[0] != b"ORDER":
                break
            await self._undo(side)
            taken = {int(pos) for pos in res[1:]}
            if len(reqs) == 1 and not batch:
                await self.authorize(caller)  # refused input still counts against the rate
                order_id = reqs[0].client_order_id  # type: ignore[union-attr]
                raise order_id_exists(order_id, await self.live_parcel(shop_id, order_id))
            kept = [item for pos, item in enumerate(items) if pos not in taken]
            for pos in sorted(taken):
                order_id = reqs[items[pos][0]].client_order_id  # type: ignore[union-attr]
                # Taken by an earlier item of this call (booked on the next attempt), or by a stored parcel.
                tn = next((item[2][0] for item in kept if item[2][6] == order_id and item[0] < items[pos][0]), None)
                views[items[pos][0]] = OrderIdTaken(order_id, tn or await self.live_parcel(shop_id, order_id))
            items = kept
        if not _booked(res):
            await self._settle(res, side)
        if res[0] == b"REPLAY":
            prev = orjson.loads(res[1])
            if prev["fp"] != request_fp:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was already used with a different request body",
                    "این کلید یکتایی پیش‌تر با درخواست دیگری به کار رفته است")
            await asyncio.gather(*[self.batcher.command(*cmd) for cmd in prev.get("side", ())])
            return views, Replay(prev["status"], prev["body"].encode())
        _raise_side_errors(side_replies)
        return views, None

    def _records(self, shop_id: int, req: ShipmentRequest, tn: str, now: float, created_at: str,
                 stamp: bytes) -> tuple[bytes, bytes, bytes, str, str]:
        """A booked shipment as the API shows it, its stored document and its ``booked`` event (JSON), and the
        delivering office and expected date its indexes need."""
        zone, price = self.price(req)
        service, order_id = req.service, req.client_order_id
        origin, office, route, expected = self.network.assign(service, req.sender, req.receiver, now)
        doc_json = orjson.dumps({
            "tracking_number": tn, "shop_id": shop_id, "client_order_id": order_id,
            "service": service, "payment": req.payment, "sender": req.sender, "receiver": req.receiver,
            "parcel": req.parcel, "zone": zone, "price": price, "created_at": created_at,
            "origin_office": origin, "delivering_office": office, "route": route, "expected_delivery": expected,
            "delivery_verification": req.delivery_verification or "none",  # pod.policy; the scan script reads it
        })
        btn = tn.encode()
        event_json = BOOKED_EVENT % (btn, btn, shop_id, stamp, stamp, orjson.dumps(order_id), service.encode(),
                                     orjson.dumps(office), expected.encode())
        # What a freshly booked shipment shows beyond its document (see shipment_view), appended to it.
        view = doc_json[:-1] + FRESH_STATUS % (stamp, stamp)
        return view, doc_json, event_json, office, expected

    async def book_one(self, caller: Caller, req: ShipmentRequest) -> bytes | None:
        """The common booking, one request without an Idempotency-Key, when a serial is at hand: the same writes
        as ``book()`` in one command built straight from the shop's prepared prefix. Returns the shipment's JSON,
        or None when no serial was reserved (``book()`` then takes one from the store)."""
        service = req.service
        serial = self._serials[service].take_reserved()
        if serial is None:
            return None
        shop_id = caller.shop.id
        shop = _shop_keys(shop_id)
        now = time.time()
        created_ms = int(now * 1000)
        created_at = iso_ms(now)
        tn = format_tracking_number(self._indicators[service], serial)
        req.delivery_verification = POD_POLICY.resolve(req.delivery_verification, caller.shop.delivery_verification,
                                                       req.payment)
        view, doc_json, event_json, office, expected = self._records(shop_id, req, tn, now, created_at,
                                                                     created_at.encode())
        order_id = req.client_order_id
        # The same builders as book()'s, so the two cannot lay the script's arguments out differently.
        script = (*shop.book_one, *lua.book_item_keys(shop.parcel + tn, shop.order + order_id),
                  *lua.book_head_args(caller.guard_args(self._rate_arg, self.default_burst, 1), idempotent=False,
                                      ttl_s=self.idempotency_ttl_s, record=b"", count=1, shop_id=shop_id,
                                      feed_maxlen=keys.FEED_MAXLEN),
                  *lua.book_item_args(tn, created_ms, keys.index_member(created_ms, tn), doc_json, event_json,
                                      created_at, order_id, req.another_parcel))
        side = (("SET", keys.tracking_index(tn), shop_id),
                ("ZADD", keys.office_due(office), int(expected.replace("-", "")), tn))
        res, *side_replies = await self.batcher.script_and(self._book, script, side)
        if not _booked(res):  # nearly always booked: no coroutine for a settle with nothing to do
            if not isinstance(res, BaseException) and res[0] == b"ORDER":
                await self._undo(side)
                await self.authorize(caller)  # refused input still counts against the rate
                raise order_id_exists(order_id, await self.live_parcel(shop_id, order_id))
            await self._settle(res, side)
        _raise_side_errors(side_replies)
        return view

    async def live_parcel(self, shop_id: int, order_id: str) -> str | None:
        """The newest parcel booked under the order id that is not cancelled (to name it in a refusal)."""
        members = await self.redis.zrange(keys.shop_order_index(shop_id, order_id), "+", "-", desc=True,
                                          bylex=True, offset=0, num=100)
        tns = [m.decode().split(":", 1)[1] for m in members]
        pipe = self.redis.pipeline(transaction=False)
        for tn in tns:
            pipe.hget(keys.parcel(shop_id, tn), "status")
        for tn, status in zip(tns, await pipe.execute()):
            if status is not None and status != b"cancelled":
                return tn
        return None

    async def _settle(self, res: Any, side: list[tuple] | tuple[tuple, ...]) -> None:
        """After a booking script that did not book: its side writes taken back, and its failure or refusal
        raised (a replay is left to the caller)."""
        await self._undo(side)
        if isinstance(res, BaseException):
            raise res
        raise_for_guard(res)

    def _reserved_serial(self, reqs: list[ShipmentRequest | None]) -> dict[str, Any] | None:
        """A single booking (most requests) served from the reserved block: no await at all."""
        if len(reqs) == 1 and reqs[0] is not None:
            service = reqs[0].service
            serial = self._serials[service].take_reserved()
            if serial is not None:
                return {service: iter((serial,))}
        return None

    async def _take_serials(self, reqs: list[ShipmentRequest | None]) -> dict[str, Any]:
        """An iterator of fresh serials per service, as many as the requests need."""
        wanted: dict[str, int] = {}
        for req in reqs:
            if req is not None:
                wanted[req.service] = wanted.get(req.service, 0) + 1
        return {svc: iter(await self._serials[svc].take(n)) for svc, n in wanted.items()}

    async def _undo(self, side: list[tuple] | tuple[tuple, ...]) -> None:
        undo = [("DEL", cmd[1]) if cmd[0] == "SET" else ("ZREM", cmd[1], cmd[3]) for cmd in side]
        await asyncio.gather(*[self.batcher.command(*cmd) for cmd in undo], return_exceptions=True)

    # -- reading ---------------------------------------------------------------------------------------------
    async def authorize(self, caller: Caller) -> None:
        raise_for_guard(await self.batcher.evalsha(
            self._auth, [keys.shop(caller.shop.id)],
            caller.guard_args(self._rate_arg, self.default_burst)))

    async def get(self, caller: Caller, tracking_number: str) -> dict[str, Any]:
        shop_id = caller.shop.id
        _, parcel = await asyncio.gather(self.authorize(caller),
                                         self.redis.hgetall(keys.parcel(shop_id, tracking_number)))
        if not parcel:
            raise ShipmentNotFound(f"no shipment {tracking_number} in this shop",
                                   f"مرسوله {tracking_number} در این فروشگاه یافت نشد")
        view = shipment_view(parcel)
        view["history"] = [orjson.loads(e) for e in keys.parcel_history(parcel)]
        return view

    async def list(self, caller: Caller, *, status: str | None, client_order_id: str | None,
                   created_from_ms: int | None, created_to_ms: int | None, cursor: str | None,
                   limit: int) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first. The cursor is the last index member returned (see keys.index_member)."""
        shop_id = caller.shop.id
        if client_order_id is not None:
            indexes = [keys.shop_order_index(shop_id, client_order_id)]
        elif status is not None:
            indexes = [keys.shop_status_index(shop_id, status)]
        else:  # every parcel is in one status index: the newest of all are among the newest of each
            indexes = [keys.shop_status_index(shop_id, st) for st in keys.STATUSES]
        hi = "(" + cursor if cursor else "+"
        if created_to_ms is not None:
            bound = "(%013d" % (created_to_ms + 1)
            hi = bound if hi == "+" or bound < hi else hi
        lo = "[%013d" % created_from_ms if created_from_ms is not None else "-"
        await self.authorize(caller)
        pipe = self.redis.pipeline(transaction=False)
        for index in indexes:
            pipe.zrange(index, hi, lo, desc=True, bylex=True, offset=0, num=limit + 1)
        members: list[bytes] = sorted({m for found in await pipe.execute() for m in found}, reverse=True)[:limit + 1]
        page, more = members[:limit], len(members) > limit
        pipe = self.redis.pipeline(transaction=False)
        for m in page:  # not HGETALL: the hash holds the parcel's history and scan records too
            pipe.hmget(keys.parcel(shop_id, m.decode().split(":", 1)[1]), VIEW_FIELDS)
        items = []
        for values in await pipe.execute():
            h = dict(zip(VIEW_FIELDS, values))
            if h[b"doc"] is not None and (status is None or h[b"status"].decode() == status):
                items.append(shipment_view(h))
        return items, (page[-1].decode() if more and page else None)

    async def cancel(self, caller: Caller, tracking_number: str) -> dict[str, Any]:
        shop_id = caller.shop.id
        now = time.time()
        now_iso = iso_ms(now)
        event = {
            "id": f"evt_{tracking_number}___SEQ__", "type": "cancelled", "tracking_number": tracking_number,
            "shop_id": shop_id, "status": "cancelled", "occurred_at": now_iso, "recorded_at": now_iso,
            "office": None, "data": {},
        }
        script_keys = lua.cancel_keys(
            keys.shop(shop_id), keys.parcel(shop_id, tracking_number), keys.shop_status_index(shop_id, "pre_transit"),
            keys.shop_status_index(shop_id, "cancelled"), keys.partition_events(keys.partition_of(shop_id)),
            keys.shop_feed(shop_id), keys.shop_live_orders(shop_id))
        args = lua.cancel_args(caller.guard_args(self._rate_arg, self.default_burst), tracking_number=tracking_number,
                               shop_id=shop_id, now_iso=now_iso, feed_maxlen=keys.FEED_MAXLEN,
                               event=orjson.dumps(event), now_ms=int(now * 1000))
        res = await self.batcher.evalsha(self._cancel, script_keys, args)
        raise_for_guard(res)
        if res[0] == b"NOT_FOUND":
            raise ShipmentNotFound(f"no shipment {tracking_number} in this shop",
                                   f"مرسوله {tracking_number} در این فروشگاه یافت نشد")
        if res[0] == b"NOT_CANCELLABLE" and res[1] == b"cancelled":
            raise AlreadyCancelled(f"shipment {tracking_number} is already cancelled",
                                   f"مرسوله {tracking_number} پیش‌تر لغو شده است")
        if res[0] == b"NOT_CANCELLABLE":
            raise NotCancellable(f"shipment is {res[1].decode()}; only booked shipments can be cancelled",
                                 "مرسوله پس از پذیرش در اداره پست قابل لغو نیست")
        return await self.get(caller, tracking_number)


class _ShopKeys(NamedTuple):
    shop: str
    booking: tuple[str, ...]  # the script's KEYS[3..5]: pre_transit index, outbox, feed
    parcel: str  # + tracking number
    order: str  # + client_order_id
    book_one: tuple  # book_one's EVALSHA up to its item keys: script, key count, KEYS[1..6]
    live_orders: str  # the script's KEYS[6]


@functools.lru_cache(maxsize=65536)
def _shop_keys(shop_id: int) -> _ShopKeys:
    """The keys every booking of a shop touches, and the shop's part of its parcels' keys, formatted once."""
    shop = keys.shop(shop_id)
    booking = (keys.shop_status_index(shop_id, "pre_transit"), keys.partition_events(keys.partition_of(shop_id)),
               keys.shop_feed(shop_id))
    # book_one's KEYS: no idempotency record, so KEYS[2] is the shop key (the script does not touch it as one),
    # then the live orders, and one parcel and order index follow.
    live_orders = keys.shop_live_orders(shop_id)
    head = lua.book_head_keys(shop, shop, *booking, live_orders)
    return _ShopKeys(shop, booking, keys.parcel(shop_id, ""), keys.shop_order_index(shop_id, ""),
                     lua.book_evalsha_prefix(BOOK_SCRIPT.sha, head, items=1), live_orders)


# The booked event as the API and the webhooks show it, byte for byte what orjson makes of it, filled in per
# booking without building its dict (the order id is the shop's text and goes in as orjson writes it).
BOOKED_EVENT = (b'{"id":"evt_%s_1","type":"booked","tracking_number":"%s","shop_id":%d,"status":"pre_transit",'
                b'"occurred_at":"%s","recorded_at":"%s","office":null,"data":{"client_order_id":%s,"service":"%s",'
                b'"delivering_office":%s,"expected_delivery":"%s"}}')


FRESH_STATUS = b',"status":"pre_transit","status_at":"%s","updated_at":"%s"}'

VIEW_FIELDS = (b"doc", b"status", b"status_at", b"updated_at",  # what shipment_view reads of a parcel hash
               b"delivery_office", b"route", b"expected_delivery", b"receiver_address", b"return_leg")


def shipment_view(h: dict[bytes, bytes]) -> dict[str, Any]:
    doc = orjson.loads(h[b"doc"])
    doc["status"] = h[b"status"].decode()
    doc["status_at"] = h[b"status_at"].decode()
    doc["updated_at"] = h[b"updated_at"].decode()
    moved_to, address = h.get(b"delivery_office"), h.get(b"receiver_address")
    if moved_to is not None:  # redirected by a corrected address (returns.readdress): where it goes now
        doc["delivering_office"] = moved_to.decode()
        route, expected = h.get(b"route"), h.get(b"expected_delivery")
        if route:
            doc["route"] = route.decode().split(",")
        if expected:
            doc["expected_delivery"] = expected.decode()
    leg = h.get(b"return_leg")
    if leg is not None:  # its way back to the shop, a parcel of its own (returns.legs; the leg's doc has return_of)
        doc["return_leg"] = leg.decode()
    if address is not None:  # the booked coordinates were of the old address
        doc["receiver"].update(orjson.loads(address))
        doc["receiver"].pop("location", None)
    return doc

