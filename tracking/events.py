"""Tracking events, their UPU EMSEVT codes, the normalised status and the rules that keep history sane.

Rules (applied atomically per parcel by ``scans.SCAN``):

* History is append-only and ordered by ``occurred_at`` (the device's clock); every accepted scan is recorded.
* The status is set by the newest event by ``occurred_at``; a scan older than the one that set the current
  status is recorded but changes nothing (a late "in transit" never undoes "delivered").
* Terminal statuses (delivered, returned, cancelled) never change. A terminal event wins over any
  non-terminal status even when its device clock says it is older (clock skew must not hide a delivery).
* Every staff event but ``accepted`` needs the parcel accepted first, and not earlier than that acceptance;
  ``cod_collected`` needs it delivered, on a COD parcel, for exactly the booked goods value, once.
* Once a parcel is headed back (a failed attempt whose reason sends it back, or ``max_delivery_attempts``
  failures), transit statuses read ``returning`` until ``returned_to_sender``.
* A cancelled parcel takes no scans.
* Terminal means terminal: once delivered or returned, a parcel takes only what ``AFTER_TERMINAL`` lists for that
  status, and late uploads of non-terminal events that happened before the terminal one (an offline hub's
  sorting scans: recorded in place, under the terminal status). Anything else is refused (``parcel_terminal``),
  so the history, the feed and the buyer's page never show an event after "delivered" that contradicts it.
* Scan authority (``DELIVERY_SIDE``): delivery-side events come only from the parcel's responsible delivering
  office (``responsible_office`` in ``scans.SCAN``); others are refused (``scan_office_not_responsible``).
  ``accepted`` may happen at any counter (a sender hands a parcel in wherever they like); ``sorting_in`` and
  ``sorting_out`` at a hub off the parcel's route are recorded as a missort (``"missort": true`` in the event),
  since the parcel physically is there.
"""

from __future__ import annotations

from dataclasses import dataclass

# XRANGE of a partition outbox as the server sends it (KEYS[1] stream; ARGV start, end, count). redis-py folds an
# entry's fields into a dict, which would keep only the last event of a run (keys.partition_events).
OUTBOX_RANGE = "return redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[2], 'COUNT', ARGV[3])"


def outbox_entry(fields: list[bytes]) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """(shop id, [(tracking number, event JSON), ...] in order) of one raw outbox entry."""
    return fields[1], [(fields[i + 1], fields[i + 3]) for i in range(2, len(fields), 4)]


TERMINAL_STATUSES = frozenset({"delivered", "returned", "cancelled"})

STATUS_FA = {
    "pre_transit": "ثبت شده، در انتظار تحویل به پست",
    "in_transit": "در مسیر",
    "out_for_delivery": "در حال توزیع",
    "failed_attempt": "تحویل ناموفق",
    "delivered": "تحویل داده شد",
    "returning": "در حال بازگشت به فرستنده",
    "returned": "به فرستنده بازگشت",
    "cancelled": "لغو شده",
}


@dataclass(frozen=True, slots=True)
class EventRule:
    name: str
    emsevt: str | None  # UPU EMSEVT v3 event code, where one exists
    status: str  # normalised status this event moves the parcel to
    terminal: bool
    requires: str  # "" | "accepted" | "delivered"
    office_kind: str | None  # the scanning office must be of this kind ("hub" | "office"), None = any
    staff: bool  # scanned by post-office staff (the others are emitted by the gateway)
    label_fa: str


RULES: dict[str, EventRule] = {r.name: r for r in (
    EventRule("booked", None, "pre_transit", False, "", None, False, "ثبت مرسوله"),
    EventRule("accepted", "EMA", "in_transit", False, "", None, True, "پذیرش در اداره پست"),
    EventRule("sorting_in", "EDD", "in_transit", False, "accepted", "hub", True, "ورود به مرکز مبادلات"),
    EventRule("sorting_out", "EDE", "in_transit", False, "accepted", "hub", True, "خروج از مرکز مبادلات"),
    EventRule("arrived_delivery_office", "EMG", "in_transit", False, "accepted", "office", True,
              "رسیدن به اداره پست توزیع‌کننده"),
    EventRule("out_for_delivery", "EDG", "out_for_delivery", False, "accepted", "office", True,
              "تحویل به نامه‌رسان برای توزیع"),
    EventRule("delivery_failed", "EMH", "failed_attempt", False, "accepted", "office", True, "تحویل ناموفق"),
    EventRule("delivered", "EMI", "delivered", True, "accepted", "office", True, "تحویل به گیرنده"),
    EventRule("cod_collected", None, "delivered", False, "delivered", "office", True, "دریافت وجه در محل"),
    EventRule("returned_to_sender", None, "returned", True, "accepted", None, True, "بازگشت به فرستنده"),
    EventRule("cancelled", None, "cancelled", True, "", None, False, "لغو مرسوله"),
)}
STAFF_EVENTS = tuple(name for name, r in RULES.items() if r.staff)

# Failed-delivery reason codes; the ones marked True send the parcel back to the sender at once.
FAILURE_REASONS: dict[str, tuple[bool, str]] = {
    "receiver_absent": (False, "گیرنده در محل حضور نداشت"),
    "address_incomplete": (False, "نشانی ناقص است"),
    "address_not_found": (True, "نشانی یافت نشد"),
    "receiver_refused": (True, "گیرنده از تحویل گرفتن خودداری کرد"),
    "receiver_moved": (True, "گیرنده از این نشانی رفته است"),
    "cod_not_paid": (False, "گیرنده وجه را پرداخت نکرد"),
    "access_denied": (False, "دسترسی به محل ممکن نبود"),
    "business_closed": (False, "محل کار تعطیل بود"),
    "force_majeure": (False, "شرایط قهری"),
    "phone_unreachable": (False, "تلفن گیرنده در دسترس نبود"),
    "asked_reschedule": (False, "گیرنده تحویل در روز دیگری را خواست"),
}

# Events other features append to the shop's feed and the outbox, which a webhook endpoint may subscribe to by
# name as to RULES: returns.cases (failed-delivery cases), returns.legs (the original names its way back: a return
# to sender's leg, a buyer's return), pod (a delivery locked by wrong codes, its unlock), handover.pickups,
# money.disputes, money.payout_ops (a paid remittance).
FEATURE_EVENTS = frozenset({"ndr_opened", "ndr_action", "ndr_closed", "return_started", "return_requested",
                            "delivery_locked", "delivery_unlocked",
                            "pickup_scheduled", "pickup_updated", "pickup_assigned", "pickup_completed",
                            "pickup_partial", "pickup_failed", "pickup_cancelled",
                            "dispute_opened", "dispute_resolved", "remittance_paid"})

COD_METHODS = ("cash", "card")

# Events only the parcel's delivering office may scan: the office the parcel record names (its ``delivery_office``
# field once a redirect sets it, else the booking's ``delivering_office``).
DELIVERY_SIDE = frozenset({"arrived_delivery_office", "out_for_delivery", "delivery_failed", "delivered",
                           "cod_collected"})
# Sorting events: recorded anywhere (of hub kind), flagged as a missort when the hub is not on the parcel's route.
SORTING = frozenset({"sorting_in", "sorting_out"})
# The events a parcel in a terminal status still takes (beyond late uploads of what happened before it): the one
# place that says so. COD is collected right after the hand-over, so it follows "delivered".
AFTER_TERMINAL: dict[str, frozenset[str]] = {
    "delivered": frozenset({"cod_collected"}),
    "returned": frozenset(),
    "cancelled": frozenset(),
}
assert set(AFTER_TERMINAL) == TERMINAL_STATUSES
