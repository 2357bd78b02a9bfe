"""After a run: is everything the system acknowledged really there, and did every event reach its storefront?

* every acknowledged booking: its parcel record exists, and the tracking-number index names its shop;
* every acknowledged scan: the parcel's scan record (field ``scan:<scan_id>`` of its hash) names the
  acknowledged event id, and that event is in the parcel's history;
* every acknowledged cancellation: the parcel is cancelled;
* every event in the outboxes of shops with a webhook endpoint reached the receiver, or is in a dead-letter
  set (with the reason the dispatcher gave up: retries exhausted or the endpoint answered 410). Events not
  yet fanned out or still queued when the drain timeout ends are counted apart from lost ones (a backlog,
  not a loss), but fail the check too.

Acknowledgements are the Locust processes' ``*.jsonl`` logs (see ``locustfile.Acks``).
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import redis

from kernel.store import keys
from kernel.store.keys import parcel_history
from tracking.events import OUTBOX_RANGE, outbox_entry

_ID = re.compile(rb'"id":"([^"]+)"')
CHUNK = 2000


def load_acks(ack_dir: Path) -> dict[str, list[dict[str, Any]]]:
    acks: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in sorted(ack_dir.glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            if line:
                rec = orjson.loads(line)
                acks[rec["k"]].append(rec)
    return acks


def _chunks(items: list, n: int = CHUNK) -> Iterator[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _sid(stream_id: bytes) -> tuple[int, int]:
    ms, _, seq = stream_id.partition(b"-")
    return int(ms), int(seq or 0)


def outbox_events(r: redis.Redis, shops: set[int]) -> Iterator[tuple[str, bool]]:
    """(event id, not yet read by the dispatchers' group) of every outbox entry of the given shops."""
    wanted = {str(s).encode() for s in shops}
    for p in sorted({keys.partition_of(s) for s in shops}):
        stream, start = keys.partition_events(p), "-"
        try:
            groups = {g["name"]: g["last-delivered-id"] for g in r.xinfo_groups(stream)}
        except redis.ResponseError:  # no stream: no events
            continue
        read_up_to = _sid(groups.get(keys.WEBHOOK_GROUP.encode(), b"0-0"))
        while True:
            entries = r.eval(OUTBOX_RANGE, 1, stream, start, "+", 1_000)
            for entry_id, fields in entries:
                shop, events = outbox_entry(fields)
                if shop in wanted:
                    for _, e in events:
                        yield _ID.search(e).group(1).decode(), _sid(entry_id) > read_up_to
            if len(entries) < 1_000:
                break
            start = "(" + entries[-1][0].decode()


def dead_letters(r: redis.Redis, shops: set[int]) -> dict[str, str]:
    """Event id -> why it is dead, for every dead letter of the given shops."""
    out = {}
    for p in sorted({keys.partition_of(s) for s in shops}):
        eps: dict[str, dict] = {}
        for shop, raw in r.hgetall(keys.webhook_endpoints(p)).items():
            eps.update(orjson.loads(raw))
        for m in r.zrange(keys.webhook_dead(p), 0, -1):
            shop, _ep, _tn, why, event = m.split(b"|", 4)
            if int(shop) in shops:
                out[_ID.search(event).group(1).decode()] = why.decode()
    return out


def queued(r: redis.Redis, shops: set[int]) -> set[str]:
    """Event ids fanned out but still waiting in (or leased from) a delivery queue of the given shops."""
    out = set()
    for p in sorted({keys.partition_of(s) for s in shops}):
        for member, q in r.hscan_iter(keys.webhook_queues(p)):
            if int(member.split(b"|", 1)[0]) in shops:
                out.update(m.decode() for m in _ID.findall(q))
    return out


def drained(r: redis.Redis) -> bool:
    """No outbox entry unread by the dispatchers' group, and no delivery queued or in flight."""
    pipe = r.pipeline(transaction=False)
    for p in range(keys.PARTITIONS):
        pipe.hlen(keys.webhook_queues(p))
        pipe.xinfo_groups(keys.partition_events(p))
        pipe.xinfo_stream(keys.partition_events(p))
    res = pipe.execute(raise_on_error=False)
    for queued, groups, stream in zip(res[0::3], res[1::3], res[2::3]):
        if isinstance(groups, Exception) or isinstance(stream, Exception):
            continue  # no stream: nothing to deliver
        if queued:
            return False
        for g in groups:
            if g["name"] == keys.WEBHOOK_GROUP.encode() and g["last-delivered-id"] != stream["last-generated-id"]:
                return False
    return True


def wait_drained(r: redis.Redis, timeout_s: float) -> float:
    """Seconds it took for every delivery to settle (or timeout_s)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        try:
            if drained(r):
                break
        except redis.ConnectionError:
            pass
        time.sleep(0.5)
    return round(time.monotonic() - start, 1)


def _check_bookings(r: redis.Redis, booked: dict[str, int]) -> tuple[list[str], list[str]]:
    """(tracking numbers not stored at all, stored but missing from the tracking-number index)."""
    lost, unindexed = [], []
    for chunk in _chunks(sorted(booked)):
        pipe = r.pipeline(transaction=False)
        for tn in chunk:
            pipe.get(keys.tracking_index(tn))
            pipe.exists(keys.parcel(booked[tn], tn))
        res = pipe.execute()
        for tn, owner, stored in zip(chunk, res[0::2], res[1::2]):
            if not stored:
                lost.append(tn)
            elif owner is None or int(owner) != booked[tn]:
                unindexed.append(tn)
    return lost, unindexed


def _check_scans(r: redis.Redis, scans: list[dict], owners: dict[str, int]) -> list[str]:
    by_tn: dict[str, list[dict]] = defaultdict(list)
    for s in scans:
        by_tn[s["tn"]].append(s)
    bad = []
    for chunk in _chunks(sorted(by_tn)):
        pipe = r.pipeline(transaction=False)
        for tn in chunk:
            pipe.hgetall(keys.parcel(owners[tn], tn))
        for tn, parcel in zip(chunk, pipe.execute()):
            ids = {m.group(1).decode() for h in parcel_history(parcel) if (m := _ID.search(h))}
            for s in by_tn[tn]:
                rec = parcel.get((keys.PARCEL_SCAN_FIELD + s["sid"]).encode(), b"")
                if not rec.decode().startswith(s["eid"] + "|") or s["eid"] not in ids:
                    bad.append(f"{s['sid']} ({s['eid']})")
    return bad


def owners_of(r: redis.Redis, tns: Iterable[str]) -> dict[str, int]:
    out = {}
    for chunk in _chunks(sorted(set(tns))):
        pipe = r.pipeline(transaction=False)
        for tn in chunk:
            pipe.get(keys.tracking_index(tn))
        out.update({tn: int(s) for tn, s in zip(chunk, pipe.execute()) if s is not None})
    return out


def check(redis_url: str, ack_dir: Path, fetch_received: Callable[[], dict[str, Any]], shops: set[int]
          ) -> dict[str, Any]:
    """The verdict. ``fetch_received`` returns the receiver's records (``events``: id -> record); it is called
    after the store's state is read, so a delivery still under way is pending in one or received in the other."""
    r = redis.Redis.from_url(redis_url, socket_timeout=60)
    try:
        acks = load_acks(ack_dir)
        booked = {a["tn"]: a["shop"] for a in acks["book"]}
        lost_bookings, unindexed = _check_bookings(r, booked)
        owners = owners_of(r, [s["tn"] for s in acks["scan"]] + [c["tn"] for c in acks["cancel"]])
        lost_scans = _check_scans(r, [s for s in acks["scan"] if s["tn"] in owners], owners)
        lost_scans += [s["sid"] for s in acks["scan"] if s["tn"] not in owners]
        pipe = r.pipeline(transaction=False)
        for c in acks["cancel"]:
            pipe.hget(keys.parcel(owners.get(c["tn"], 0), c["tn"]), "status")
        not_cancelled = [c["tn"] for c, st in zip(acks["cancel"], pipe.execute()) if st != b"cancelled"]
        events = dict(outbox_events(r, shops))
        expected = set(events)
        unread = {e for e, waiting in events.items() if waiting}
        dead = dead_letters(r, shops)
        waiting = queued(r, shops) | unread
        received = fetch_received()
        got = set(received.get("events", {}))
        undelivered = expected - got - set(dead)
        pending = undelivered & waiting
        lost_events = sorted(undelivered - pending)
    finally:
        r.close()
    result = {
        "bookings_acked": len(booked), "bookings_missing": len(lost_bookings),
        "bookings_unindexed": len(unindexed),
        "scans_acked": len(acks["scan"]), "scans_missing": len(lost_scans),
        "cancels_acked": len(acks["cancel"]), "cancels_not_applied": len(not_cancelled),
        "webhooks_expected": len(expected), "webhooks_received": len(got & expected),
        "webhooks_dead": len(dead), "dead_reasons": sorted(set(dead.values())),
        "webhooks_pending": len(pending), "webhooks_missing": len(lost_events),
        "webhooks_unexpected": len(got - expected),
        "webhook_duplicates": received.get("duplicates", 0), "webhooks_rejected": received.get("rejected", 0),
        "examples": {"bookings": lost_bookings[:5], "unindexed": unindexed[:5], "scans": lost_scans[:5],
                     "cancels": not_cancelled[:5], "webhooks": lost_events[:5], "pending": sorted(pending)[:5]},
    }
    result["consistent"] = not (lost_bookings or unindexed or lost_scans or not_cancelled or lost_events or pending
                                or result["webhooks_unexpected"] or result["webhooks_rejected"])
    result["line"] = (
        f"{'CONSISTENT' if result['consistent'] else 'INCONSISTENT'}: "
        f"{result['bookings_acked']} bookings ({result['bookings_missing']} missing, "
        f"{result['bookings_unindexed']} not in the tracking index), "
        f"{result['scans_acked']} scans ({result['scans_missing']} missing), "
        f"{result['cancels_acked']} cancellations ({result['cancels_not_applied']} not applied), "
        f"{result['webhooks_received']}/{result['webhooks_expected']} webhooks delivered "
        f"+ {result['webhooks_dead']} dead-lettered, {result['webhooks_pending']} still queued after the drain "
        f"timeout, {result['webhooks_missing']} lost, "
        f"{result['webhook_duplicates']} duplicates (same webhook-id)")
    return result
