"""The store-side scripts, kept as ``.lua`` files in ``scripts/`` and read once at import, with one typed
builder per script that owns the order of its KEYS and ARGV (``book_*`` for book.lua). Each script touches only
the keys of one shop partition ({pN}).

A script file may include another with a line ``-- @include <name>`` (the shared guard: key, shop status and
rate limit), and names the parcel-history field prefix (``keys.PARCEL_HISTORY_FIELD``) as
``__PARCEL_HISTORY_FIELD__``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kernel.store.keys import PARCEL_HISTORY_FIELD

_DIR = Path(__file__).with_name("scripts")
_INCLUDE = re.compile(r"^-- @include (\w+)\n", re.MULTILINE)


def source(name: str) -> str:
    """The Lua text of ``scripts/<name>.lua``, its includes expanded and its placeholders filled in."""
    text = (_DIR / f"{name}.lua").read_text(encoding="utf-8")
    text = _INCLUDE.sub(lambda m: source(m.group(1)), text)
    return text.replace("__PARCEL_HISTORY_FIELD__", PARCEL_HISTORY_FIELD)


# Shared by every script a shop's request runs (sets `now` and `new_tat`; see guard.lua); other features' scripts
# start with it too (tracking's scans).
GUARD = source("guard")
GUARD_COMMIT = source("guard_commit")
AUTH = GUARD + GUARD_COMMIT + "return {'OK'}\n"
BOOK = source("book")
CANCEL = source("cancel")
# A feature's own consumer group reading the partition outbox (notify's SMS, returns' cases).
OUTBOX_READ = source("outbox_read")

# -- book.lua: the one place its KEYS and ARGV are laid out ----------------------------------------------------
BOOK_HEAD_KEYS = 6  # KEYS[1..6]; then BOOK_ITEM_KEYS per item
BOOK_ITEM_KEYS = 2
BOOK_ITEM_ARGS = 8  # ARGV per item, after the 10 head arguments (the script reads item i at 11 + i * 8)


def book_head_keys(shop: str, idempotency_record: str, pre_transit: str, outbox: str, feed: str,
                   live_orders: str) -> tuple[str, ...]:
    """KEYS[1..6]. Without an Idempotency-Key, ``idempotency_record`` is the shop key (never touched as one)."""
    return shop, idempotency_record, pre_transit, outbox, feed, live_orders


def book_item_keys(parcel: str, order_index: str) -> tuple[str, str]:
    return parcel, order_index


def book_head_args(guard: Sequence[Any], *, idempotent: bool, ttl_s: int, record: bytes, count: int,
                   shop_id: int, feed_maxlen: int) -> tuple[Any, ...]:
    """ARGV[1..10]: the guard's four (key hash, default rate, default burst, cost), then the booking's."""
    return (*guard, "1" if idempotent else "", ttl_s, record, count, shop_id, feed_maxlen)


def book_item_args(tracking_number: str, created_ms: int, index_member: str, doc: bytes, event: bytes,
                   created_at: str, client_order_id: str, another_parcel: bool) -> tuple[Any, ...]:
    return (tracking_number, created_ms, index_member, doc, event, created_at, client_order_id,
            "1" if another_parcel else "")


def cancel_keys(shop: str, parcel: str, pre_transit: str, cancelled: str, outbox: str, feed: str,
                live_orders: str) -> list[str]:
    """cancel.lua's KEYS[1..7]."""
    return [shop, parcel, pre_transit, cancelled, outbox, feed, live_orders]


def cancel_args(guard: Sequence[Any], *, tracking_number: str, shop_id: int, now_iso: str, feed_maxlen: int,
                event: bytes, now_ms: int) -> list[Any]:
    """cancel.lua's ARGV: the guard's four, then ARGV[5..10]; ``event`` holds ``__SEQ__`` where the parcel's next
    sequence number goes."""
    return [*guard, tracking_number, shop_id, now_iso, feed_maxlen, event, now_ms]


def book_evalsha_prefix(sha: str, head_keys: Sequence[str], items: int) -> tuple[Any, ...]:
    """An EVALSHA of book.lua up to its item keys, with the key count for ``items`` items (prepared once per shop
    for the one-item booking)."""
    return ("EVALSHA", sha, BOOK_HEAD_KEYS + BOOK_ITEM_KEYS * items, *head_keys)
