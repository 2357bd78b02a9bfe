"""Every Redis key and stream name Barid uses, in one place.

Cluster layout
--------------
Shops are spread over ``PARTITIONS`` hash-tag partitions ``{pN}`` (N = shop_id % PARTITIONS). Everything a
shop owns (its record, parcels, indexes, idempotency records, rate-limit state, event feed) and the partition's
event outbox share that one tag, so every script and transaction touches a single slot. The only keys outside a
partition are single-key counters and the tracking-number index, which are never used together with others in
one command.

PARTITIONS is part of the data layout: changing it needs a migration.
"""

from __future__ import annotations

PARTITIONS = 64

# Global single keys (each command touching them touches only them).
SHOP_SEQ = "barid:shop:seq"  # INCR -> next shop id
SHOPS_ALL = "barid:shops"  # set of shop ids (operator listing; a few thousand members, never a SCAN)
STAFF_SEQ = "barid:staff:seq"
LAYOUT = "barid:layout"  # the data layout version the store holds (kernel.store.upgrade)


def serial_counter(prefix: str) -> str:
    """INCRBY counter of S10 serials for one service indicator; gateways take blocks from it."""
    return f"barid:s10:{prefix}"


def tracking_index(tracking_number: str) -> str:
    """Tracking number -> owning shop id. Immutable once written."""
    return f"barid:tn:{tracking_number}"


def track_rate(client_hash: str) -> str:
    """GCRA theoretical arrival time (ms) of one client address's public tracking lookups (tracking.ratelimit);
    expires once the address owes nothing."""
    return f"barid:trackrl:{client_hash}"


def partition_of(shop_id: int) -> int:
    return shop_id % PARTITIONS


def tag(shop_id: int) -> str:
    return "{p%d}" % (shop_id % PARTITIONS)


def shop(shop_id: int) -> str:
    """Hash: name, enamad_id, sender (JSON), key_hash, status, created_at, rate, burst, and tat: the GCRA
    theoretical arrival time (ms) of the shop's request stream (lua.GUARD)."""
    return f"{tag(shop_id)}:shop:{shop_id}"


def index_member(created_ms: int, tracking_number: str) -> str:
    """Member of every shop index zset. All scores are 0, so lexicographic order is creation order and a
    member is a unique, stable pagination cursor (ZRANGE ... BYLEX)."""
    return "%013d:%s" % (created_ms, tracking_number)


# A parcel's statuses. Every parcel is in exactly one status index, so together they index all of a shop's parcels
# (there is no all-parcels index: it would cost the store one more write per booking, for unfiltered listing only).
STATUSES = ("pre_transit", "in_transit", "out_for_delivery", "failed_attempt", "delivered", "returning",
            "returned", "cancelled")


def shop_status_index(shop_id: int, status: str) -> str:
    """Zset (score 0, members ``index_member(created_ms, tn)``) of the shop's parcels in one status; a status
    change moves the member across."""
    return f"{tag(shop_id)}:shop:{shop_id}:status:{status}"


def shop_order_index(shop_id: int, client_order_id: str) -> str:
    """Zset like shop_status_index of the parcels booked under one client_order_id."""
    return f"{tag(shop_id)}:shop:{shop_id}:order:{client_order_id}"


def shop_live_orders(shop_id: int) -> str:
    """Hash: client_order_id -> how many of the shop's parcels booked under it are not cancelled. The booking
    script refuses a second one unless the request says it is another parcel of the order; a cancel counts its
    parcel out (the order id is free again once none is left)."""
    return f"{tag(shop_id)}:shop:{shop_id}:live_orders"


def parcel(shop_id: int, tracking_number: str) -> str:
    """Hash: doc (booking JSON), status, status_at, updated_at, tracking fields, the scan dedupe records
    (PARCEL_SCAN_FIELD) and the history (PARCEL_HISTORY_FIELD)."""
    return f"{tag(shop_id)}:parcel:{tracking_number}"


IDEMPOTENCY_SHIPMENTS = "POST /v1/shipments"  # an idempotency scope: the endpoint's method and route


def idempotency(shop_id: int, key: str, scope: str = IDEMPOTENCY_SHIPMENTS) -> str:
    """String JSON {fp, status, body}; lives at least 24 h. Keys are per endpoint (``scope``: method and route
    template), so one key used on two endpoints names two records."""
    return f"{tag(shop_id)}:idem:{shop_id}:{scope}:{key}"


def shop_feed(shop_id: int) -> str:
    """Stream of the shop's own events (polling API and server-sent events). An entry's ``e`` is one to FEED_RUN
    event JSONs joined by newlines (JSON text never holds a raw one), in the order they happened."""
    return f"{tag(shop_id)}:feed:{shop_id}"


def partition_events(partition: int) -> str:
    """Outbox stream of one partition, consumed by the webhook dispatchers' group. An entry is ``s`` (shop id),
    then one to OUTBOX_RUN groups of ``t`` (tracking number), ``e`` (event JSON), in the order they happened."""
    return "{p%d}:events" % partition


# Events one outbox entry carries at most: the scan script writes a run of events with one XADD (a command and an
# AOF record instead of one per event; bookings and cancellations write one event per entry), and a fan-out call
# reads at most fanout_batch entries of this many.
OUTBOX_RUN = 20
# Events one shop feed entry carries at most: the scan script writes the feed in runs as well (tracking.feed
# addresses an event inside a run with its cursor); bookings and cancellations write one event per entry.
FEED_RUN = 20


# --- tracking (staff, scans, webhooks) ---

STAFF_TOKEN_PREFIX = "st_"
WEBHOOK_GROUP = "webhooks"  # the dispatchers' consumer group on every partition outbox


def staff(staff_id: int) -> str:
    """Hash: office, name, token_hash, status (active|revoked), created_at."""
    return f"barid:staff:{staff_id}"


def office_staff(office_code: str) -> str:
    """Set of the staff ids of one office (operator listing)."""
    return f"barid:office:{office_code}:staff"


# The staff app's sign-in (staffapp.sessions): each key is one staff member's or one session's, alone in its script.
def staff_sign_in_code(staff_id: int) -> str:
    """Hash: code_hash, salt, attempts; expires with the code (one pending code per staff member)."""
    return f"barid:staff:{staff_id}:code"


def staff_session(session_hash: str) -> str:
    """Hash: staff_id, office, csrf, created_at, device; the key is the SHA-256 of the cookie's secret."""
    return f"barid:staffsess:{session_hash}"


def staff_sessions(staff_id: int) -> str:
    """Set of the session hashes of one staff member (listing and revocation)."""
    return f"barid:staff:{staff_id}:sessions"


def staff_sign_in_rate(client: str) -> str:
    """Counter of failed sign-ins from one client address in the current window."""
    return f"barid:staffsignin:{client}"


# A parcel's scan dedupe records are fields of its parcel hash: "scan:<scan_id>" -> "<event id>|<event>|<ms>".
PARCEL_SCAN_FIELD = "scan:"
# A parcel's history is fields of its parcel hash too: "h:<occurred ms>:<seq>" -> event JSON, one per event,
# never rewritten (parcel_history below orders them). In the hash, recording an event is part of the
# one HSET a scan makes anyway: a history key of its own cost the store 6 % more per scan (bench/store_cost.py).
PARCEL_HISTORY_FIELD = "h:"
# Layout 1 kept the history in a zset of its own per parcel (legacy_history: event JSON members scored by
# occurred ms); kernel.store.upgrade moves such zsets into the parcel hashes.
LEGACY_HISTORY_INFIX = ":hist:"
LEGACY_HISTORY_MATCH = "{p*}" + LEGACY_HISTORY_INFIX + "*"


def legacy_history(shop_id: int, tracking_number: str) -> str:
    return f"{tag(shop_id)}{LEGACY_HISTORY_INFIX}{tracking_number}"


# Layouts 1 and 2 also kept a zset of all of a shop's parcels beside the status indexes; kernel.store.upgrade deletes it.
LEGACY_SHIPMENTS_MATCH = "{p*}:shop:*:shipments"
ORDER_INDEX_MATCH = "{p*}:shop:*:order:*"  # every shop_order_index (kernel.store.upgrade to layout 4)


def legacy_shop_shipments(shop_id: int) -> str:
    return f"{tag(shop_id)}:shop:{shop_id}:shipments"


def webhook_endpoints(partition: int) -> str:
    """Hash shop id -> JSON {endpoint id: endpoint doc} of every shop in the partition."""
    return "{p%d}:webhooks" % partition


def webhook_queues(partition: int) -> str:
    """Hash "<shop>|<endpoint>|<tracking number>" -> newline-joined event JSONs awaiting delivery, head first."""
    return "{p%d}:whq" % partition


def webhook_ready(partition: int) -> str:
    """Zset of webhook_queues fields scored by when their head is due (or its lease ends), in ms."""
    return "{p%d}:whready" % partition


def webhook_tries(partition: int) -> str:
    """Hash webhook_queues field -> failed attempts of its current head."""
    return "{p%d}:whtries" % partition


def webhook_dead(partition: int) -> str:
    """Zset of "<shop>|<endpoint>|<tracking number>|<why>|<event JSON>" given up on, scored by recorded_at ms;
    why is retries_exhausted, gone_410 or endpoint_disabled."""
    return "{p%d}:whdead" % partition


# --- routing (delivery plans) ---
PLAN_JOBS = "barid:plans:jobs"  # stream of plan requests, consumed by the router workers' group
PLAN_GROUP = "routers"


def office_due(office_code: str) -> str:
    """Zset of tracking numbers an office is to deliver, scored by expected delivery date (YYYYMMDD).

    Written beside every booking; the planner drops parcels that reached a terminal state."""
    return f"barid:office:{office_code}:due"


def plan(plan_id: str) -> str:
    """String JSON: the plan record {plan_id, office, date, status, plan | error, ...}; expires after a week."""
    return f"barid:plan:{plan_id}"


FEED_MAXLEN = 100_000  # entries per shop (each up to keys.FEED_RUN events): the polling/SSE window


_HISTORY = PARCEL_HISTORY_FIELD.encode()


def parcel_history(h: dict[bytes, bytes]) -> list[bytes]:
    """The events (JSON) in a parcel hash's history, oldest first: by occurred_at, then in recording order."""
    entries = []
    for field, event in h.items():
        if field.startswith(_HISTORY):
            occurred_ms, _, seq = field[len(_HISTORY):].partition(b":")
            entries.append((int(occurred_ms), int(seq), event))
    entries.sort()
    return [event for _, _, event in entries]


# -- the shop panel (panel/): users, sessions, sign-in limits -----------------------------------------------------
def panel_mobile(mobile: str) -> str:
    """Mobile -> the shop id of the panel user it signs in (one account per mobile)."""
    return f"barid:panel:mobile:{mobile}"


def panel_user(shop_id: int, mobile: str) -> str:
    """Hash: role, pw (argon2 hash), status, created_at, invited_by. On the shop's partition, so the session check
    reads the session, the user and the shop record in one script."""
    return f"{tag(shop_id)}:panel:user:{shop_id}:{mobile}"


def panel_users(shop_id: int) -> str:
    """Set of the shop's panel users' mobiles (a shop has a handful: listed whole, never scanned)."""
    return f"{tag(shop_id)}:panel:users:{shop_id}"


def panel_session(shop_id: int, token_hash: str) -> str:
    """Hash: mobile, created_at; expires with the session. Named by the SHA-256 of the cookie's secret only."""
    return f"{tag(shop_id)}:panel:sess:{token_hash}"


def panel_user_sessions(shop_id: int, mobile: str) -> str:
    """Set of a user's session hashes, so removing the user or changing the password ends them all."""
    return f"{tag(shop_id)}:panel:usess:{shop_id}:{mobile}"


def panel_login_rate(kind: str, client_hash: str) -> str:
    """GCRA state of sign-in attempts per mobile or per client address (``kind``: m or ip), hashed into the name."""
    return f"barid:panel:loginrl:{kind}:{client_hash}"
