"""The store scripts are .lua files, and book.lua's KEYS/ARGV layout lives in one builder that matches it."""

from __future__ import annotations

import re

from kernel.store import lua


def test_scripts_are_read_from_lua_files_with_their_includes_expanded():
    assert -1 < lua.BOOK.find(lua.GUARD) < lua.BOOK.find(lua.GUARD_COMMIT)
    assert lua.GUARD + lua.GUARD_COMMIT in lua.CANCEL
    for text in (lua.BOOK, lua.CANCEL, lua.AUTH):
        assert "@include" not in text and "__PARCEL_HISTORY_FIELD__" not in text


def test_the_book_builder_lays_out_what_book_lua_reads():
    head_args = lua.book_head_args(("hash", "2000.0", 4000, 1), idempotent=True, ttl_s=60, record=b"r", count=1,
                                   shop_id=7, feed_maxlen=100)
    item_args = lua.book_item_args("EP1IR", 1, "m", b"{}", b"{}", "t", "order", True)
    head_keys = lua.book_head_keys("s", "i", "p", "o", "f", "l")
    assert (len(head_keys), len(lua.book_item_keys("a", "b"))) == (lua.BOOK_HEAD_KEYS, lua.BOOK_ITEM_KEYS)
    assert len(item_args) == lua.BOOK_ITEM_ARGS
    # The script reads item i's arguments at 11 + i * 8 and its keys at 7 + i * 2 (1-based, after the head).
    first_arg, per_item = map(int, re.search(r"local a = (\d+) \+ i \* (\d+)", lua.BOOK).groups())
    first_key, keys_per_item = map(int, re.search(r"local k = (\d+) \+ i \* (\d+)", lua.BOOK).groups())
    assert (first_arg, per_item) == (len(head_args) + 1, lua.BOOK_ITEM_ARGS)
    assert (first_key, keys_per_item) == (lua.BOOK_HEAD_KEYS + 1, lua.BOOK_ITEM_KEYS)
    assert head_args[4] == "1" and item_args[-1] == "1"
    assert lua.book_evalsha_prefix("sha", head_keys, items=1)[:3] == ("EVALSHA", "sha", 8)
