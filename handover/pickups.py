"""Pickups: a shop asks the post to collect its parcels; the collecting office's staff run the pickup.

Keys. In the shop's hash-tag partition ``{pN}`` (one slot, so the one script below is single-slot):

* ``pickup_key(shop, id)``: the pickup, JSON (``seq`` counts its changes and names its events);
* ``shop_pickups(shop)``: zset of the shop's pickup ids scored by their day (YYYYMMDD), for the shop's listing;
* the partition outbox and the shop's feed, where every change appends its event (webhooks read the outbox).

Outside it, ``office_day(office, day)``: zset of ``"<shop>|<id>"`` scored by the window's start (minutes), the
pickups an office collects that day, so the planner reads them without a SCAN. It is written before the shop's
script (and cleaned after a refused one or a moved or cancelled pickup); a reader takes the records' own status and
day as the truth, so a stale member is skipped, never shown.

Every change is compare-and-set on ``seq``: two staff members or a shop and a clerk acting at once never overwrite
each other; the loser reads the pickup again and is judged on what it is now.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import orjson
import redis.asyncio as aioredis

from kernel.errors import Conflict, Forbidden, NotFound
from kernel.postal.network import ParcelNetwork
from kernel.postal.offices import load_registry
from kernel.postal.timeutil import IRAN_TIME, iso_ms
from kernel.store import keys
from kernel.store.keys import FEED_MAXLEN
from routing.office_day import postal_code_point

from .pickup_rules import Rules, check_before_cutoff, check_schedule, window_minutes

STATUSES = ("scheduled", "assigned", "completed", "partial", "failed", "cancelled")
OPEN = ("scheduled", "assigned")
FAILURE_REASONS = {
    "shop_absent": "فروشگاه در محل حضور نداشت", "parcels_not_ready": "مرسوله‌ها آماده نبود",
    "premises_closed": "محل تعطیل بود", "late_attempt": "مأمور دیرتر از بازه رسید",
}
STATUS_FA = {"scheduled": "ثبت شده", "assigned": "به نامه‌رسان سپرده شد", "completed": "جمع‌آوری شد",
             "partial": "بخشی از مرسوله‌ها جمع‌آوری شد", "failed": "جمع‌آوری ناموفق", "cancelled": "لغو شد"}
EVENT_TYPES = ("pickup_scheduled", "pickup_updated", "pickup_assigned", "pickup_completed", "pickup_partial",
               "pickup_failed", "pickup_cancelled")
TTL_S = 90 * 24 * 3600  # a pickup is the shop's record of a handover: kept for a season
_RETRIES = 5


def pickup_key(shop_id: int, pickup_id: str) -> str:
    return f"{keys.tag(shop_id)}:pickup:{shop_id}:{pickup_id}"


def shop_pickups(shop_id: int) -> str:
    return f"{keys.tag(shop_id)}:pickups:{shop_id}"


def office_day(office_code: str, day: str) -> str:
    return f"barid:office:{office_code}:pickups:{day.replace('-', '')}"


def new_pickup_id(shop_id: int) -> str:
    return f"PU{shop_id}X{secrets.token_hex(5).upper()}"


def shop_of(pickup_id: str) -> int | None:
    """The shop id a pickup id carries, or None if it is not one of ours."""
    if not pickup_id.startswith("PU") or "X" not in pickup_id or len(pickup_id) > 40:
        return None
    shop = pickup_id[2:pickup_id.index("X")]
    return int(shop) if shop.isdigit() else None


class PickupNotFound(NotFound):
    code = "pickup_not_found"
    title = "No such pickup"


class PickupClosed(Conflict):
    code = "pickup_closed"
    title = "The pickup is no longer open"


class PickupOtherOffice(Forbidden):
    code = "pickup_other_office"
    title = "The pickup belongs to another office"


# KEYS 1 pickup, 2 shop pickups, 3 outbox, 4 feed. ARGV 1 expected seq ('' creates), 2 record, 3 ttl s, 4 day
# score, 5 pickup id, 6 shop id, 7 event JSON, 8 feed max length, 9 oldest day score kept in the shop's index.
SAVE = r"""
local raw = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if raw then return 'EXISTS' end
else
  if not raw then return 'NOT_FOUND' end
  if tostring(cjson.decode(raw)['seq']) ~= ARGV[1] then return 'CHANGED' end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
redis.call('ZADD', KEYS[2], tonumber(ARGV[4]), ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[9])
redis.call('XADD', KEYS[3], '*', 's', ARGV[6], 't', ARGV[5], 'e', ARGV[7])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[8], '*', 'e', ARGV[7])
return 'OK'
"""


def require_open(p: dict[str, Any], verb: str, verb_fa: str) -> None:
    """Raise ``pickup_closed`` unless the pickup is still scheduled or assigned."""
    if p["status"] not in OPEN:
        raise PickupClosed(f"pickup {p['pickup_id']} is {p['status']}; it cannot be {verb}",
                           f"درخواست جمع‌آوری در وضعیت «{STATUS_FA[p['status']]}» است و {verb_fa} آن ممکن نیست",
                           extra={"pickup_status": p["status"]})


def _score(day: str) -> int:
    return int(day.replace("-", ""))


class PickupService:
    def __init__(self, redis: aioredis.Redis, network: ParcelNetwork, rules: Rules,
                 clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.network = network
        self.rules = rules
        self.clock = clock  # tests move it to a fixed moment: the rules are about Iran's clock and calendar
        self._save = redis.register_script(SAVE)

    # -- the shop's side -----------------------------------------------------------------------------------
    async def create(self, shop_id: int, shop_name: str, fields: dict[str, Any]) -> dict[str, Any]:
        now = self.clock()
        check_schedule(fields, self.rules, now)
        office = self.network.office_for(fields["address"])
        pickup_id = new_pickup_id(shop_id)
        record = {
            "pickup_id": pickup_id, "shop_id": shop_id, "shop_name": shop_name, "status": "scheduled",
            "confirmation_code": f"{secrets.randbelow(1_000_000):06d}", **fields,
            "collecting_office": {"code": office.code, "name_fa": office.name_fa},
            "cutoff": self.rules.cutoff(date.fromisoformat(fields["date"])).isoformat(),
            "created_at": iso_ms(now), "updated_at": iso_ms(now), "seq": 0,
        }
        await self.redis.zadd(office_day(office.code, record["date"]), {f"{shop_id}|{pickup_id}":
                                                                        window_minutes(record)[0]})
        try:
            await self._commit(None, record, "pickup_scheduled", {}, now)
        except BaseException:
            await self.redis.zrem(office_day(office.code, record["date"]), f"{shop_id}|{pickup_id}")
            raise
        return record

    async def get(self, shop_id: int, pickup_id: str) -> dict[str, Any]:
        raw = await self.redis.get(pickup_key(shop_id, pickup_id)) if shop_of(pickup_id) == shop_id else None
        if raw is None:
            raise PickupNotFound(f"no pickup {pickup_id[:40]} in this shop",
                                 "درخواست جمع‌آوری با این شناسه در این فروشگاه یافت نشد")
        return orjson.loads(raw)

    async def list(self, shop_id: int, *, status: str | None, day: str | None, limit: int) -> list[dict[str, Any]]:
        """The shop's pickups, latest day first (one day only with ``day``), filtered by status."""
        index = shop_pickups(shop_id)
        if day is not None:
            ids = await self.redis.zrangebyscore(index, _score(day), _score(day))
        else:
            ids = await self.redis.zrevrange(index, 0, 999)
        raws = await self.redis.mget([pickup_key(shop_id, i.decode()) for i in ids]) if ids else []
        out = [orjson.loads(r) for r in raws if r is not None]
        out = [p for p in out if status is None or p["status"] == status]
        out.sort(key=lambda p: (p["date"], p["window"]["from"], p["created_at"]), reverse=True)
        return out[:limit]

    async def update(self, shop_id: int, pickup_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        for _ in range(_RETRIES):
            current = await self.get(shop_id, pickup_id)
            now = self.clock()
            require_open(current, "updated", "تغییر")
            check_before_cutoff(current, self.rules, now, "updated", "تغییر")
            new = {**current, **fields}
            check_schedule(new, self.rules, now)
            office = self.network.office_for(new["address"])
            new["collecting_office"] = {"code": office.code, "name_fa": office.name_fa}
            new["cutoff"] = self.rules.cutoff(date.fromisoformat(new["date"])).isoformat()
            member = f"{shop_id}|{pickup_id}"
            await self.redis.zadd(office_day(office.code, new["date"]), {member: window_minutes(new)[0]})
            changed = sorted(k for k in fields if fields[k] != current.get(k))
            if await self._commit(current, new, "pickup_updated", {"changed": changed}, now):
                old = (current["collecting_office"]["code"], current["date"])
                if old != (office.code, new["date"]):
                    await self.redis.zrem(office_day(*old), member)
                return new
        raise PickupClosed("the pickup kept changing; try again", "درخواست جمع‌آوری هم‌زمان تغییر کرد؛ دوباره بکوشید")

    async def cancel(self, shop_id: int, pickup_id: str) -> dict[str, Any]:
        async def change(p: dict[str, Any], now: float) -> dict[str, Any]:
            require_open(p, "cancelled", "لغو")
            check_before_cutoff(p, self.rules, now, "cancelled", "لغو")
            return {"status": "cancelled", "cancelled_at": iso_ms(now)}

        record = await self._transition(shop_id, pickup_id, change, "pickup_cancelled")
        await self.redis.zrem(office_day(record["collecting_office"]["code"], record["date"]),
                              f"{shop_id}|{pickup_id}")
        return record

    # -- the collecting office's side ----------------------------------------------------------------------
    async def for_staff(self, office: str, pickup_id: str) -> dict[str, Any]:
        """The pickup as staff of ``office`` may act on it: 404 unknown, 403 another office's."""
        shop_id = shop_of(pickup_id)
        raw = await self.redis.get(pickup_key(shop_id, pickup_id)) if shop_id is not None else None
        if raw is None:
            raise PickupNotFound(f"no pickup {pickup_id[:40]}", "درخواست جمع‌آوری با این شناسه یافت نشد")
        record = orjson.loads(raw)
        if record["collecting_office"]["code"] != office:
            raise PickupOtherOffice(
                f"pickup {pickup_id} is collected by office {record['collecting_office']['code']}, not {office}",
                f"این درخواست جمع‌آوری با ادارهٔ {record['collecting_office']['name_fa']} است، نه ادارهٔ شما")
        return record

    async def assign(self, office: str, pickup_id: str, postman: str, staff_id: int) -> dict[str, Any]:
        record = await self.for_staff(office, pickup_id)

        async def change(p: dict[str, Any], now: float) -> dict[str, Any]:
            require_open(p, "assigned", "سپردن")
            return {"status": "assigned", "assigned_to": postman, "assigned_by": staff_id, "assigned_at": iso_ms(now)}

        return await self._transition(record["shop_id"], pickup_id, change, "pickup_assigned")

    async def fail(self, office: str, pickup_id: str, reason: str, staff_id: int, note: str) -> dict[str, Any]:
        record = await self.for_staff(office, pickup_id)

        async def change(p: dict[str, Any], now: float) -> dict[str, Any]:
            require_open(p, "failed", "ثبت ناموفق")
            return {"status": "failed", "failure_reason": reason, "failure_reason_fa": FAILURE_REASONS[reason],
                    "note": note, "closed_by": staff_id, "closed_at": iso_ms(now)}

        return await self._transition(record["shop_id"], pickup_id, change, "pickup_failed")

    async def settle(self, office: str, pickup_id: str, status: str, collected: list[str], staff_id: int,
                     note: str = "", manifest_id: str | None = None) -> dict[str, Any]:
        """Close the pickup as ``completed`` or ``partial`` with the parcels collected (already accepted)."""
        record = await self.for_staff(office, pickup_id)

        async def change(p: dict[str, Any], now: float) -> dict[str, Any]:
            require_open(p, status, "بستن")
            out = {"status": status, "collected": collected, "collected_count": len(collected), "note": note,
                   "closed_by": staff_id, "closed_at": iso_ms(now)}
            if manifest_id:
                out["manifest_id"] = manifest_id
            return out

        return await self._transition(record["shop_id"], pickup_id, change, f"pickup_{status}")

    # -- the planner's side --------------------------------------------------------------------------------
    async def of_office_day(self, office_code: str, day: date) -> list[dict[str, Any]]:
        return await open_pickups(self.redis, office_code, day)

    # -- store ---------------------------------------------------------------------------------------------
    async def _transition(self, shop_id: int, pickup_id: str, change, event_type: str) -> dict[str, Any]:
        for _ in range(_RETRIES):
            current = await self.get(shop_id, pickup_id)
            now = self.clock()
            fields = await change(current, now)
            new = {**current, **fields}
            data = {k: v for k, v in fields.items() if k != "status"}
            if await self._commit(current, new, event_type, data, now):
                return new
        raise PickupClosed("the pickup kept changing; try again", "درخواست جمع‌آوری هم‌زمان تغییر کرد؛ دوباره بکوشید")

    async def _commit(self, current: dict[str, Any] | None, new: dict[str, Any], event_type: str,
                      data: dict[str, Any], now: float) -> bool:
        """Store ``new`` with its event unless the pickup changed since ``current`` was read (False then)."""
        shop_id, pickup_id = new["shop_id"], new["pickup_id"]
        new["seq"] = (current["seq"] if current else 0) + 1
        new["updated_at"] = iso_ms(now)
        event = {"id": f"evt_{pickup_id}_{new['seq']}", "type": event_type, "pickup_id": pickup_id,
                 "tracking_number": None, "shop_id": shop_id, "status": new["status"], "occurred_at": iso_ms(now),
                 "recorded_at": iso_ms(now), "office": new["collecting_office"]["code"],
                 "data": {"date": new["date"], "window": new["window"], **data}}
        oldest = datetime.fromtimestamp(now - TTL_S, IRAN_TIME).date().isoformat()
        res = await self._save(
            keys=[pickup_key(shop_id, pickup_id), shop_pickups(shop_id), keys.partition_events(keys.partition_of(
                shop_id)), keys.shop_feed(shop_id)],
            args=["" if current is None else current["seq"], orjson.dumps(new), TTL_S, _score(new["date"]), pickup_id,
                  shop_id, orjson.dumps(event), FEED_MAXLEN, _score(oldest)])
        if res == b"OK":
            return True
        if res == b"NOT_FOUND":
            raise PickupNotFound(f"no pickup {pickup_id}", "درخواست جمع‌آوری با این شناسه یافت نشد")
        if res == b"EXISTS":
            raise RuntimeError(f"pickup id {pickup_id} was drawn twice")
        return False


def view(record: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in record.items() if k != "seq"}
    out["status_fa"] = STATUS_FA[record["status"]]
    return out


async def open_pickups(redis: aioredis.Redis, office_code: str, day: date) -> list[dict[str, Any]]:
    """The office's open (scheduled or assigned) pickups of ``day``, earliest window first."""
    members = await redis.zrange(office_day(office_code, day.isoformat()), 0, -1)
    refs = [(int(s), pid) for s, _, pid in (m.decode().partition("|") for m in members)]
    if not refs:
        return []
    pipe = redis.pipeline(transaction=False)
    for shop_id, pid in refs:
        pipe.get(pickup_key(shop_id, pid))
    out = []
    for raw in await pipe.execute():
        if raw is None:
            continue
        p = orjson.loads(raw)
        if p["status"] in OPEN and p["date"] == day.isoformat() and p["collecting_office"]["code"] == office_code:
            out.append(p)
    out.sort(key=lambda p: (p["window"]["from"], p["pickup_id"]))
    return out


async def pickup_stops(store: aioredis.Redis, office_code: str, day: date) -> list[dict[str, Any]]:
    """The router's stops for an office's open pickups of ``day``: where (the address's coordinates, else the same
    deterministic point in the office's area a delivery stop gets for that postal code), how many parcels
    (``load``), and the window in minutes after local midnight."""
    office = load_registry().get(office_code)
    stops = []
    for p in await open_pickups(store, office_code, day):
        addr = p["address"]
        loc = addr.get("location")
        if loc and loc.get("lat") is not None and loc.get("lon") is not None:
            lat, lon = float(loc["lat"]), float(loc["lon"])
        else:
            lat, lon = postal_code_point(office, addr["postal_code"])
        stops.append({"id": p["pickup_id"], "kind": "pickup", "lat": lat, "lon": lon, "load": p["expected_count"],
                      "window": list(window_minutes(p)), "label": f"{p['shop_name']} — {addr.get('address', '')}"})
    return stops
